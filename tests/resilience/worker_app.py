"""The Celery app for a worker started as a subprocess by test_worker_killed.py.

`celery -A tests.resilience.worker_app worker ...` with DJANGO_SETTINGS_MODULE=tests.settings:
the same app as portal.celery, but on a broker and cache prefix the test passes in, because
tests/settings.py turns the filesystem broker into memory:// (one process only) and draws a new
cache prefix per process (the per-object sync locks live in the cache: the test's worker
processes must share them, as production workers do).
"""

from __future__ import annotations

import json
import os
from typing import Any

import tests.settings as test_settings

if os.environ.get("RESILIENCE_CACHE_PREFIX"):
    # Django reads this module when settings are first touched, which is after this line.
    test_settings.CACHES["default"]["KEY_PREFIX"] = os.environ["RESILIENCE_CACHE_PREFIX"]

from portal.celery import app  # noqa: E402

if os.environ.get("RESILIENCE_BROKER_URL"):
    conf: Any = app.conf
    conf.broker_url = os.environ["RESILIENCE_BROKER_URL"]
    conf.broker_transport_options = json.loads(os.environ.get("RESILIENCE_BROKER_OPTIONS") or "{}")

__all__ = ["app"]
