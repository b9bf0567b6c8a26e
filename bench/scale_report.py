"""Issue 17's figures in one run: pages at two sizes, AWS calls against the minimum, the
reconcile in sync, and the load run (README "Performance" quotes its output).

In order, each printing its own table:
1. bench/page_times.py: p50/p95 per page and API list at two data sizes, their ratios, queries
   at both sizes, and which pages meet the bar (PostgreSQL: DATABASE_URL's server; the
   test_<name> database is made and dropped).
2. bench/aws_calls_per_operation.py: AWS calls per operation, measured and AWS's minimum, in one
   and in two regions.
3. bench/reconcile_in_sync.py: a reconcile with every key in sync (read calls, writes, time).
4. bench/load_run.py: gunicorn + PostgreSQL + Redis under locust, a mix of customers and ops for
   a fixed time (the database `<name>_load` on DATABASE_URL's server, seeded once and kept).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tollgate_bench \\
        .venv/bin/python bench/scale_report.py [--sizes 100,10000] [--days 90] \\
        [--reconcile-keys 10000] [--load-users 20] [--load-seconds 120] [--existing SMALL,LARGE]

Exits non-zero when a step fails or the load run saw an error.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def step(title: str, command: list[str], env: dict[str, str]) -> int:
    print(f"\n== {title} ==", flush=True)
    began = time.monotonic()
    code = subprocess.run([sys.executable, *command], env=env, check=False).returncode
    print(f"({title}: {time.monotonic() - began:.0f} s, exit {code})", flush=True)
    return code


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,10000")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--reconcile-keys", type=int, default=10_000)
    parser.add_argument("--load-users", type=int, default=20)
    parser.add_argument("--load-seconds", type=int, default=120)
    parser.add_argument(
        "--existing",
        default="",
        help="SMALL,LARGE: measure pages on two databases seed_scale filled before (page_times.py"
        " --existing) instead of seeding both sizes here",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (see the docstring).")
    env = dict(os.environ)
    sync_env = {**env, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    biggest = max(int(size) for size in args.sizes.split(","))
    codes = [
        step(
            "pages at two sizes",
            [
                str(BENCH / "page_times.py"),
                "--sizes",
                args.sizes,
                "--days",
                str(args.days),
                "--requests",
                str(args.requests),
                *(["--existing", args.existing] if args.existing else []),
            ],
            env,
        ),
        step("AWS calls per operation", [str(BENCH / "aws_calls_per_operation.py")], sync_env),
        step(
            "reconcile in sync",
            [str(BENCH / "reconcile_in_sync.py"), str(args.reconcile_keys)],
            sync_env,
        ),
        step(
            "load run",
            [
                str(BENCH / "load_run.py"),
                "--customers",
                str(biggest),
                "--days",
                str(args.days),
                "--users",
                str(args.load_users),
                "--duration",
                str(args.load_seconds),
            ],
            {**env, "DATABASE_URL": f"{url}_load"},
        ),
    ]
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
