"""What row-level security's machinery costs a read request (docs/reliability.md).

`DATABASE_URL=postgres://... .venv/bin/python bench/rls_cost.py` on a database with the
demo loaded (`manage.py load_demo`). The same two API reads of `acme` through Django's
test client, in one process, alternating 12 times 60 requests with the machinery (the
request's transaction, the organization set in it) and without it (no transaction, no
statement, the session in `system`), `DEBUG` off; the median of each, and the statements
of each counted once. Not part of `make bench`: a figure for one decision, kept so that
it can be measured again.
"""

import os
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS, REQUESTS = 12, 60


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okrplan.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from hierarchy import scope
    from hierarchy.models import KeyResult
    from okrplan.lib import tenancy

    with tenancy.system_scope():
        kr = (
            KeyResult.objects.filter(organization__slug="acme", parent__isnull=True)
            .order_by("pk")
            .first()
        )
        token, _ = Token.objects.get_or_create(user=kr.owner)
    paths = {
        "plan": f"/api/v1/orgs/acme/krs/{kr.pk}/plan/",
        "alignment": f"/api/v1/orgs/acme/krs/{kr.pk}/alignment/",
    }
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {token.key}")
    real = (scope.org_enter, tenancy.request_transaction)
    settings.DEBUG = False  # no query log while timing, as in production

    def machinery(on: bool) -> None:
        if on:
            scope.org_enter, tenancy.request_transaction = real
        else:
            scope.org_enter = lambda slug: None
            tenancy.request_transaction = lambda using="default": nullcontext()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('okrplan.org_id', %s, false)", ["" if on else "system"]
            )

    times = {(k, on): [] for k in paths for on in (True, False)}
    counts = {}
    for n in range(ROUNDS):
        for on in (True, False):
            machinery(on)
            for k, path in paths.items():
                for _ in range(5):  # warm, and answered
                    if client.get(path).status_code != 200:
                        raise RuntimeError(f"{path} did not answer 200")
                for _ in range(REQUESTS):
                    started = time.perf_counter()
                    client.get(path)
                    times[(k, on)].append(time.perf_counter() - started)
                if n == 0:
                    with CaptureQueriesContext(connection) as queries:
                        client.get(path)
                    counts[(k, on)] = len(queries)
    for k in paths:
        on = statistics.median(times[(k, True)]) * 1000
        off = statistics.median(times[(k, False)]) * 1000
        print(
            f"{k}: with RLS {on:.2f} ms ({counts[(k, True)]} statements), without "
            f"{off:.2f} ms ({counts[(k, False)]}), +{on - off:.2f} ms ({(on / off - 1):+.1%})"
        )
    with connection.cursor() as cursor:
        started = time.perf_counter()
        for _ in range(2000):
            cursor.execute("SELECT 1")
        print(f"one round trip (SELECT 1): {(time.perf_counter() - started) / 2:.3f} ms")


if __name__ == "__main__":
    main()
