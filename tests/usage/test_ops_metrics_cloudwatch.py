"""The ops metrics page against the local CloudWatch: one batched GetMetricData per range and
minute, percentiles equal to what the simulator published, and a CloudWatch failure shown in
words."""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse

from demo.simulator import PlacedStage, SimulationResult, simulate
from localaws.testing import LocalAwsControl
from plans.models import Plan
from portal.accounts.models import User
from portal.usage.metrics import RANGES
from tests.conftest import login
from tests.fixtures.traffic import Traffic, make_traffic_customers

pytestmark = pytest.mark.integration


def nearest_rank(values: list[float], percent: float) -> float:
    """Independent of localaws: sort, take rank ceil(p/100 * n)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def traffic(live_tiers: dict[str, Plan], settle: Callable[..., None]) -> Traffic:
    return make_traffic_customers(live_tiers, settle)


@pytest.fixture
def simulated(traffic: Traffic, control: LocalAwsControl) -> SimulationResult:
    result = simulate(days=2, seed=11, force_over_quota=[traffic.keys["Initech/billing"].pk])
    control.clear_calls()
    return result


def _expected(
    result: SimulationResult, stage: PlacedStage, at: datetime.datetime, period: int
) -> dict[str, Any]:
    upper = at + datetime.timedelta(seconds=period)
    points = [p for p in result.published[stage] if at <= p.start < upper]
    latency = [v for p in points for v, c in p.latency.items() for _ in range(c)]
    integration = [v for p in points for v, c in p.integration_latency.items() for _ in range(c)]
    return {
        "count": sum(p.count for p in points) if points else None,
        "e4xx": sum(p.e4xx for p in points) if points else None,
        "lat": latency,
        "int": integration,
    }


def test_one_call_per_view_then_cached_and_percentiles_match(
    simulated: SimulationResult, control: LocalAwsControl, ops: User
) -> None:
    client = login(ops)
    url = reverse("console:metrics")

    response = client.get(url, {"range": "24h"})

    assert response.status_code == 200
    assert len(control.calls("GetMetricData")) == 1
    assert client.get(url, {"range": "24h"}).status_code == 200
    assert login(ops).get(url, {"range": "24h"}).status_code == 200
    assert len(control.calls("GetMetricData")) == 1  # the two later views: from the cache

    shown = response.context["shown"]
    (stage,) = simulated.published
    assert shown.stage == stage.dims
    compared = 0
    for row in shown.rows:
        expected = _expected(simulated, stage, row.at, 300)
        assert row.count == expected["count"], row.at
        assert row.e4xx == expected["e4xx"], row.at
        if not expected["lat"]:
            assert row.lat_p50 is None
            continue
        for percent in (50, 90, 99):
            assert getattr(row, f"lat_p{percent}") == nearest_rank(expected["lat"], percent)
            assert getattr(row, f"int_p{percent}") == nearest_rank(expected["int"], percent)
        assert row.lat_avg == pytest.approx(sum(expected["lat"]) / len(expected["lat"]))
        assert row.int_p99 <= row.lat_p99
        compared += 1
    assert compared > 200  # 24 h of 5-minute periods, nearly all with traffic
    assert shown.requests == sum(
        p.count for p in simulated.published[stage] if p.start >= shown.rows[0].at
    )
    html = response.content.decode()
    assert "CloudWatch counts throttled requests (HTTP 429) inside 4XXError" in html
    latest = next(r for r in reversed(shown.rows) if r.lat_p99 is not None)
    assert f"{latest.lat_p99:.1f}" in html


@pytest.mark.parametrize("range_key", ["3h", "7d", "30d"])
def test_each_range_is_one_call_with_its_period(
    simulated: SimulationResult, control: LocalAwsControl, ops: User, range_key: str
) -> None:
    response = login(ops).get(reverse("console:metrics"), {"range": range_key})

    assert response.status_code == 200
    (call,) = control.calls("GetMetricData")
    shown = response.context["shown"]
    period = RANGES[range_key].period
    assert shown.rows[1].at - shown.rows[0].at == datetime.timedelta(seconds=period)
    assert len(shown.rows) == RANGES[range_key].span.total_seconds() / period
    (stage,) = simulated.published
    for row in shown.rows:
        expected = _expected(simulated, stage, row.at, period)
        assert row.count == expected["count"]
        if expected["lat"]:
            assert row.lat_p99 == nearest_rank(expected["lat"], 99)


def test_cloudwatch_failure_is_a_message_not_an_error_page(
    simulated: SimulationResult, control: LocalAwsControl, admin: User
) -> None:
    control.add_fault("GetMetricData", status=500, times=None)

    response = login(admin).get(reverse("console:metrics"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "CloudWatch did not answer:" in html
    assert "GetMetricData" in html
    # Per-key figures come from the database and are still there.
    assert "Initech" in html
    assert response.context["top_customers"]
    control.clear_faults()
