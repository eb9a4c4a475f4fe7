#!/bin/sh
# Every step that builds the production image, in one place: the Dockerfile runs it, and so
# does tests/test_image.py (there is no Docker engine on the developers' machines or CI's),
# which then serves what it built with DEBUG=0 and GETs a page of every kind.
#
#   docker/build.sh deps     the virtual environment $VENV, from the lock file requirements.txt
#   docker/build.sh static   the static files, collected as production serves them
#   docker/build.sh          both
#
# VENV (default /opt/venv) and STATIC_ROOT (default ./staticfiles, what settings use) say
# where; PYTHON is the interpreter the environment is made from (python3.11 or python3).
set -eu
cd "$(dirname "$0")/.."
VENV="${VENV:-/opt/venv}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"

deps() {
    "$PYTHON" -m venv "$VENV"
    # Exact versions and their hashes only (`make lock` writes the file): a release that
    # appears later, or a file that differs from the one locked, is refused, not installed.
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        --require-hashes --no-deps --only-binary=:all: -r requirements.txt
    "$VENV/bin/pip" check
}

static() {
    # With the production settings (DEBUG=0): whitenoise's CompressedManifestStaticFilesStorage
    # (okrplan/settings.py) writes hashed copies, their gzip files and staticfiles.json, which
    # every {% static %} reads when DEBUG is off. Collected with DEBUG=1 there is no manifest,
    # and every page answers 500. The SECRET_KEY below exists for this command only (the
    # settings refuse to load without one); it signs nothing and is not kept in the image.
    env DEBUG=0 DJANGO_SETTINGS_MODULE=okrplan.settings \
        SECRET_KEY=collectstatic-only-not-a-secret-0123456789abcdefghijklmnopqrstuv \
        "$VENV/bin/python" manage.py collectstatic --noinput --clear --verbosity 0
    root="${STATIC_ROOT:-staticfiles}"
    test -s "$root/staticfiles.json" || { echo "build: no $root/staticfiles.json" >&2; exit 1; }
}

case "${1:-all}" in
    deps) deps ;;
    static) static ;;
    all) deps; static ;;
    *) echo "usage: $0 [deps|static]" >&2; exit 2 ;;
esac
