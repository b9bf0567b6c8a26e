"""The usage page shows one line per key lineage: a rolled key's days continue the old key's."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from keys.models import ApiKey
from plans.models import Plan
from portal.customers.models import Customer
from portal.usage.models import UsageDay
from portal.usage.selectors import customer_usage


@pytest.mark.django_db
def test_a_rotated_key_continues_its_predecessors_line(
    acme: Customer, tiers: dict[str, Plan]
) -> None:
    today = timezone.now().date()
    yesterday = today - datetime.timedelta(days=1)
    old = ApiKey.objects.create(customer=acme, name="production", revoked_at=timezone.now())
    new = ApiKey.objects.create(customer=acme, name="production (rotated)", rotated_from=old)
    plan = tiers["Free"]
    UsageDay.objects.create(key=old, plan=plan, date=yesterday, used=40, remaining=960)
    UsageDay.objects.create(key=old, plan=plan, date=today, used=5, remaining=995)
    UsageDay.objects.create(key=new, plan=plan, date=today, used=7, remaining=988)

    usage = customer_usage(acme, today)

    assert [k.key for k in usage.series] == [new]
    line = usage.series[0]
    assert line.daily[-2:] == [40, 12]
    assert line.used == 12 and line.remaining == 988
