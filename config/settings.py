"""Django settings, all from the environment (12-factor), with safe defaults.

Without ``DATABASE_URL`` / ``REDIS_URL`` the URLs point at the embedded servers that ``make run``
and the test suite start under ``./var`` (see ``config/embedded.py``). Nothing here connects
to anything: settings only compute values.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import embedded
from core import keys
from core.env import DEFAULT_STREAM_SHARDS, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set; set it to a long random string, e.g. the output of "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(50))'` "
            "(`make run` makes one under EVENTBASE_DATA_DIR; DEBUG=true uses a development key)."
        )
    # Development only: a fixed key keeps sessions valid across restarts of a DEBUG server.
    SECRET_KEY = "insecure-development-key-set-SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "axes",
    "projects",
    "events",
    "analytics",
    "ingestion",
    "persons",
    "reporting",
    "dashboard",
    "monitoring",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the event capture endpoints and returns: nothing below applies to them.
    "ingestion.middleware.CaptureShortcutMiddleware",
    "config.static.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on HTML pages (config/csp.py).
    "config.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# --- Data stores ------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", "") or embedded.default_database_url()
REDIS_URL = env_str("REDIS_URL", "") or embedded.default_redis_url()
USING_EMBEDDED_DATABASE = not env_str("DATABASE_URL", "")
USING_EMBEDDED_REDIS = not env_str("REDIS_URL", "")

if urlsplit(DATABASE_URL).scheme not in {"postgres", "postgresql", "pgsql"}:
    raise ImproperlyConfigured(
        f"DATABASE_URL must be a PostgreSQL URL (postgresql://user:pass@host:5432/db), got scheme "
        f"{urlsplit(DATABASE_URL).scheme!r}."
    )
if urlsplit(REDIS_URL).scheme not in {"redis", "rediss", "unix", "valkey", "valkeys"}:
    raise ImproperlyConfigured(
        f"REDIS_URL must be a redis://, rediss:// or unix:// URL, got {urlsplit(REDIS_URL).scheme!r}."
    )
REDIS_URL = REDIS_URL.replace("valkey://", "redis://", 1).replace("valkeys://", "rediss://", 1)

DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        **dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        ),
        "ENGINE": "django_prometheus.db.backends.postgresql",
    }
}
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1))

# Streaming replicas the reporting API may read from (core/replicas.py, docs/SCALING.md): each URL
# becomes the alias replica_<n>. Never migrated; a test run reads the primary through them (MIRROR).
DATABASE_REPLICA_URLS = env_list("DATABASE_REPLICA_URLS", [])
for _n, _url in enumerate(DATABASE_REPLICA_URLS):
    if urlsplit(_url).scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URLS item {_n + 1} must be a PostgreSQL URL, got scheme {urlsplit(_url).scheme!r}."
        )
    DATABASES[f"replica_{_n}"] = {
        **dj_database_url.parse(_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0), conn_health_checks=True),
        "ENGINE": "django_prometheus.db.backends.postgresql",
        "TEST": {"MIRROR": "default"},
    }
    DATABASES[f"replica_{_n}"].setdefault("OPTIONS", {})
    DATABASES[f"replica_{_n}"]["OPTIONS"].setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1))
DATABASE_ROUTERS = ["core.replicas.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": keys.CACHE_PREFIX,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
    }
}

RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": timeout}
    for name, timeout in (("default", 600), ("ingest", 120), ("rollups", 1800))
}
RQ = {"COMMIT_MODE": "on_db_commit"}

# --- Auth, i18n, static -----------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Sign-in that resists guessing (django-axes, docs/ARCHITECTURE.md "Accounts"): after
# SIGNIN_FAILURE_LIMIT failures in a row an account, and separately an IP address, is refused for
# SIGNIN_LOCKOUT_MINUTES, the right password included, on the dashboard's and the admin's forms.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("SIGNIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.http.request_client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Mail: invitations and password reset. "Configured" means EMAIL_HOST is set; without it mail is
# written to the log (console backend) rather than tried against a localhost:25 that is rarely
# there, and `manage.py invite` prints the link for the inviter to pass on.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_CONFIGURED = bool(EMAIL_HOST)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_CONFIGURED
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# A server that does not answer must not hold a request (the admin's invitation) for minutes.
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "eventbase <eventbase@localhost>")
# Links in mail are absolute: the address people reach the site at (no trailing slash).
PUBLIC_URL = env_str("PUBLIC_URL", "http://localhost:8000").rstrip("/")
if urlsplit(PUBLIC_URL).scheme not in {"http", "https"} or not urlsplit(PUBLIC_URL).netloc:
    raise ImproperlyConfigured(f"PUBLIC_URL={PUBLIC_URL!r} is not a URL; use e.g. https://analytics.example.com.")
INVITATION_DAYS = env_int("INVITATION_DAYS", 7, minimum=1)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# The web process serves static files itself (WhiteNoise), so the dashboard, the admin and the API
# docs work offline behind gunicorn with no separate web server. Finders read the apps' static
# folders directly: `make run` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and env_bool("HTTPS", False))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- API --------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "eventbase API",
    "DESCRIPTION": "Event capture and analytics endpoints.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package: no CDN, the docs page works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# CORS for the ingest endpoints is per project (projects.Project.cors_allowed_origins) and handled
# by the ingestion app; django-cors-headers covers the read API, closed unless configured.
CORS_URLS_REGEX = r"^/api/v1/projects/.*$"
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])

# --- Product knobs ----------------------------------------------------------------------------

EVENTBASE: dict[str, Any] = {
    "STREAM_SHARDS": env_int("INGEST_STREAM_SHARDS", DEFAULT_STREAM_SHARDS, minimum=1),
    "DEDUPE_WINDOW_SECONDS": env_int("INGEST_DEDUPE_WINDOW_SECONDS", 86_400, minimum=0),
    "API_KEY_CACHE_SECONDS": env_int("API_KEY_CACHE_SECONDS", 10, minimum=0),
    # Only behind a proxy you run: otherwise clients could pick the IP they are rate-limited by.
    "TRUST_X_FORWARDED_FOR": env_bool("TRUST_X_FORWARDED_FOR", False),
    "FLUSH_BATCH_EVENTS": env_int("FLUSH_BATCH_EVENTS", 20_000, minimum=1),
    # A flush worker that is keeping up waits this long between batches of a shard, so that each
    # COPY carries a few hundred ms of events instead of a few: per batch costs (a transaction,
    # about ten round trips) stop dominating. It adds at most this much to the ingest lag.
    "FLUSH_INTERVAL_MS": env_int("FLUSH_INTERVAL_MS", 250, minimum=0),
    "FLUSH_CLAIM_IDLE_MS": env_int("FLUSH_CLAIM_IDLE_MS", 60_000, minimum=1),
    "FLUSH_MAX_ATTEMPTS": env_int("FLUSH_MAX_ATTEMPTS", 3, minimum=1),
    # Destinations (ingestion/destination_*.py): the flush reads the enabled ones this often; the
    # sender waits this long for a webhook's answer, and this long after each failed attempt
    # (after the last delay, one more failure makes the batch dead).
    "DESTINATION_CACHE_SECONDS": env_int("DESTINATION_CACHE_SECONDS", 10, minimum=0),
    "DESTINATION_TIMEOUT_SECONDS": env_int("DESTINATION_TIMEOUT_SECONDS", 10, minimum=1),
    "DESTINATION_RETRY_DELAYS": [30, 120, 600, 3600, 21600],
    "DESTINATION_KEEP_DELIVERED_DAYS": env_int("DESTINATION_KEEP_DELIVERED_DAYS", 7, minimum=1),
    # Alerting (monitoring/alerts.py): thresholds past which /health says "degraded" and the
    # alert job logs to the "eventbase.alerts" logger.
    "ALERT_FLUSH_LAG_SECONDS": env_int("ALERT_FLUSH_LAG_SECONDS", 60, minimum=1),
    "ALERT_STALL_MINUTES": env_int("ALERT_STALL_MINUTES", 5, minimum=1),
    "ALERT_ERROR_RATE_PERCENT": env_int("ALERT_ERROR_RATE_PERCENT", 20, minimum=1),
    "ALERT_ERROR_WINDOW_MINUTES": env_int("ALERT_ERROR_WINDOW_MINUTES", 5, minimum=1),
    # Below this many received events in the window, a rate is noise (3 bad of 5 is not a spike).
    "ALERT_ERROR_MIN_EVENTS": env_int("ALERT_ERROR_MIN_EVENTS", 100, minimum=1),
    # DuckDB runs inside every web process (filtered reports, funnels), per process. As many
    # threads as cores: at 10M events one thread doubled a single DuckDB question's time
    # (docs/BENCHMARKS.md); a query uses them only while it runs.
    "DUCKDB_THREADS": env_int("DUCKDB_THREADS", os.cpu_count() or 2, minimum=1),
    "DUCKDB_MEMORY_LIMIT": env_str("DUCKDB_MEMORY_LIMIT", "1GB"),
    # The columnar tier's Parquet files (events/columnar.py): one per project and UTC day.
    "COLUMNAR_DIR": env_str("COLUMNAR_DIR", "") or str(embedded.data_dir() / "columnar"),
    "COLUMNAR_DAYS_PER_RUN": env_int("COLUMNAR_DAYS_PER_RUN", 50, minimum=1),
    "COLUMNAR_SETTLE_SECONDS": env_int("COLUMNAR_SETTLE_SECONDS", 60, minimum=0),
    "COLUMNAR_PROPERTY_KEYS": env_int("COLUMNAR_PROPERTY_KEYS", 24, minimum=0),
    # Cohorts' members are recomputed this often (and at once when a cohort is created or changed).
    "COHORT_REFRESH_SECONDS": env_int("COHORT_REFRESH_SECONDS", 3600, minimum=60),
    # A MaxMind-format file (e.g. GeoLite2-City.mmdb) for events' region and city; unset, only the
    # country is derived (from the iptocc package). Checked at start-up (ingestion.enrichment).
    "GEOIP_DATABASE": env_str("GEOIP_DATABASE", ""),
    # Derive the web columns at capture (and filter bots). Off: they stay empty and bots are stored.
    "WEB_ENRICHMENT": env_bool("WEB_ENRICHMENT", True),
    # A replica further behind than this is skipped for reads (core/replicas.py).
    "REPLICA_MAX_LAG_SECONDS": env_int("REPLICA_MAX_LAG_SECONDS", 30, minimum=0),
}

# Ingest bodies may be up to 5 MB (the API answers 413 past that, with its own message).
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

# --- Logging: one JSON object per line --------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "rq.worker": {"level": env_str("RQ_LOG_LEVEL", "WARNING").upper()},
    },
}
