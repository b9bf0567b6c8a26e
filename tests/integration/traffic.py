"""Customers with keys in the local AWS, for the traffic simulator and the ops metrics page."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from keys.models import ApiKey
from keys.services import key_create
from plans.models import Plan
from plans.services import subscription_switch
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.usage.models import UsageDay
from tests.conftest import make_user

# (organisation, owner, tier, key names)
CUSTOMERS = [
    ("Acme", "alice@acme.test", "Free", ["production", "staging"]),
    ("Globex", "bob@globex.test", "Premium", ["backend", "mobile"]),
    ("Initech", "dana@initech.test", "Free", ["billing"]),
]


@dataclass
class Traffic:
    customers: dict[str, Customer]
    keys: dict[str, ApiKey]  # by "<organisation>/<key name>"


def make_traffic_customers(tiers: dict[str, Plan], settle: Callable[..., None]) -> Traffic:
    customers: dict[str, Customer] = {}
    keys: dict[str, ApiKey] = {}
    for org, email, tier, key_names in CUSTOMERS:
        owner = make_user(email)
        customer = customer_onboard(owner=owner, organisation_name=org)
        if not tiers[tier].is_default:
            subscription_switch(actor=None, customer=customer, plan=tiers[tier], by_staff=True)
        customers[org] = customer
        for name in key_names:
            keys[f"{org}/{name}"] = key_create(actor=owner, customer=customer, name=name)
    settle()
    for key in keys.values():
        key.refresh_from_db()
        assert key.aws_id, key.sync_error
    return Traffic(customers=customers, keys=keys)


def bulk_customers_with_usage(
    count: int, plan: Plan, today: datetime.date, days: int = 5, prefix: str = "Bulk"
) -> None:
    """`count` customers, one key each, `days` UsageDay rows per key, with bulk_create only.

    Every fifth key is at or above 80% of the tier's quota this period, every tenth above it.
    """
    customers = Customer.objects.bulk_create(
        [Customer(name=f"{prefix} {n:05d}", slug=f"{prefix.lower()}-{n:05d}") for n in range(count)]
    )
    keys = ApiKey.objects.bulk_create(
        [
            ApiKey(customer=c, name="main", aws_id=f"k{prefix.lower()}{n:05d}")
            for n, c in enumerate(customers)
        ]
    )
    quota = plan.quota_limit or 1000
    rows = []
    for n, key in enumerate(keys):
        share = 1.2 if n % 10 == 0 else 0.85 if n % 5 == 0 else 0.1
        for offset in range(days):
            day = today - datetime.timedelta(days=offset)
            used = int(quota * share) if offset == 0 else 7
            rows.append(UsageDay(key=key, plan=plan, date=day, used=used, remaining=0))
    UsageDay.objects.bulk_create(rows, batch_size=5000)
