"""Tollgate settings: everything comes from environment variables (12-factor).

Without any variable set, Tollgate runs on its embedded default: SQLite under var/ and the
console email backend; `make demo` adds its own Redis (broker, cache and rate limiter: the same
code path as production). Production sets DEBUG=0 (the default), SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL, CELERY_BROKER_URL, REDIS_URL and the standard AWS_* variables.
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from portal.conf.api import REST_FRAMEWORK as REST_FRAMEWORK
from portal.conf.api import SPECTACULAR_SETTINGS as SPECTACULAR_SETTINGS
from portal.log_redaction import REDACTING_LOGGERS

# Lets classes such as ModelForm[Plan] be subscripted at run time, as the type checker wants.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TOLLGATE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for local development).")
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "portal.mfa.apps.AdminConfig",  # Django's admin: superusers who passed MFA (portal/mfa/site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "django_celery_beat",
    "portal.accounts",
    "portal.customers",
    "portal.audit",
    "portal.connections",
    "portal.console",
    "portal.reconcile",
    "portal.usage",
    "plans",
    "keys",
    "portal.catalog",
    # The REST API (portal/api/ registers every domain's `api` module; portal/rest/ is their
    # shared plumbing) and the personal access tokens that authenticate to it.
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal.tokens",
    "portal.api",
]
if DEBUG:
    # `manage.py seed_demo` and `simulate_traffic` (demo/): people with well-known passwords
    # and traffic written into the local AWS server, so never in production.
    INSTALLED_APPS.append("demo")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.mfa.middleware.MfaRequiredMiddleware",  # who must use MFA sets it up first
    "portal.http.RefusalMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.accounts.context_processors.audience",
                "portal.console.context_processors.pending_tier_requests",
                "portal.teams.context.organisations",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tollgate.sqlite3'}"),
        # A connection per request cost 6-21 ms a page on PostgreSQL (25-30% of throughput):
        # keep it a minute, checked before reuse so a restarted database is not an error.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default runs web, worker and beat against one SQLite file: WAL lets readers
    # proceed during a write, IMMEDIATE takes the write lock up front so two writers queue
    # instead of failing with "database is locked" half way through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # Without Redis (the tests, unless CI sets REDIS_URL): web, worker and beat are separate
    # processes, and a file cache is the smallest cache they all share (the per-object sync
    # locks live here).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- accounts (django-allauth) ---
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
# A customer confirms their address before creating API keys (keys.services.key_create), and
# sign-up and password reset answer the same whether an address is registered or not:
# allauth's enumeration prevention needs "mandatory" verification to hide a taken address at
# sign-up (with "optional", uniqueness wins and the form says the address is taken).
ACCOUNT_EMAIL_VERIFICATION = os.environ.get("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_FORMS = {"signup": "portal.teams.forms.OrganisationSignupForm"}
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"

# Two-factor authentication (allauth.mfa; who must use it: portal.access.mfa_setup_required).
MFA_ADAPTER = "portal.mfa.adapter.TollgateMFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_TOTP_ISSUER = "Tollgate"
# Browsers offer WebAuthn on https:// only, or on http://localhost / 127.0.0.1 (the demo).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Tollgate <tollgate@localhost>")

# --- Celery ---
# Redis, as in production; `make demo` runs one of its own (scripts/start_demo.py).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
# A message a worker took comes back to the queue once it has not been acknowledged (with acks
# late: its task not finished) for this long since its worker last renewed its lease, i.e. once
# the worker died (portal/celery_lease.py). kombu's default is an hour; the demo sets seconds.
_visibility_timeout = float(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
if _visibility_timeout < 1:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT is in seconds and at least 1.")
# A web request that committed a change must not hang on a broken broker: time out sockets
# and try to connect once (kombu would otherwise retry for seconds); the sweep resends what
# could not be sent.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "socket_timeout": 5,
    "socket_connect_timeout": 3,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "visibility_timeout": _visibility_timeout,
    # How often each worker looks for such messages: every fifth of the timeout (1 to 10 s),
    # not kombu's 10 s x every 10th look, so a dead worker's tasks run again soon after it.
    "unacked_restore_interval": max(1, min(10, round(_visibility_timeout / 5))),
    "unacked_restore_throttle": 1,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another worker
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- AWS ---
# boto3 reads AWS_REGION / AWS_DEFAULT_REGION, credentials and AWS_ENDPOINT_URL itself; we only
# need a region default so the dashboard starts without one configured.
AWS_REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
# The first AWS connection (portal.connections), made on first use: the regions it covers
# (comma-separated, default AWS_REGION) and, optionally, a role it assumes from the chain.
TOLLGATE_AWS_REGIONS = [
    region.strip()
    for region in os.environ.get("TOLLGATE_AWS_REGIONS", AWS_REGION).split(",")
    if region.strip()
] or [AWS_REGION]
TOLLGATE_AWS_ROLE_ARN = os.environ.get("TOLLGATE_AWS_ROLE_ARN", "")
TOLLGATE_AWS_EXTERNAL_ID = os.environ.get("TOLLGATE_AWS_EXTERNAL_ID", "")

# --- Security (python manage.py check --deploy is clean when DEBUG is off) ---
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): every script, style, font and image comes from Tollgate
# itself; no inline script or style (htmx's indicator styles are off, see templates/base.html).
# The Swagger UI and ReDoc pages relax it for themselves (portal/api/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # botocore at DEBUG logs request and response bodies, which include API key values.
        "botocore": {"level": "WARNING"},
        **REDACTING_LOGGERS,  # what botocore and django.template would leak at DEBUG
        "boto3": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}


TOLLGATE: dict[str, Any] = {
    # Links in emails sent without a request (quota alerts), e.g. https://tollgate.example.com.
    "SITE_URL": os.environ.get("TOLLGATE_SITE_URL", "http://127.0.0.1:8000" if DEBUG else ""),
    # How long the creator of a key may reveal its secret once, after it reaches API Gateway.
    "SECRET_REVEAL_WINDOW_HOURS": int(os.environ.get("TOLLGATE_SECRET_REVEAL_WINDOW_HOURS", "24")),
    # First retry of a throttled or failed AWS call waits up to this long, doubling each time.
    "SYNC_BACKOFF_BASE_SECONDS": float(os.environ.get("TOLLGATE_SYNC_BACKOFF_BASE_SECONDS", "2")),
    # How many proxies in front of Tollgate append to X-Forwarded-For (portal.http.client_ip);
    # 0: the connecting address (REMOTE_ADDR) is the client's.
    "TRUSTED_PROXY_COUNT": int(os.environ.get("TOLLGATE_TRUSTED_PROXY_COUNT", "0")),
    # Days an expired key stays (disabled) before it is deleted from API Gateway (keys.expiry).
    "EXPIRED_KEY_RETENTION_DAYS": int(os.environ.get("TOLLGATE_EXPIRED_KEY_RETENTION_DAYS", "30")),
    # A stage's URL at its custom domain (plans.calls.stage_url); other than https on 443 only
    # when a proxy or port stands in front of the gateway (the demo's: http, the local AWS port).
    "CUSTOM_DOMAIN_URL": os.environ.get("TOLLGATE_CUSTOM_DOMAIN_URL", "https://{domain}"),
    # API Gateway's limits per account and region (portal/connections/capacity.py): 10,000 keys
    # cannot be raised; 300 usage plans can, on request to AWS.
    "AWS_CAPS": {
        "api_keys": int(os.environ.get("TOLLGATE_AWS_API_KEY_LIMIT", "10000")),
        "usage_plans": int(os.environ.get("TOLLGATE_AWS_USAGE_PLAN_LIMIT", "300")),
    },
}

CELERY_BEAT_SCHEDULE = {
    "sweep-pending-sync": {"task": "portal.sync.sweep_pending", "schedule": 60.0},
    "discover-api-stages": {"task": "plans.tasks.discover_stages", "schedule": 600.0},
    "collect-usage": {
        "task": "portal.usage.tasks.collect_usage_and_alert",
        "schedule": float(os.environ.get("TOLLGATE_COLLECT_USAGE_EVERY_SECONDS", "300")),
    },
    "warm-api-metrics": {"task": "portal.usage.tasks.warm_api_metrics", "schedule": 60.0},
    # The capacity page, its API and the connections list read these counts (at most 60 s old;
    # older, they count every key on the view, ~70 ms at 50,000 keys).
    "count-capacity": {"task": "portal.reconcile.tasks.count_capacity", "schedule": 30.0},
    "reconcile-with-aws": {
        "task": "portal.reconcile.tasks.reconcile_with_aws",
        "schedule": float(os.environ.get("TOLLGATE_RECONCILE_EVERY_SECONDS", "600")),
    },
    "expire-keys": {"task": "keys.tasks.expire_keys", "schedule": 60.0},
    # A tier move whose task was lost (its worker died, Redis restarted) goes on by itself.
    "resume-stalled-tier-moves": {
        "task": "plans.tasks.resume_stalled_tier_moves",
        "schedule": 60.0,
    },
    "retire-rotated-keys": {"task": "keys.tasks.retire_rotated_keys", "schedule": 60.0},
    "disable-idle-keys": {"task": "keys.tasks.disable_idle_keys", "schedule": 3600.0},
    "export-api-documents": {
        "task": "portal.catalog.tasks.export_stage_documents",
        "schedule": 600.0,
    },
}

# --- REST API (portal/api/ and each domain's `api` module; the README's "REST API"):
# REST_FRAMEWORK and SPECTACULAR_SETTINGS are portal/conf/api.py's (imported at the top).
