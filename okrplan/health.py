"""GET /healthz: is the database answering, and the broker?"""

import logging

from django.conf import settings
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


@never_cache
@require_GET
def healthz(request):
    db = _database_ok()
    body = {"db": "ok" if db else "down", "broker": "ok" if broker_ok() else "down"}
    return JsonResponse(body, status=200 if db else 503)
