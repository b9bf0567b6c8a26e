"""The local traffic simulator: bounded by each tier's throttle and quota, 429s past the quota,
and usage that collect_usage brings into the database exactly."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from demo.simulator import simulate, time_slots
from localaws.testing import LocalAwsControl
from plans.models import Plan
from portal.usage.models import UsageDay
from portal.usage.periods import period_bounds
from tests.fixtures.traffic import Traffic, make_traffic_customers

pytestmark = pytest.mark.integration


@pytest.fixture
def traffic(live_tiers: dict[str, Plan], settle: Callable[..., None]) -> Traffic:
    return make_traffic_customers(live_tiers, settle)


def test_time_slots_are_contiguous_in_the_past_and_finer_lately() -> None:
    now = datetime.datetime(2025, 3, 10, 14, 37, 25, tzinfo=datetime.UTC)
    start = datetime.datetime(2025, 2, 9, tzinfo=datetime.UTC)
    slots = time_slots(start, now)
    assert slots[0] == (start, 3600)
    for (moment, seconds), (following, _) in zip(slots, slots[1:], strict=False):
        assert moment + datetime.timedelta(seconds=seconds) == following
        assert moment.timestamp() % seconds == 0
    last, seconds = slots[-1]
    assert last + datetime.timedelta(seconds=seconds) == now.replace(second=0)
    assert {s for m, s in slots if m >= now - datetime.timedelta(hours=3)} == {60}
    assert {s for m, s in slots if now - datetime.timedelta(hours=24) <= m} <= {60, 300}


def test_simulated_usage_stays_within_throttle_and_quota_and_is_collected(
    traffic: Traffic, control: Any, live_tiers: dict[str, Plan]
) -> None:
    forced = traffic.keys["Initech/billing"]
    control.clear_calls()

    result = simulate(days=10, seed=7, force_over_quota=[forced.pk])

    assert result.keys == len(traffic.keys)
    plan_of = {
        key.pk: live_tiers["Premium" if org == "Globex" else "Free"]
        for name, key in traffic.keys.items()
        for org in [name.split("/")[0]]
    }
    period_totals: dict[tuple[int, datetime.date], int] = defaultdict(int)
    for (key_pk, day), used in result.usage.items():
        plan = plan_of[key_pk]
        assert plan.throttle_rate is not None and plan.quota_limit is not None
        assert 0 <= used <= float(plan.throttle_rate) * 86400
        period_totals[(key_pk, period_bounds(plan.quota_period, day)[0])] += used
    for (key_pk, _), total in period_totals.items():
        limit = plan_of[key_pk].quota_limit
        assert limit is not None and total <= limit
    # The forced key asks for three times its daily quota: it uses it all, the rest is 429.
    forced_days = {d: u for (k, d), u in result.usage.items() if k == forced.pk}
    full_days = [d for d, u in forced_days.items() if u == 1000]
    assert len(full_days) >= 8
    assert result.throttled_by_key[forced.pk] > 1000
    assert result.throttled >= result.throttled_by_key[forced.pk]
    published = [p for points in result.published.values() for p in points]
    assert sum(p.e4xx for p in published) == result.errors_4xx >= result.throttled
    assert sum(p.count for p in published) == result.requests
    assert 0.003 < result.errors_5xx / (result.requests - result.throttled) < 0.03
    # Quieter weekends and nights than weekday afternoons.
    assert len(control.calls("PutMetricData")) == result.metric_calls >= 1

    # collect_usage ran at the end: the database holds exactly what was recorded.
    rows = {(r.key_id, r.date): r.used for r in UsageDay.objects.all()}
    recorded = {k: v for k, v in result.usage.items() if v}
    assert {k: v for k, v in rows.items() if v} == recorded
    assert result.collected is not None and result.collected.rows >= len(recorded)
    # GetUsage (through the local AWS) agrees too.
    assert result.usage_calls == 1


def test_rerun_sets_usage_again(traffic: Traffic, control: LocalAwsControl) -> None:
    first = simulate(days=3, seed=3)
    second = simulate(days=3, seed=3, now=None)
    assert second.usage.keys() == first.usage.keys()
    rows = {(r.key_id, r.date): r.used for r in UsageDay.objects.all()}
    assert {k: v for k, v in rows.items() if v} == {k: v for k, v in second.usage.items() if v}
