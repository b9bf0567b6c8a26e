"""Settings for the test suite: production settings, plus isolation from anything else running.

CI points DATABASE_URL, CELERY_BROKER_URL and REDIS_URL at the real PostgreSQL and Redis; locally
SQLite, an in-memory broker and a file cache stand in, in a folder of this run's own.
"""

import os
import tempfile
import uuid

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("TOLLGATE_VAR_DIR", tempfile.mkdtemp(prefix="tollgate-test-"))

from portal.settings import *  # noqa: E402,F403
from portal.settings import (  # noqa: E402
    CACHES,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    CELERY_BROKER_URL,
    DATABASES,
    INSTALLED_APPS,
    STATIC_ROOT,
    TOLLGATE,
)

RUN_ID = uuid.uuid4().hex[:8]

# Tests talk plain HTTP to the live server; production's HTTPS redirects would get in the way.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
os.makedirs(STATIC_ROOT, exist_ok=True)  # whitenoise warns about a missing folder
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# ACCOUNT_EMAIL_VERIFICATION stays production's "mandatory": tests/conftest.py's people have
# confirmed their address, and sign-up tests follow the link in the email (mail.outbox).
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"

# A queue and cache prefix of this run's own: a demo or another run on the same Redis never
# takes our tasks, nor we theirs.
CELERY_TASK_DEFAULT_QUEUE = f"tollgate-test-{RUN_ID}"
CACHES["default"]["KEY_PREFIX"] = f"test-{RUN_ID}"
if not os.environ.get("CELERY_BROKER_URL"):
    # No Redis configured (CI sets one): the in-thread worker of tests/conftest.py takes tasks
    # from memory. Tests that need a broker between processes start a Redis of their own
    # (tests/fixtures/redis_server.py).
    CELERY_BROKER_URL = "memory://"
    # kombu looks for new messages once a second; a quarter second keeps the tests quick (and
    # their timing what it was with the filesystem broker, which the demo no longer uses).
    CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "polling_interval": 0.25}
CELERY_BEAT_SCHEDULE = {}
if "demo" not in INSTALLED_APPS:  # the demo's commands are tested too
    INSTALLED_APPS = [*INSTALLED_APPS, "demo"]
# Retries back off from 0.1 s instead of 2 s, so fault-injection tests finish quickly.
TOLLGATE["SYNC_BACKOFF_BASE_SECONDS"] = 0.1

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not shared-cache memory: the worker thread and the live server write concurrently,
    # and only a file database waits for a lock instead of failing with "table is locked".
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(os.environ["TOLLGATE_VAR_DIR"], "test.sqlite3")
    }

# AWS allows one UpdateUsagePlan per 20 s; tests that edit tiers would spend most of their time
# waiting. The limiter's own tests use AWS's real numbers explicitly.
TOLLGATE["AWS_RATE_LIMITS"] = {"UpdateUsagePlan": {"rate": 10, "burst": 10}}
