"""A SIGKILLed worker's task runs again within seconds; a live worker's slow or delayed task once.

Real `celery worker` subprocesses of Tollgate's own app (tests/demo/redelivery_app.py: acks
late, the lease renewal of portal/celery_lease.py) on a real Redis (tests/fixtures/redis_server.py:
CI's, or the wheel's valkey-server the demo runs) with a visibility timeout of 2 s, as
`make demo` sets one of seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from portal.celery_lease import renew_leases
from tests.conftest import wait_until
from tests.fixtures.redis_server import redis_url

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
QUEUE = "redelivery"
VISIBILITY_TIMEOUT = 2
TASK = "tests.demo.record_run"


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.demo.redelivery_app",
                "worker",
                "--pool=threads",
                "-c",
                "2",
                "-Q",
                QUEUE,
                "--without-mingle",
                "--without-gossip",
                "-l",
                "INFO",
                "-n",
                f"{log.stem}@%h",
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
            "the worker to be ready",
        )
        assert self.proc.poll() is None, log.read_text()[-3000:]

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.handle.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    with redis_url(tmp_path) as url:
        yield url


@pytest.fixture
def workers(broker: str, tmp_path: Path) -> Iterator[Callable[[str], Worker]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_BROKER_URL": broker,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "PYTHONPATH": str(REPO),
        "LOG_LEVEL": "WARNING",
    }
    started: list[Worker] = []

    def start(name: str) -> Worker:
        worker = Worker(env, tmp_path / f"{name}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.signal(signal.SIGTERM)


@pytest.fixture
def producer(broker: str) -> Iterator[Celery]:
    app = Celery("redelivery-test", set_as_current=False)
    # Celery prefers the CELERY_BROKER_URL environment variable (CI's Redis) to broker_url, but
    # broker_write_url to both for sending.
    conf: Any = app.conf  # celery-types has the setting read-only
    conf.broker_write_url = broker
    yield app
    app.close()


def runs(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_killed_workers_task_runs_again_within_seconds(
    workers: Callable[[str], Worker], producer: Celery, tmp_path: Path
) -> None:
    record = tmp_path / "runs.txt"
    first = workers("first")
    producer.send_task(TASK, args=[str(record), 120], queue=QUEUE)
    wait_until(lambda: runs(record) == 1, 30, "the task to start")

    first.signal(signal.SIGKILL)
    killed = time.monotonic()
    workers("second")
    wait_until(lambda: runs(record) == 2, 30, "the task to run again")

    seconds = time.monotonic() - killed
    print(f"\nthe killed worker's task ran again {seconds:.1f} s after the SIGKILL")
    # The timeout after the last renewal, a restore look (every second), a worker's start.
    assert seconds < VISIBILITY_TIMEOUT + 10


def test_a_live_workers_slow_and_delayed_tasks_run_once(
    workers: Callable[[str], Worker], producer: Celery, tmp_path: Path
) -> None:
    """kombu alone would put both back in the queue after the timeout, while their worker is
    still at them: the slow one would run twice, the delayed one (a retry's countdown) once
    per timeout it waited. The lease renewal keeps them with their worker."""
    slow, delayed = tmp_path / "slow.txt", tmp_path / "delayed.txt"
    workers("one")
    workers("two")  # somewhere for a duplicate to go
    producer.send_task(TASK, args=[str(slow), 4 * VISIBILITY_TIMEOUT], queue=QUEUE)
    producer.send_task(TASK, args=[str(delayed), 0], queue=QUEUE, countdown=4 * VISIBILITY_TIMEOUT)

    wait_until(lambda: runs(delayed) >= 1, 30, "the delayed task to run")
    time.sleep(2 * VISIBILITY_TIMEOUT)  # time for a duplicate to show up

    assert (runs(slow), runs(delayed)) == (1, 1)


def test_renewal_leaves_other_transports_and_unconnected_consumers_alone() -> None:
    class Unconnected:
        task_consumer = None

    assert renew_leases(Unconnected()) == 0
