"""okrplan settings, read from the environment.

Production safety is the default: DEBUG is off, SECRET_KEY must be given and
the secure cookie and HSTS settings are on, so `manage.py check --deploy` is
clean. `DEBUG=1` (what `make run` and the tests set) relaxes them for a laptop.
"""

import os
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from okrplan.lib.env import (
    env_bool,
    env_decimal,
    env_decimal_list,
    env_int,
    env_list,
    env_rate,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# Created by the commands that write there (`make run`, `migrate` for SQLite, the embedded
# broker, the image), not by importing the settings.
VAR_DIR = Path(env_str("OKRPLAN_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production-0123456789"  # nosec B105  # DEBUG only; production refuses to start without SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "hierarchy",
    "plans",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "okrplan.errors.ApiErrorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hierarchy.timezones.TimeZoneMiddleware",  # each person's time zone on the pages
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "okrplan.lib.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "okrplan.lib.tenancy.RequestScopeMiddleware",
]

if not DEBUG:
    # Static files from the app server itself (gunicorn); in DEBUG runserver serves them.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "okrplan.urls"
# The HTTP benchmark's floor endpoints under /bench/ (bench/urls.py): set by bench/http_load.py
# for the server it starts, and by nothing else.
BENCH_URLS = env_bool("OKRPLAN_BENCH_URLS", False)
WSGI_APPLICATION = "okrplan.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "okrplan.context_processors.unread_notifications",
                "hierarchy.switcher.org_switch_context",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# SQLite file by default (WAL, IMMEDIATE transactions and a busy timeout so the
# web process and a worker can write side by side); DATABASE_URL for PostgreSQL.
DATABASE_URL = env_str("DATABASE_URL")
CONN_MAX_AGE = env_int("CONN_MAX_AGE", 60)
# The PostgreSQL role the app runs as (okrplan/lib/tenancy.py): neither owner of the tables
# nor superuser nor BYPASSRLS, so row-level security holds for it. Every connection turns
# into it (`SET ROLE`) unless it is `migrate`, which runs as DATABASE_URL's login, the
# owner. The migration creates it (NOLOGIN) and grants it what it needs. Empty: run as
# DATABASE_URL's login (an owner or a superuser passes through the policies; don't).
PG_APP_ROLE = env_str("PG_APP_ROLE", "okrplan_app")
# `transaction`: DATABASE_URL is a pooler in transaction mode (PgBouncer, docs/scaling.md),
# which logs in to PostgreSQL as PG_APP_ROLE itself; `migrate` then needs the owner's
# direct URL (DATABASE_URL without the pooler, DATABASE_POOLER unset).
DATABASE_POOLER = env_str("DATABASE_POOLER", "")
if DATABASE_POOLER not in ("", "transaction"):
    raise ImproperlyConfigured(
        f"DATABASE_POOLER={DATABASE_POOLER!r}: 'transaction' (PgBouncer's pool_mode) or empty"
    )
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=CONN_MAX_AGE, conn_health_checks=True
        )
    }
    # psycopg 3 through Django's options (docs/performance.md "Binding and prepared
    # statements"). Django binds parameters on the client by default, and psycopg never
    # prepares those statements. `server_side_binding` sends them apart, and then psycopg
    # prepares a statement after `prepare_threshold` runs on a connection (None: never;
    # a pooler in transaction mode without prepared-statement support).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=env_bool("PG_SERVER_SIDE_BINDING", False),
        prepare_threshold=(
            None
            if env_str("PG_PREPARE_THRESHOLD", "2").lower() == "none" or DATABASE_POOLER
            else env_int("PG_PREPARE_THRESHOLD", 2)
        ),
    )
    if DATABASE_POOLER == "transaction":
        # A server connection per transaction: no cursor may outlive one (Django's
        # iterator() keeps a named cursor open across them), and no prepared statement
        # (PgBouncer 1.18 does not carry them across server connections).
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    # The planner's cost of a random page read. PostgreSQL's default (4) is for spinning
    # disks; on SSDs (every managed database) 1.1 is the usual value. With 4 the planner
    # joins a KR's children to their plans by scanning every plan of the table while it is
    # small (7 ms instead of 0.5 ms per save); see docs/decisions.md.
    DATABASES["default"]["OPTIONS"]["options"] = (
        f"-c random_page_cost={env_decimal('PG_RANDOM_PAGE_COST', Decimal('1.1'))}"
    )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "okrplan.sqlite3")),
            "CONN_MAX_AGE": CONN_MAX_AGE,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not memory, so that a real worker process started by a test
            # (tests/notifications/test_worker_e2e.py) sees the test database.
            # One file per test run, so that runs side by side do not share it.
            "TEST": {
                "NAME": env_str(
                    "SQLITE_TEST_PATH", str(VAR_DIR / f"test-okrplan-{os.getpid()}.sqlite3")
                )
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic writes and whitenoise serves from (docker/build.sh collects here).
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "login"
AUTHENTICATION_BACKENDS = ["okrplan.lib.auth.SessionUserBackend"]
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Attempts to log in (the API token and the login form) per client address and
# username: okrplan/lib/throttling.py. Counted in the default cache.
LOGIN_RATE = env_rate("LOGIN_RATE", "10/min")
# Sign-ups (the API's register and the invitation link's form) per client address.
REGISTER_RATE = env_rate("REGISTER_RATE", "20/hour")
# Password reset e-mails asked for, per client address and e-mail address typed.
PASSWORD_RESET_RATE = env_rate("PASSWORD_RESET_RATE", "5/hour")

# Invitations to an organization (hierarchy.Invitation) can be accepted for this many
# days; the e-mailed link starts with SITE_URL (the address people open okrplan at).
INVITATION_DAYS = env_int("INVITATION_DAYS", 14)
if INVITATION_DAYS <= 0:
    raise ImproperlyConfigured("INVITATION_DAYS must be > 0")
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")

# --- Cache ----------------------------------------------------------------
# The login attempt counts live here. CACHE_URL (redis://host:6379/1: not the broker's
# database) shares them between the web processes; without it each process counts on
# its own (local memory), so the limit is per process.
CACHE_URL = env_str("CACHE_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Sessions: with a shared cache (CACHE_URL), read from it and written through to the
# database (`cached_db`), so a page does not query the session table; a logout deletes
# both. Without one, from the database only: a per-process cache would keep a session
# alive in the other processes after its logout.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if CACHE_URL
    else "django.contrib.sessions.backends.db"
)

# --- Security (on unless DEBUG) -------------------------------------------
# Only behind a TLS-terminating proxy that sets this header (e.g. `X-Forwarded-Proto`) and
# strips it from what clients send: without one, a client could claim HTTPS with it.
SECURE_PROXY_HEADER = env_str("SECURE_PROXY_HEADER")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + SECURE_PROXY_HEADER.upper().replace("-", "_"), "https")
    if SECURE_PROXY_HEADER
    else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True  # pages send the token from the template (hx-headers), not the cookie
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# okrplan/lib/csp.py: everything from our own origin; no inline script or <style>; only
# `style` attributes inline (computed widths and colours). On in DEBUG too, so that a
# page that breaks it breaks on a laptop and in the browser tests first.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    ),
)
SILENCED_SYSTEM_CHECKS: list[str] = []

# --- E-mail ---------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))  # filebased backend
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "okrplan <okrplan@localhost>")
# How long a worker's claim on a notification's e-mail holds: a worker killed while it
# sends leaves its claimed e-mail to be sent by another after this
# (notifications.services.email_deliver).
EMAIL_LEASE_SECONDS = env_int("EMAIL_LEASE_SECONDS", 300)
if EMAIL_LEASE_SECONDS <= 0:
    raise ImproperlyConfigured("EMAIL_LEASE_SECONDS must be > 0")
# A message whose sending fails for a passing reason (the mail server unreachable, a 4xx
# reply) is tried again after the lease, this many times in all; then it is marked failed.
EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 5)
if EMAIL_MAX_ATTEMPTS <= 0:
    raise ImproperlyConfigured("EMAIL_MAX_ATTEMPTS must be > 0")
# The daily digest (a person's choice on their profile) goes out at this hour of the
# person's own time zone (0-23; notifications.services.digests_compose).
DIGEST_HOUR = env_int("DIGEST_HOUR", 8)
if not 0 <= DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("DIGEST_HOUR must be an hour of the day, 0 to 23")

# --- Outgoing webhooks (notifications/webhooks.py, API.md §Outgoing webhooks) --------
# Private, loopback and link-local addresses are refused (when a webhook is stored, and
# again on the address connected to) unless this is on: by default only in DEBUG, where
# the receivers are on the laptop.
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", DEBUG)
# One delivery attempt, from its first connection to the end of the answer's headers.
WEBHOOK_TIMEOUT_SECONDS = env_decimal("WEBHOOK_TIMEOUT_SECONDS", Decimal(10))
# A worker's claim on a delivery: a worker killed while it sends leaves the delivery to
# another after this. Longer than an attempt, so a live attempt is never sent twice.
WEBHOOK_LEASE_SECONDS = env_decimal("WEBHOOK_LEASE_SECONDS", Decimal(120))
# The waits before each retry (seconds, comma-separated): an attempt, then one retry after
# each wait, then the delivery is failed. The default retries after 30 s, 2 min, 10 min,
# 30 min, 1 h, 2 h, 4 h, 8 h and 12 h: 10 attempts over 27.7 hours (docs/decisions.md).
WEBHOOK_RETRY_SECONDS = env_decimal_list(
    "WEBHOOK_RETRY_SECONDS", [30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200]
)
# How often the worker's sweep looks for deliveries due (a retry, or one whose task was
# lost with a broker that was down).
WEBHOOK_SWEEP_SECONDS = env_decimal("WEBHOOK_SWEEP_SECONDS", Decimal(10))
if WEBHOOK_TIMEOUT_SECONDS <= 0 or WEBHOOK_SWEEP_SECONDS <= 0:
    raise ImproperlyConfigured("WEBHOOK_TIMEOUT_SECONDS and WEBHOOK_SWEEP_SECONDS must be > 0")
if WEBHOOK_LEASE_SECONDS <= WEBHOOK_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        "WEBHOOK_LEASE_SECONDS must be longer than WEBHOOK_TIMEOUT_SECONDS (an attempt "
        "still under way would be sent again)"
    )
if not WEBHOOK_RETRY_SECONDS or min(WEBHOOK_RETRY_SECONDS) <= 0:
    raise ImproperlyConfigured("WEBHOOK_RETRY_SECONDS must be waits > 0, comma-separated")

# --- Celery ---------------------------------------------------------------
# REDIS_URL: broker and result backend. Without it, Celery's filesystem
# transport in var/broker: an embedded broker that needs no server.
REDIS_URL = env_str("REDIS_URL")
BROKER_DIR = Path(env_str("BROKER_DIR", str(VAR_DIR / "broker")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "okrplan.lib.fsbroker:Transport"  # atomic writes, see there
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2  # a save never waits long for a broker that is down
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
DEADLINE_SCAN_SECONDS = env_decimal("DEADLINE_SCAN_SECONDS", Decimal(60))
if DEADLINE_SCAN_SECONDS <= 0:
    raise ImproperlyConfigured("DEADLINE_SCAN_SECONDS must be > 0")
# How often the worker looks for daily digests due (within this long after DIGEST_HOUR).
DIGEST_SCAN_SECONDS = env_decimal("DIGEST_SCAN_SECONDS", Decimal(60))
if DIGEST_SCAN_SECONDS <= 0:
    raise ImproperlyConfigured("DIGEST_SCAN_SECONDS must be > 0")
CELERY_BEAT_SCHEDULE = {
    "deadline-scan": {
        "task": "notifications.tasks.deadline_scan_task",
        "schedule": float(DEADLINE_SCAN_SECONDS),
        "options": {"expires": max(float(DEADLINE_SCAN_SECONDS), 5.0)},
    },
    # Daily digests: composed for whoever's DIGEST_HOUR has come, then delivered (a pass
    # with nothing due is one query). Its own pace: the embedded broker hands a worker
    # about one message a second, so a second entry at a 1 s deadline scan's pace would
    # queue the scans behind it until they expire.
    "daily-digest": {
        "task": "notifications.tasks.digest_task",
        "schedule": float(DIGEST_SCAN_SECONDS),
        "options": {"expires": max(float(DIGEST_SCAN_SECONDS), 5.0)},
    },
    "webhook-sweep": {
        "task": "notifications.tasks.webhook_deliver_task",
        "schedule": float(WEBHOOK_SWEEP_SECONDS),
        "options": {"expires": max(float(WEBHOOK_SWEEP_SECONDS), 5.0)},
    },
}

# --- REST framework -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "okrplan.lib.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "okrplan.lib.api.Pagination",
    "DEFAULT_SCHEMA_CLASS": "okrplan.lib.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "okrplan.lib.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "okrplan.lib.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "COERCE_DECIMAL_TO_STRING": True,
    # How many proxies in front of us append to X-Forwarded-For: the client address for
    # the login limit. 0: REMOTE_ADDR, so a client cannot make up its address.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "okrplan API",
    "DESCRIPTION": "Plan the key results that several departments share.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # the enums' hook (drf-spectacular's default), then the OpenAPI links between operations
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "okrplan.lib.schema.postprocess_links",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
