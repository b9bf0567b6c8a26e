"""seed_scale's usage (demo/scale.py) comes with its roll-ups: the ops page and the quota alerts
answer on seeded data as the scans of UsageDay would."""

from __future__ import annotations

import pytest
from django.utils import timezone

from demo import scale
from portal.usage.models import CustomerMonthUsage, PeriodUsage
from portal.usage.rollups import rebuild_usage_totals
from tests.usage.test_usage_rollup import assert_roll_ups_answer_as_the_scans


@pytest.mark.django_db
def test_seeded_usage_has_its_roll_ups() -> None:
    scale.seed(
        customers=6, keys_per_customer=2, regions=["us-east-1", "eu-west-1"], days=40, quiet=True
    )
    today = timezone.now().date()
    assert PeriodUsage.objects.exists() and CustomerMonthUsage.objects.exists()
    assert_roll_ups_answer_as_the_scans(today)
    seeded = sorted(PeriodUsage.objects.values_list("key", "plan", "period_start", "used"))
    months = sorted(CustomerMonthUsage.objects.values_list("customer", "month", "used"))
    rebuild_usage_totals()  # summed afresh from UsageDay: the same rows
    assert sorted(PeriodUsage.objects.values_list("key", "plan", "period_start", "used")) == seeded
    assert sorted(CustomerMonthUsage.objects.values_list("customer", "month", "used")) == months
