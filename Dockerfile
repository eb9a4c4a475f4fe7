# syntax=docker/dockerfile:1
# The image docker-compose.yml runs as web, worker and beat. Every build step is in
# docker/build.sh, which tests/test_image.py runs too and then serves with DEBUG=0.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the virtual environment from the lock file, and the static files ------------
FROM ${PYTHON_IMAGE} AS build
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    VENV=/opt/venv PYTHON=/usr/local/bin/python3.11
WORKDIR /app
# The lock on its own first: this layer is built again only when requirements.txt changes.
COPY requirements.txt ./
COPY docker/build.sh docker/build.sh
RUN sh docker/build.sh deps
COPY . .
RUN sh docker/build.sh static

# --- run: the environment, the code and the collected files; no pip cache, not root -----
FROM ${PYTHON_IMAGE} AS run
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH DEBUG=0 OKRPLAN_VAR_DIR=/app/var
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin okrplan
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# The code and staticfiles/ stay root's, read-only to the app; only var/ (Celery beat's
# schedule) is the app's to write.
COPY --from=build /app /app
RUN mkdir -p /app/var && chown okrplan /app/var
USER okrplan
EXPOSE 8000
CMD ["gunicorn", "okrplan.wsgi:application", "--bind", "0.0.0.0:8000"]
