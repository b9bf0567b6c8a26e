"""Bulk data at scale for benchmarks and load tests (`manage.py seed_scale`).

Customers with an owner each, spread over the live tiers, N keys per customer with a KeyCopy per
account and region of their tier, and D days of UsageDay rows per key and place: bulk_create
(UsageDay by one executemany a batch) in chunks of customers, one transaction per chunk. Key values are generated as the product makes
them (portal.aws.apigateway.key_values) and only their fingerprint is stored; with `with_aws`
they go to the local AWS by ImportApiKeys (demo/scale_aws.py) while still in memory.

Seed data is recognised by its customers' slug prefix (SLUG_PREFIX).
"""

from __future__ import annotations

import datetime
import random
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from keys.models import ApiKey, KeyCopy
from plans.locations import tier_locations
from plans.models import ApiStage, Plan, PlanCopy, Subscription
from plans.models.subscriptions import SubscriptionStatus
from plans.selectors import forget_customers_per_tier
from portal.accounts.models import User
from portal.aws.apigateway.api_keys import secret_fingerprint
from portal.aws.apigateway.key_values import new_key_value
from portal.aws.location import Location
from portal.connections.locations import default_connection
from portal.customers.models import Customer, Membership, MembershipRole
from portal.sync import SyncStatus
from portal.usage.models import CustomerMonthUsage, PeriodUsage, UsageDay
from portal.usage.periods import period_bounds

SLUG_PREFIX = "scale-"
CHUNK_CUSTOMERS = 500
BATCH = 5000
TIERS: list[dict[str, Any]] = [
    {"name": "Free", "is_default": True, "self_serve": True, "throttle_rate": Decimal("2"),
     "throttle_burst": 5, "quota_limit": 1000, "quota_period": "DAY", "monthly_price": None},
    {"name": "Premium", "is_default": False, "self_serve": True, "throttle_rate": Decimal("50"),
     "throttle_burst": 100, "quota_limit": 100_000, "quota_period": "MONTH",
     "monthly_price": Decimal("49")},
    {"name": "Enterprise", "is_default": False, "self_serve": False,
     "throttle_rate": Decimal("500"), "throttle_burst": 1000, "quota_limit": 5_000_000,
     "quota_period": "MONTH", "monthly_price": Decimal("499")},
]  # fmt: skip
TIER_WEIGHTS = (0.6, 0.3, 0.1)  # the first three tiers; any others share the rest evenly


def has_seed_data() -> bool:
    return Customer.objects.filter(slug__startswith=SLUG_PREFIX).exists()


def has_live_tiers() -> bool:
    return Plan.objects.filter(archived_at__isnull=True).exists()


def progress(label: str, done: int, total: int) -> None:
    sys.stderr.write(f"\r{label}: {done:,}/{total:,}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


@dataclass
class Tier:
    plan: Plan
    locations: list[Location]


@dataclass
class Seeded:
    customers: int = 0
    keys: int = 0
    copies: int = 0
    usage_days: int = 0
    owners: list[int] = field(default_factory=list)  # user ids, in customer order


def stages_for(regions: list[str]) -> list[ApiStage]:
    """An available stage per region: one found, or a placeholder row (not in AWS)."""
    connection = default_connection()
    stages = []
    for region in regions:
        stage = ApiStage.objects.filter(region=region, available=True).order_by("pk").first()
        if stage is None:
            stage = ApiStage.objects.create(
                connection=connection,
                region=region,
                rest_api_id="seedscale",
                stage_name="prod",
                api_name="Seed Scale API",
                available=True,
            )
        stages.append(stage)
    return stages


def live_tiers(regions: list[str]) -> list[Tier]:
    """The live (not archived) tiers, or Free/Premium/Enterprise on a stage per region, made
    here as rows already in sync (placeholder usage plan ids: no AWS call)."""
    plans = list(Plan.objects.filter(archived_at__isnull=True).order_by("pk"))
    if not plans:
        stages = stages_for(regions)
        now = timezone.now()
        for spec in TIERS:
            plan = Plan.objects.create(
                **spec,
                slug=spec["name"].lower(),
                description=f"{spec['name']} (seed_scale)",
                quota_offset=0,
                desired_version=1,
                synced_version=1,
                sync_status=SyncStatus.SYNCED,
                synced_at=now,
            )
            plan.stages.set(stages)
            plan.aws_id = f"sp{plan.pk}{stages[0].region[:2]}"
            plan.save(update_fields=["aws_id"])
            for location in (t.location for t in tier_locations(plan)):
                PlanCopy.objects.create(
                    plan=plan,
                    connection_id=location.connection_id,
                    region=location.region,
                    aws_id=f"sp{plan.pk}{location.region}",
                    synced_version=1,
                    synced_at=now,
                )
            plans.append(plan)
    return [Tier(plan, [t.location for t in tier_locations(plan)]) for plan in plans]


def _daily_limit(plan: Plan) -> int:
    quota = plan.quota_limit or 0
    if not quota:
        return 20_000
    return quota if plan.quota_period == "DAY" else quota // 30


UsageRow = tuple[Any, ...]
USAGE_FIELDS = ("key", "plan", "connection", "region", "date", "used", "remaining", "collected_at")


def _usage(
    key: ApiKey, plan: Plan, location: Location, days: list[datetime.date], rng: random.Random
) -> tuple[list[UsageRow], datetime.date | None]:
    """A key's days in one place (USAGE_FIELDS): 15% idle, 10% near the quota, 5% at it, the
    rest light."""
    profile = rng.random()
    limit = _daily_limit(plan)
    share = 0.0 if profile < 0.15 else 0.9 if profile < 0.25 else 1.05 if profile < 0.3 else None
    rows, last_used, spent, now = [], None, 0, timezone.now()
    for day in days:  # oldest first
        if plan.quota_period != "DAY" and day.day == 1:
            spent = 0
        base = share if share is not None else rng.uniform(0.005, 0.3)
        used = int(limit * base * rng.uniform(0.8, 1.2)) if base else 0
        if plan.quota_limit:
            used = min(used, plan.quota_limit - (0 if plan.quota_period == "DAY" else spent))
        spent = used if plan.quota_period == "DAY" else spent + used
        remaining = max((plan.quota_limit or 0) - spent, 0)
        if used:
            last_used = day
        rows.append(
            (key.pk, plan.pk, location.connection_id, location.region, day, used, remaining, now)
        )
    return rows, last_used


def insert_usage(rows: list[UsageRow]) -> None:
    """One executemany (Model instances and bulk_create's SQL per batch cost 3x the time)."""
    if not rows:
        return
    meta = UsageDay._meta
    fields = [meta.get_field(f) for f in USAGE_FIELDS]
    assert all(isinstance(f, Field) for f in fields)
    concrete = cast(list[Field[Any, Any]], fields)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in concrete)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(USAGE_FIELDS))})"
    )
    prepared = [
        [
            field.get_db_prep_save(value, connection)
            for field, value in zip(concrete, row, strict=True)
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, prepared)


@dataclass
class Totals:
    """The roll-ups of a chunk's usage rows (see portal/usage/models.py) as the collector keeps
    them: each key's sum per quota period of its tier, each customer's per month. Summed while
    the rows are made, written once at the end of the chunk with bulk_create."""

    plans: dict[int, Plan]
    customer_of: dict[int, int]
    periods: Counter[tuple[int, int, datetime.date]] = field(default_factory=Counter)
    months: Counter[tuple[int, datetime.date]] = field(default_factory=Counter)

    def add(self, rows: list[UsageRow]) -> None:
        for key_id, plan_id, _, _, day, used, _, _ in rows:
            self.months[(self.customer_of[key_id], day.replace(day=1))] += used
            plan = self.plans[plan_id]
            if plan.quota_limit is not None and plan.quota_period:
                start = period_bounds(plan.quota_period, day)[0]
                self.periods[(key_id, plan_id, start)] += used

    def write(self) -> int:
        quotas = {pk: plan.quota_limit or 0 for pk, plan in self.plans.items()}
        periods = [
            PeriodUsage(
                key_id=key_id,
                plan_id=plan_id,
                period=self.plans[plan_id].quota_period,
                period_start=start,
                used=used,
                quota=quotas[plan_id],
                share=used / quotas[plan_id],
            )
            for (key_id, plan_id, start), used in self.periods.items()
        ]
        PeriodUsage.objects.bulk_create(periods, batch_size=BATCH)
        CustomerMonthUsage.objects.bulk_create(
            [
                CustomerMonthUsage(customer_id=customer_id, month=month, used=used)
                for (customer_id, month), used in self.months.items()
            ],
            batch_size=BATCH,
        )
        return len(periods) + len(self.months)


def _pick_tier(tiers: list[Tier], rng: random.Random) -> Tier:
    weights = list(TIER_WEIGHTS[: len(tiers)])
    rest = (1 - sum(weights)) / max(len(tiers) - len(weights), 1)
    weights += [rest] * (len(tiers) - len(weights))
    return rng.choices(tiers, weights=weights)[0]


ImportHook = Callable[[list[tuple[ApiKey, Tier, str]]], None]


def seed(
    *,
    customers: int,
    keys_per_customer: int,
    regions: list[str],
    days: int,
    seed_value: int = 1,
    on_keys: ImportHook | None = None,
    quiet: bool = False,
) -> Seeded:
    """Make the rows (see the module docstring). `on_keys` receives each chunk's new keys with
    their tier and value (the values go nowhere else) inside the chunk's transaction."""
    rng = random.Random(seed_value)
    tiers = live_tiers(regions)
    start = Customer.objects.filter(slug__startswith=SLUG_PREFIX).count()
    today = timezone.now().date()
    dates = [today - datetime.timedelta(days=d) for d in range(days - 1, -1, -1)]
    password = make_password(None)  # unusable
    done = Seeded()
    for first in range(start, start + customers, CHUNK_CUSTOMERS):
        numbers = range(first, min(first + CHUNK_CUSTOMERS, start + customers))
        with transaction.atomic():
            _chunk(numbers, tiers, keys_per_customer, dates, password, rng, on_keys, done)
        if not quiet:
            progress("customers", done.customers, customers)
    if connection.vendor == "postgresql":
        # The planner's statistics and the visibility map for the new rows now, not whenever
        # autovacuum gets to them: without statistics a customer's usage list picked the
        # whole-table index and took 9 s; without the map every index-only scan (the tier
        # list's count of subscriptions) read the table too. 10 s at 9 M usage rows.
        with connection.cursor() as cursor:
            # VACUUM cannot run in a transaction (a caller's, or a test's): statistics only.
            cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)")
    return done


def _chunk(
    numbers: range,
    tiers: list[Tier],
    keys_per_customer: int,
    dates: list[datetime.date],
    password: str,
    rng: random.Random,
    on_keys: ImportHook | None,
    done: Seeded,
) -> None:
    now = timezone.now()
    users = User.objects.bulk_create(
        [User(email=f"owner{n}@{SLUG_PREFIX}{n}.test", password=password) for n in numbers]
    )
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in users]
    )
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Scale Customer {n:06d}", slug=f"{SLUG_PREFIX}{n:06d}") for n in numbers]
    )
    Membership.objects.bulk_create(
        [
            Membership(user=u, customer=c, role=MembershipRole.OWNER, selected_at=now)
            for u, c in zip(users, customers, strict=True)
        ]
    )
    tier_of = {c.pk: _pick_tier(tiers, rng) for c in customers}
    Subscription.objects.bulk_create(
        [
            Subscription(
                customer=c,
                plan=tier_of[c.pk].plan,
                status=SubscriptionStatus.ACTIVE,
                started_at=now,
            )
            for c in customers
        ]  # fmt: skip
    )
    forget_customers_per_tier()  # bulk_create sends no post_save
    fresh: list[tuple[ApiKey, Tier, str]] = []
    for customer, owner in zip(customers, users, strict=True):
        for k in range(keys_per_customer):
            value = new_key_value()
            digest, prefix = secret_fingerprint(value)
            key = ApiKey(
                customer=customer,
                name="production" if k == 0 else f"key {k}",
                created_by=owner,
                display_prefix=prefix,
                secret_sha256=digest,
                aws_id=f"ss{uuid.uuid4().hex[:10]}",
                desired_version=1,
                synced_version=1,
                sync_status=SyncStatus.SYNCED,
                synced_at=now,
            )
            fresh.append((key, tier_of[customer.pk], value))
    ApiKey.objects.bulk_create([k for k, _, _ in fresh], batch_size=BATCH)
    copies = [
        KeyCopy(
            key=key,
            connection_id=location.connection_id,
            region=location.region,
            aws_id=key.aws_id if n == 0 else f"ss{uuid.uuid4().hex[:10]}",
            synced_version=1,
            synced_at=now,
        )
        for key, tier, _ in fresh
        for n, location in enumerate(tier.locations)
    ]
    KeyCopy.objects.bulk_create(copies, batch_size=BATCH)
    if on_keys is not None:
        on_keys(fresh)
    rows: list[UsageRow] = []
    used_on: list[ApiKey] = []
    totals = Totals({t.plan.pk: t.plan for t in tiers}, {k.pk: k.customer_id for k, _, _ in fresh})
    for key, tier, _ in fresh:
        last = None
        for location in tier.locations:
            days, last_here = _usage(key, tier.plan, location, dates, rng)
            rows.extend(days)
            last = max(filter(None, (last, last_here)), default=None)
            if len(rows) >= BATCH:
                insert_usage(rows)
                totals.add(rows)
                done.usage_days += len(rows)
                rows = []
        if last is not None:
            key.last_used_on = last
            used_on.append(key)
    insert_usage(rows)
    totals.add(rows)
    totals.write()
    done.usage_days += len(rows)
    ApiKey.objects.bulk_update(used_on, ["last_used_on"], batch_size=BATCH)
    done.customers += len(customers)
    done.keys += len(fresh)
    done.copies += len(copies)
    done.owners.extend(u.pk for u in users)
