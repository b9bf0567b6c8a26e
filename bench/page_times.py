"""Server time (p50/p95) and database queries per page and API list, at two data sizes.

The database is DATABASE_URL's server (SQLite under tests.settings when unset): Django's test
database next to it (`test_<name>`, e.g. test_tollgate_bench on PostgreSQL) is created at the
start and dropped at the end. The data comes from seed_scale's functions (demo/scale.py): the
small size first, measured, then seeded on up to the large size and measured again; the focus
customer (the first seeded, whose owner is signed in) is the same at both sizes. A local AWS runs
in-process for the pages that read AWS (ops metrics reads CloudWatch).

Each URL is requested once to warm up, then REQUESTS times through django.test.Client. The cache
is kept between requests, as in production where beat refreshes the cached CloudWatch reads every
minute; `--cold` clears it before each request (every cached AWS read paid each time). The time is
perf_counter around client.get (no network, no middleware outside Django), the queries from
CaptureQueriesContext (the last request's count). Nothing is asserted.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tollgate_bench \\
        .venv/bin/python bench/page_times.py [--sizes 100,10000] [--keys 5] [--days 90] \\
        [--regions us-east-1,eu-west-1] [--requests 30] [--cold]
    DATABASE_URL=... .venv/bin/python bench/page_times.py --existing small,large \\
        [--rounds 6] [--requests 10]

The small size is 100 customers so that every list's first page (50 rows) is full at both sizes.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}.items():
    os.environ.setdefault(_name, _value)
os.environ.pop("AWS_PROFILE", None)

import django  # noqa: E402

django.setup()

# (label, path, who): who is "admin", "ops" or "owner" (the focus customer's owner); the path's
# {customer}, {key} and {stage} are the focus customer, its first key and the first stage.
PAGES: list[tuple[str, str, str]] = [
    ("console overview", "/console/", "ops"),
    ("customer list", "/console/customers/", "ops"),
    ("customer search", "/console/customers/?q=000007", "ops"),
    ("customer detail", "/console/customers/{customer}/", "ops"),
    ("customer usage (ops)", "/console/customers/{customer}/usage/", "ops"),
    ("tiers", "/console/tiers/", "ops"),
    ("stages", "/console/stages/", "ops"),
    ("connections", "/console/connections/", "ops"),
    ("capacity", "/console/capacity/", "ops"),
    ("ops metrics", "/console/metrics/", "ops"),
    ("sync/drift", "/console/sync/", "ops"),
    ("audit log", "/console/audit/", "ops"),
    ("pricing", "/pricing/", "owner"),
    ("customer keys", "/app/", "owner"),
    ("customer key", "/app/keys/{key}/", "owner"),
    ("customer tier", "/app/tier/", "owner"),
    ("customer usage", "/app/usage/", "owner"),
    ("usage CSV", "/app/usage.csv", "owner"),
    ("API customers", "/api/v1/customers", "admin"),
    ("API keys (staff)", "/api/v1/keys", "admin"),
    ("API keys", "/api/v1/keys", "owner"),
    ("API usage days", "/api/v1/usage/days", "owner"),
    ("API usage summary", "/api/v1/usage/summary", "owner"),
    ("API usage summary (staff)", "/api/v1/usage/summary", "admin"),
    ("API capacity", "/api/v1/capacity", "ops"),
    ("API metrics", "/api/v1/metrics", "ops"),
]


Sample = tuple[list[float], int, int]  # times in ms, queries (the last request's), status


def freeze_what_was_made() -> None:
    """As portal/wsgi.py does once the app is loaded: what was made before the measuring (the
    app, the seed, the local AWS) is frozen, so the collector's full passes skip it."""
    gc.collect()
    gc.freeze()


def signed_in(person: Any) -> Any:
    from django.test import Client

    from tests.fixtures.mfa import mark_mfa_passed

    client = Client()
    client.force_login(person)
    mark_mfa_passed(client, person)
    return client


def page_urls(focus: Any) -> dict[str, str]:
    """Each page's URL, with the focus customer, its first key and the first stage."""
    from keys.models import ApiKey
    from plans.models import ApiStage

    key = ApiKey.objects.filter(customer=focus).order_by("pk").first()
    stage = ApiStage.objects.order_by("pk").first()
    return {
        label: path.format(
            customer=focus.pk, key=key.public_id if key else "", stage=stage.pk if stage else ""
        )
        for label, path, _ in PAGES
    }


def timed(client: Any, url: str, requests: int, cold: bool) -> Sample:
    """One request to warm up, then `requests` timed ones."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries, status = [], 0, 0
    for i in range(requests + 1):
        if cold:
            cache.clear()
        # A full query log (9,000 entries) would make every count read 0.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - began
        status = response.status_code
        if i:
            times.append(elapsed * 1000)
            queries = len(captured)
    return times, queries, status


def measure(requests: int, focus: Any, people: dict[str, Any], cold: bool) -> dict[str, Sample]:
    freeze_what_was_made()
    urls = page_urls(focus)
    return {
        label: timed(signed_in(people[who]), urls[label], requests, cold) for label, _, who in PAGES
    }


def figures(sample: Sample) -> tuple[float, float, int, int]:
    """(p50, p95, queries, status) of a page's sample."""
    times, queries, status = sample
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    return statistics.median(times), p95, queries, status


def main() -> None:
    parser = argparse.ArgumentParser()
    # 100, not 10: every list's first page (50 rows) is full at both sizes, so the ratio is what
    # the data's size costs, not 10 rows shown against 50.
    parser.add_argument("--sizes", default="100,10000", help="two customer counts")
    parser.add_argument("--keys", type=int, default=5, help="keys per customer")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--regions", default="us-east-1,eu-west-1")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="clear the cache before each request (every cached AWS read paid each time)",
    )
    parser.add_argument(
        "--existing",
        default="",
        help="SMALL,LARGE: two databases on DATABASE_URL's server that seed_scale already filled "
        "(migrated here, then measured; nothing seeded, nothing dropped)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=6,
        help="with --existing: turns on each database page by page, REQUESTS a page each turn",
    )
    args = parser.parse_args()
    if args.existing:
        measure_existing(args)
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    regions = args.regions.split(",")

    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    from localaws.testing import start_local_aws

    server = start_local_aws()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
    setup_test_environment()
    settings.DEBUG = False
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}", file=sys.stderr)
    try:
        from demo import scale
        from portal.accounts.models import StaffRole, User
        from portal.customers.models import Customer
        from portal.reconcile.tasks import count_capacity
        from tests.conftest import make_user

        people: dict[str, Any] = {
            "admin": make_user("admin@bench.test", StaffRole.ADMIN),
            "ops": make_user("ops@bench.test", StaffRole.OPS),
        }
        results, seeded, setup = {}, 0, {}
        for size in sizes:
            began = time.monotonic()
            scale.seed(
                customers=size - seeded,
                keys_per_customer=args.keys,
                regions=regions,
                days=args.days,
            )
            setup[size] = time.monotonic() - began
            count_capacity()  # what beat does every 30 s: the capacity pages read its counts
            seeded = size
            focus = Customer.objects.filter(slug__startswith=scale.SLUG_PREFIX).order_by("pk")[0]
            people["owner"] = User.objects.get(memberships__customer=focus)
            results[size] = {
                label: figures(sample)
                for label, sample in measure(args.requests, focus, people, args.cold).items()
            }
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        server.stop()
    report(sizes, results, setup, args)


def measure_existing(args: Any) -> None:
    """Measure two databases seeded beforehand (e.g. copies of one seed_scale run): each is
    migrated and vacuumed (VACUUM (ANALYZE)) and beat's capacity count run. Then page by page,
    ROUNDS turns on each database (the order alternating), REQUESTS requests a turn, and a
    page's figures are over all its turns: the two sizes of a page are measured seconds apart,
    so a busy moment on a shared machine falls on both alike instead of on whichever ran then."""
    from django.conf import settings
    from django.core.cache import caches
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    from demo import scale
    from keys.models import ApiKey
    from localaws.testing import start_local_aws
    from portal.accounts.models import StaffRole, User
    from portal.customers.models import Customer
    from portal.reconcile.tasks import count_capacity
    from tests.conftest import make_user

    base_prefix = caches["default"].key_prefix
    counted_at: dict[str, float] = {}

    def use(name: str) -> None:
        """One process, two databases: each keeps its own cache (a prefix of its own, warm as
        beat keeps it) and its capacity counts at most 30 s old, as beat counts them."""
        connection.close()
        connection.settings_dict["NAME"] = name
        caches["default"].key_prefix = f"{base_prefix}bench-{name}"
        if time.monotonic() - counted_at.get(name, -60.0) > 30:
            count_capacity()
            counted_at[name] = time.monotonic()

    server = start_local_aws()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
    setup_test_environment()
    settings.DEBUG = False
    names = args.existing.split(",")
    sizes: dict[str, int] = {}
    setup: dict[int, float] = {}
    people: dict[str, dict[str, Any]] = {}
    urls: dict[str, dict[str, str]] = {}
    try:
        for name in names:
            use(name)
            caches["default"].clear()
            began = time.monotonic()
            call_command("migrate", verbosity=0)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")  # as autovacuum leaves a database in use
            setup_seconds = time.monotonic() - began
            staff = {
                who: User.objects.filter(email=f"{who}@bench.test").first()
                or make_user(f"{who}@bench.test", role)
                for who, role in (("admin", StaffRole.ADMIN), ("ops", StaffRole.OPS))
            }
            seeded = Customer.objects.filter(slug__startswith=scale.SLUG_PREFIX)
            first = seeded.order_by("pk")[0]
            owner = User.objects.get(memberships__customer=first)
            size = seeded.count()
            args.keys = round(ApiKey.objects.count() / max(Customer.objects.count(), 1), 1)
            print(f"database {name}: {size:,} customers", file=sys.stderr)
            sizes[name], setup[size] = size, setup_seconds
            people[name] = {**staff, "owner": owner}
            urls[name] = page_urls(first)
        freeze_what_was_made()
        samples: dict[int, dict[str, Sample]] = {size: {} for size in sizes.values()}
        for number, (label, _, who) in enumerate(PAGES, start=1):
            clients: dict[str, Any] = {}
            for turn in range(args.rounds):
                for name in names if turn % 2 == 0 else names[::-1]:
                    use(name)
                    if name not in clients:
                        clients[name] = signed_in(people[name][who])
                    times, queries, status = timed(
                        clients[name], urls[name][label], args.requests, args.cold
                    )
                    pooled = samples[sizes[name]].get(label, ([], queries, status))[0]
                    samples[sizes[name]][label] = (pooled + times, queries, status)
            print(f"{number} of {len(PAGES)} pages: {label}", file=sys.stderr)
    finally:
        server.stop()
    args.regions = "as seeded"
    results = {
        size: {label: figures(sample) for label, sample in pages.items()}
        for size, pages in samples.items()
    }
    report(sorted(samples), results, setup, args, seeded_here=False)


def report(
    sizes: list[int],
    results: dict[int, Any],
    setup: dict[int, float],
    args: Any,
    *,
    seeded_here: bool = True,
) -> None:
    """One row a page: p50/p95 at both sizes, their ratios, queries at both sizes, and whether it
    meets issue 17's bar (p95 under 50 ms at the large size, p95 ratio at most 1.2, equal queries)."""
    small, large = sizes[0], sizes[-1]
    print(
        f"{'page':<27}{f'p50/p95 ms @{small:,}':>16}{f'p50/p95 ms @{large:,}':>19}"
        f"{'ratio p50/p95':>15}{'queries':>10}  bar"
    )
    met = 0
    for label, *_ in PAGES:
        a, b = results[small][label], results[large][label]
        bad = "" if a[3] == b[3] == 200 else f"  HTTP {a[3]}/{b[3]}"
        ok = b[1] < 50 and b[1] / a[1] <= 1.2 and a[2] == b[2] and not bad
        met += ok
        print(
            f"{label:<27}{f'{a[0]:.1f} / {a[1]:.1f}':>16}{f'{b[0]:.1f} / {b[1]:.1f}':>19}"
            f"{f'{b[0] / a[0]:.2f} / {b[1] / a[1]:.2f}':>15}{f'{a[2]} -> {b[2]}':>10}"
            f"  {'ok' if ok else '--'}{bad}"
        )
    cache = "cache cleared before each" if args.cold else "cache kept, as beat keeps it warm"
    rounds = getattr(args, "rounds", 1) if not seeded_here else 1
    requests = (
        f"{args.requests} requests a page after one warm-up"
        if rounds == 1
        else f"{rounds} turns of {args.requests} requests a page on each database, each after "
        "one warm-up"
    )
    print(
        f"{met} of {len(PAGES)} pages meet the bar (p95 < 50 ms @{large:,}, p95 ratio <= 1.2, "
        f"equal queries). {requests}, {cache}; "
        f"{args.keys} keys a customer, {args.days} days, regions {args.regions}; "
        + ("seeding took " if seeded_here else "migrating and vacuuming took ")
        + ", ".join(f"{setup[s]:.0f} s to {s:,}" for s in sizes)
        + f"; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end."
    )


if __name__ == "__main__":
    main()
