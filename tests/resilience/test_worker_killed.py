"""A real worker process is SIGKILLed mid-batch; a new one, the sweep and the reconciler finish.

The worker runs as a subprocess (`celery worker --pool=threads -c 2`) on a broker both processes
can reach: Redis when CELERY_BROKER_URL is set (CI), on a database index of its own, else the
filesystem broker in a temporary folder. The subprocess uses the test database (its URL is
passed in DATABASE_URL) and the same cache, so it shares the per-object sync locks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from keys.models import ApiKey
from keys.services import key_create
from localaws.testing import LocalAwsControl
from plans.models import ApiStage, Plan
from plans.services import plan_create
from plans.stages import stage_set_available, stages_discover
from portal import sync
from portal.celery import app as celery_app
from portal.reconcile.services import reconcile
from portal.sync import SyncStatus, sweep_pending
from tests.conftest import FREE, PREMIUM, wait_until
from tests.resilience.conftest import make_customers
from tests.resilience.helpers import assert_aws_equals_db, read_aws, status_counts

pytestmark = pytest.mark.integration
# Celery keeps its producer pools in private attributes; the tests reset them (typed loosely).
app_any: Any = celery_app

REPO = Path(__file__).resolve().parents[2]
KEYS = 50


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = urllib.parse.quote(db["USER"] or "")
    if db.get("PASSWORD"):
        user += ":" + urllib.parse.quote(db["PASSWORD"])
    return f"postgres://{user}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def shared_broker(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    configured = os.environ.get("CELERY_BROKER_URL", "")
    if configured.startswith("redis"):
        # A database index of its own: the in-thread worker of other tests consumes this run's
        # queue on the configured one and would take our tasks.
        parts = urllib.parse.urlsplit(configured)
        db = int(parts.path.strip("/") or 0)
        return parts._replace(path=f"/{(db + 10) % 16}").geturl(), {}
    folder = tmp_path / "broker"
    (folder / "processed").mkdir(parents=True)
    (folder / "control").mkdir()
    return "filesystem://", {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "polling_interval": 0.1,
    }


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.resilience.worker_app",
                "worker",
                "--pool=threads",
                "-c",
                "2",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,  # type: ignore[misc]
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
                "-n",
                f"resilience-{time.monotonic_ns()}@%h",
            ],
            cwd=REPO,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg takes every thread
        )
        wait_until(
            lambda: b" ready." in log.read_bytes() or self.proc.poll() is not None,
            60,
            "the worker subprocess to be ready",
        )
        assert self.proc.poll() is None, log.read_text()[-3000:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.handle.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.handle.close()


@pytest.fixture
def workers(transactional_db: None, local_aws: Any, tmp_path: Path) -> Iterator[Any]:
    broker_url, options = shared_broker(tmp_path)
    saved = (app_any.conf.broker_write_url, app_any.conf.broker_transport_options)
    # broker_write_url: Celery prefers the CELERY_BROKER_URL environment variable (set in CI)
    # over conf.broker_url, but conf.broker_write_url over both for sending.
    app_any.conf.broker_write_url, app_any.conf.broker_transport_options = broker_url, options
    app_any._pool = None  # producers: to the shared broker from now on
    app_any.amqp._producer_pool = None
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,  # wins over conf in the subprocess too
        "RESILIENCE_BROKER_URL": broker_url,
        "RESILIENCE_BROKER_OPTIONS": json.dumps(options),
        "RESILIENCE_CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "PYTHONPATH": str(REPO),
        "LOG_LEVEL": "WARNING",
    }
    started: list[WorkerProcess] = []

    def start(name: str) -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / f"{name}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    app_any.conf.broker_write_url, app_any.conf.broker_transport_options = saved
    app_any._pool = None
    app_any.amqp._producer_pool = None


def settled() -> bool:
    return not (
        Plan.objects.filter(sync_status=SyncStatus.PENDING).exists()
        or ApiKey.objects.filter(sync_status=SyncStatus.PENDING).exists()
    )


def test_a_worker_killed_mid_batch_loses_nothing(
    workers: Any,
    control: LocalAwsControl,
    demo_api: tuple[str, str],
    apigw: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = time.monotonic()
    first = workers("worker-1")
    stages_discover()
    stage = ApiStage.objects.get(rest_api_id=demo_api[0], stage_name=demo_api[1])
    stage_set_available(actor=None, stage=stage, available=True)
    for spec in (FREE, PREMIUM):
        plan_create(actor=None, data=dict(spec), stages=[stage])
    wait_until(settled, 60, "the tiers to reach AWS")
    customers = make_customers(2)

    control.add_fault("CreateApiKey", status=None, delay_seconds=0.3, times=None)
    keys = [key_create(actor=None, customer=customers[n % 2], name=f"key {n}") for n in range(KEYS)]
    wait_until(
        lambda: ApiKey.objects.filter(sync_status=SyncStatus.SYNCED).count() >= KEYS // 4,
        60,
        "a quarter of the keys to be synced",
    )
    lock_keys = [f"tollgate:sync-lock:keys.apikey:{k.pk}" for k in keys]
    wait_until(lambda: any(cache.get(name) for name in lock_keys), 10, "a key sync in flight")
    first.kill()
    killed_at = time.monotonic()
    counts = status_counts()["ApiKey"]
    print(f"\nSIGKILL after {killed_at - started:.1f}s: keys {dict(counts)}")
    control.clear_faults()

    held = [name for name in lock_keys if cache.get(name) is not None]
    print(f"locks left behind by the killed worker (TTL 300 s): {len(held)}")
    for name in held:  # as if their 300 s had run out; waiting for that would take 5 minutes
        cache.delete(name)

    workers("worker-2")
    try:
        wait_until(settled, 20, "every row to leave pending with the new worker alone")
        print("the new worker alone settled everything")
    except AssertionError:
        stuck = ApiKey.objects.filter(sync_status=SyncStatus.PENDING).count()
        print(
            f"with the new worker alone, {stuck} keys stay pending after 20 s: their messages "
            "died with the worker; the sweep must send them again"
        )
        monkeypatch.setattr(sync, "SWEEP_AFTER", timedelta(0))  # what beat does after 2 min
        print(f"sweep sent {sweep_pending()}")
        wait_until(settled, 90, "every row to leave pending after the sweep")

    print(f"before reconcile: duplicates {read_aws(apigw).duplicates()}, {status_counts()}")
    report = reconcile()
    print(f"reconcile: {report.summary()}")
    for line in report.lines():
        print(f"  {line}")
    wait_until(settled, 60, "every row to leave pending after reconcile")

    assert_aws_equals_db(apigw)
    assert read_aws(apigw).duplicates() == {}
    print(f"total {time.monotonic() - started:.1f}s")
