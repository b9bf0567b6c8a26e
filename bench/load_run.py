"""Load run: gunicorn + PostgreSQL + Redis on 127.0.0.1 under a fixed-time mix of customers and
ops people (bench/locustfile.py), reporting throughput, p50/p95/p99 and errors per page.

What runs, all on this machine: PostgreSQL (DATABASE_URL's server; the database is created,
migrated and seeded with `manage.py seed_scale` when it holds no seed data yet), Redis (the cache
and the broker, two databases of REDIS server chosen by --redis, flushed first), the local AWS
(`python -m localaws`, for the CloudWatch reads behind the ops page's 60-second cache), and
gunicorn with production settings (portal.settings, DEBUG off, HTTPS as behind a TLS proxy).
No Celery worker or beat runs: the mix only reads, and reads enqueue nothing; a thread does
beat's two jobs that keep pages' figures fresh (capacity counts, the ops page's CloudWatch). Sessions are made
beforehand for 200 seeded customers' owners and one ops person (MFA passed, as after a sign-in)
so the run measures the pages, not the sign-in throttle.

Locust's times are client-side (they include its own HTTP handling on the same cores).
Exits 1 when any request failed (a status other than 200).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tollgate_load \\
        .venv/bin/python bench/load_run.py [--customers 10000] [--days 90] [--users 20] \\
        [--duration 60] [--web-workers 2] [--threads 4] [--redis redis://127.0.0.1:6379]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, seconds: float, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer in {seconds:.0f} s") from None
            time.sleep(0.3)


def environment(args: argparse.Namespace, aws_port: int, work: Path) -> dict[str, str]:
    redis = args.redis.rstrip("/")
    return {
        **os.environ,
        "STATIC_ROOT": str(work / "static"),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "BEHIND_TLS_PROXY": "1",
        "REDIS_URL": f"{redis}/14",
        "CELERY_BROKER_URL": f"{redis}/15",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LOG_LEVEL": "WARNING",
    }


def prepare(env: dict[str, str], customers: int, days: int) -> None:
    """Collect the static files (as a release does), create, migrate and (when it has no
    seed_scale data) seed the database."""
    import psycopg

    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as db:
        if not db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            db.execute(f'CREATE DATABASE "{name}"')
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True)
    env = {**env, "DEBUG": "1"}  # seed_scale is a demo command: never installed with DEBUG off
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    seeded = subprocess.run(
        [*manage, "seed_scale", "--customers", str(customers), "--days", str(days)],
        env=env,
        capture_output=True,
        text=True,
    )
    if seeded.returncode and "already has seed_scale data" not in seeded.stderr:
        raise SystemExit(f"seed_scale failed:\n{seeded.stderr}")
    print(seeded.stdout.strip().splitlines()[-1] if seeded.stdout.strip() else "seed data kept")


def make_sessions(env: dict[str, str], path: Path) -> dict[str, Any]:
    """Sessions for 200 seeded customers' owners and one ops person, written to `path`."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from demo import scale
    from keys.models import ApiKey
    from portal.accounts.models import StaffRole, User
    from portal.customers.models import Customer
    from tests.conftest import make_user
    from tests.fixtures.mfa import mark_mfa_passed

    def session_of(user: User) -> str:
        client = Client()
        client.force_login(user)
        mark_mfa_passed(client, user)
        return str(client.cookies[settings.SESSION_COOKIE_NAME].value)

    ops = User.objects.filter(email="ops@load.test").first() or make_user(
        "ops@load.test", StaffRole.OPS
    )
    people: dict[str, Any] = {
        "cookie_name": settings.SESSION_COOKIE_NAME,
        "staff": [{"session": session_of(ops)}],
        "customers": [],
    }
    seeded = Customer.objects.filter(slug__startswith=scale.SLUG_PREFIX).order_by("pk")
    count = seeded.count()
    step = max(count // 200, 1)
    for customer in seeded[::step][:200]:
        owner = User.objects.filter(memberships__customer=customer).first()
        keys = list(
            ApiKey.objects.filter(customer=customer, revoked_at__isnull=True).values_list(
                "public_id", flat=True
            )
        )
        if owner and keys:
            people["customers"].append(
                {
                    "session": session_of(owner),
                    "customer": customer.pk,
                    "keys": [str(key) for key in keys],
                }
            )
    path.write_text(json.dumps(people), encoding="utf-8")
    return {"customers": count, "sessions": len(people["customers"]) + 1}


def keep_warm(stop: threading.Event) -> None:
    """What beat does for the pages while the run lasts: the capacity counts every 30 s and the
    ops page's CloudWatch figures every 60 s (beat itself would also collect usage and
    reconcile, which against seed data that is not in the local AWS would re-create it all)."""
    from django.db import close_old_connections

    from portal.reconcile.tasks import count_capacity
    from portal.usage.tasks import warm_api_metrics

    beat = 0
    while not stop.is_set():
        count_capacity()
        if beat % 2 == 0:
            warm_api_metrics()
        close_old_connections()
        beat += 1
        stop.wait(30)


def flush_redis(url: str) -> None:
    import redis

    for db in (14, 15):
        redis.Redis.from_url(f"{url.rstrip('/')}/{db}").flushdb()


def report(stats_file: Path, args: argparse.Namespace, seconds: float) -> int:
    rows = list(csv.DictReader(stats_file.open(encoding="utf-8")))
    print(
        f"\n{'page':<34}{'requests':>9}{'errors':>8}{'req/s':>8}"
        f"{'p50':>7}{'p95':>7}{'p99':>7}  (ms, client side)"
    )
    failures = 0
    for row in sorted(rows, key=lambda r: (r["Name"] == "Aggregated", r["Name"])):
        name = "all pages" if row["Name"] == "Aggregated" else row["Name"]
        if row["Name"] == "Aggregated":
            failures = int(row["Failure Count"])
            print("-" * 80)
        print(
            f"{name:<34}{int(row['Request Count']):>9,}{int(row['Failure Count']):>8}"
            f"{float(row['Requests/s']):>8.1f}{row['50%']:>7}{row['95%']:>7}{row['99%']:>7}"
        )
    print(
        f"\n{args.users} simulated people (4 customers : 1 ops, 0.5-2 s between clicks) for "
        f"{seconds:.0f} s against gunicorn -w {args.web_workers} --threads {args.threads}; "
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"load average before {os.getloadavg()[0]:.2f}"
    )
    print("errors: 0" if not failures else f"errors: {failures} (see locust's failures CSV)")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--duration", type=int, default=60, help="seconds")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (it is created if missing).")

    work = Path(tempfile.mkdtemp(prefix="tollgate-load-"))
    aws_port, web_port = free_port(), free_port()
    env = environment(args, aws_port, work)
    flush_redis(args.redis)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(
            subprocess.Popen(
                [PYTHON, "-m", "localaws", "--port", str(aws_port)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(work / "localaws.log").open("wb"),
            )
        )
        wait_for(f"http://127.0.0.1:{aws_port}/", 60)
        prepare(env, args.customers, args.days)
        made = make_sessions(env, work / "sessions.json")
        print(f"{made['customers']:,} customers in the database; {made['sessions']} sessions")
        processes.append(
            subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "portal.wsgi",
                    "--bind",
                    f"127.0.0.1:{web_port}",
                    "--workers",
                    str(args.web_workers),
                    "--threads",
                    str(args.threads),
                    "--worker-class",
                    "gthread",
                    # Idle connections kept longer than a visitor's pause between clicks (2 s
                    # at most): gunicorn's default 2 s closes them just as the next request is
                    # sent on them, and the client sees a reset. Behind a load balancer, the
                    # same rule: its idle timeout to gunicorn below gunicorn's keep-alive.
                    "--keep-alive",
                    "10",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(work / "gunicorn.log").open("wb"),
            )
        )
        stop = threading.Event()
        warmer = threading.Thread(target=keep_warm, args=(stop,), daemon=True)
        warmer.start()
        host = f"http://127.0.0.1:{web_port}"
        wait_for(f"{host}/pricing/", 60, {"X-Forwarded-Proto": "https"})
        began = time.monotonic()
        subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{args.duration}s",
                "--host",
                host,
                "--csv",
                str(work / "load"),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env={**env, "LOAD_SESSIONS": str(work / "sessions.json")},
            check=False,
            stdout=(work / "locust.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        stop.set()
        return report(work / "load_stats.csv", args, time.monotonic() - began)
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        print(f"(logs in {work})")


if __name__ == "__main__":
    sys.exit(main())
