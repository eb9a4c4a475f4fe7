"""GET /healthz: is the database answering, and the broker? Can pages name their static files?"""

import logging

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        log.exception("health: database check failed")
        return False


def broker_ok() -> bool:
    """Redis answers PING, or the embedded broker's folder is writable."""
    if settings.REDIS_URL:
        import redis

        try:
            client = redis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
            )
            return bool(client.ping())
        except redis.RedisError:
            return False
    folder = settings.BROKER_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".healthz"
        probe.write_text("ok")
        probe.unlink()
        return True
    except OSError:
        return False


# The stylesheet every page links (templates/base.html).
PAGE_STYLESHEET = "css/app.css"


def static_problem() -> str | None:
    """What stops pages from naming their static files, or None.

    `{% static %}` asks the same storage for the same name: with the production storage
    (a manifest, DEBUG off) a file missing from staticfiles.json, or the manifest itself
    missing (collected with DEBUG=1), makes every page answer 500, and this check fail."""
    try:
        url = staticfiles_storage.url(PAGE_STYLESHEET)
        if isinstance(staticfiles_storage, ManifestFilesMixin):
            stored = staticfiles_storage.stored_name(PAGE_STYLESHEET)
            if not staticfiles_storage.exists(stored):
                return f"{url} is in the manifest but not in {settings.STATIC_ROOT}"
    except ValueError as error:  # "Missing staticfiles manifest entry for ..."
        log.error("health: static files: %s", error)
        return str(error)
    return None


@never_cache
@require_GET
def healthz(request):
    db = _database_ok()
    body = {"db": "ok" if db else "down", "broker": "ok" if broker_ok() else "down"}
    problem = static_problem()
    if problem:
        body["static"] = problem
    return JsonResponse(body, status=200 if db and not problem else 503)
