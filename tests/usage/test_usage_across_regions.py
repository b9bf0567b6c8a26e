"""A key metered in us-east-1 and eu-west-1 (its tier is a usage plan in each): collection reads
each region's usage plan in that region and stores a day per region; the pages and the API sum
what was used and name the region with the least left; extra quota is granted in each region;
the ops page reads each region's CloudWatch on its own. All over HTTP against the local AWS."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from localaws.testing import LocalAwsControl
from plans.models import ApiStage
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.aws import usage as aws_usage
from portal.aws.location import current_location
from portal.aws.metrics import PeriodMetrics, publish_api_metrics
from portal.errors import TransientSyncError
from portal.usage.metrics import RANGES, dashboard_stages, stage_dims, window
from portal.usage.models import UsageDay
from portal.usage.regions import RegionUsage
from portal.usage.selectors import customer_usage
from portal.usage.services import collect_usage
from tests.conftest import login
from tests.fixtures.api import api_as
from tests.usage.two_regions import World, world_fixture  # noqa: F401 - the `world` fixture

pytestmark = pytest.mark.integration

EAST, WEST = "us-east-1", "eu-west-1"


def today() -> str:
    return timezone.now().date().isoformat()


@pytest.fixture
def used(world: World, control: LocalAwsControl) -> World:
    """300 requests today in us-east-1 and 120 in eu-west-1, collected."""
    control.set_usage(world.plan_id(EAST), world.key_id(EAST), today(), 300, region=EAST)
    control.set_usage(world.plan_id(WEST), world.key_id(WEST), today(), 120, region=WEST)
    control.clear_calls()
    result = collect_usage()
    assert (result.tiers, result.places, result.keys, result.failed) == (1, 2, 2, 0)
    return world


def stored(world: World) -> set[tuple[int | None, str, int, int]]:
    return set(
        UsageDay.objects.filter(key=world.key).values_list(
            "connection_id", "region", "used", "remaining"
        )
    )


def test_each_region_is_read_there_and_stored_as_a_day_of_its_own(
    used: World, control: LocalAwsControl
) -> None:
    world = used
    calls = control.calls("GetUsage")
    assert sorted((c["region"], c["account"]) for c in calls) == [
        (WEST, "123456789012"),
        (EAST, "123456789012"),
    ]
    place = world.connection.pk
    assert stored(world) == {(place, EAST, 300, 99_700), (place, WEST, 120, 99_880)}

    again = collect_usage(backfill_days=3)  # a re-read changes nothing and adds no row
    assert again.rows == 2
    assert stored(world) == {(place, EAST, 300, 99_700), (place, WEST, 120, 99_880)}
    world.key.refresh_from_db()
    assert world.key.last_used_on == timezone.now().date()


def test_a_region_that_does_not_answer_keeps_nothing_from_the_others(
    world: World, control: LocalAwsControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    control.set_usage(world.plan_id(EAST), world.key_id(EAST), today(), 300, region=EAST)
    control.set_usage(world.plan_id(WEST), world.key_id(WEST), today(), 120, region=WEST)
    real = aws_usage.usage_of_plan

    def west_down(*args: Any) -> Any:
        place = current_location()
        if place is not None and place.region == WEST:
            raise TransientSyncError("AWS answered InternalFailure (GetUsage)")
        return real(*args)

    monkeypatch.setattr(aws_usage, "usage_of_plan", west_down)
    result = collect_usage()

    assert (result.places, result.failed) == (1, 1)
    assert stored(world) == {(world.connection.pk, EAST, 300, 99_700)}
    monkeypatch.setattr(aws_usage, "usage_of_plan", real)
    assert collect_usage().failed == 0  # the next run reads it
    assert len(stored(world)) == 2


def test_the_usage_page_sums_the_regions_and_breaks_them_down(used: World) -> None:
    world = used
    [shown] = customer_usage(world.customer).keys
    assert shown.used == 420
    assert shown.remaining == 99_700  # us-east-1 has the least left
    assert shown.remaining_where == EAST
    assert shown.regions == [
        RegionUsage(WEST, 120, 99_880, 100_000),
        RegionUsage(EAST, 300, 99_700, 100_000),
    ]
    assert not shown.extended

    page = " ".join(login(world.owner).get(reverse("app:usage")).content.decode().split())
    assert "<strong>420</strong> of 100,000 requests" in page
    assert "99,700 remaining in us-east-1, the region with the least left" in page
    assert 'data-testid="usage-regions"' in page
    assert (
        '<th scope="row">eu-west-1</th><td class="num">120</td><td class="num">99,880</td>' in page
    )
    assert (
        '<th scope="row">us-east-1</th><td class="num">300</td><td class="num">99,700</td>' in page
    )

    csv = login(world.owner).get(reverse("app:usage-csv")).content.decode().splitlines()
    assert sorted(csv[1:]) == [
        f"{today()},production,120,99880,eu-west-1",
        f"{today()},production,300,99700,us-east-1",
    ]


def test_the_api_summary_names_each_region(used: World) -> None:
    world = used
    summary = api_as(world.owner).get("/api/v1/usage/summary").json()["results"]
    [key] = summary[0]["keys"]
    assert (key["used"], key["remaining"]) == (420, 99_700)
    assert key["regions"] == [
        {"where": WEST, "used": 120, "remaining": 99_880},
        {"where": EAST, "used": 300, "remaining": 99_700},
    ]
    days = api_as(world.owner).get(f"/api/v1/usage/days?region={WEST}").json()["results"]
    assert [(d["region"], d["used"]) for d in days] == [(WEST, 120)]


def test_extra_quota_is_granted_in_each_region(used: World, admin: User) -> None:
    world = used
    response = login(admin).post(
        reverse("console:grant-quota", args=[world.customer.pk, world.key.pk]),
        {"extra": "1000"},
        follow=True,
    )
    page = " ".join(response.content.decode().split())
    assert "may make 100,700 more requests" in page  # the smaller of the two
    assert world.remaining(EAST, today()) == 100_700
    assert world.remaining(WEST, today()) == 100_880
    event = AuditEvent.objects.get(action="key.quota_extended")
    assert event.after is not None
    assert event.after["regions"] == {EAST: 100_700, WEST: 100_880}

    [shown] = customer_usage(world.customer).keys
    assert shown.remaining == 100_700 and shown.extended
    collect_usage()  # what AWS now reports is what the page shows
    assert [r.remaining for r in customer_usage(world.customer).keys[0].regions] == [
        100_880,
        100_700,
    ]


# --- CloudWatch per region ----------------------------------------------------------------------


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def traffic(count: int, e4xx: int, e5xx: int) -> list[PeriodMetrics]:
    _, end = window(RANGES["24h"], timezone.now())
    return [
        PeriodMetrics(
            start=end - datetime.timedelta(minutes=10),
            seconds=300,
            count=count,
            e4xx=e4xx,
            e5xx=e5xx,
            latency={20.0: count},
            integration_latency={15.0: count},
        )
    ]


def test_the_ops_page_reads_each_regions_cloudwatch_and_totals_them(
    world: World, ops: User, control: LocalAwsControl, fresh_cache: None
) -> None:
    by_region = {stage.region: stage for stage in stage_dims(dashboard_stages())}
    publish_api_metrics(by_region[EAST], traffic(500, 20, 3))
    publish_api_metrics(by_region[WEST], traffic(80, 4, 1))
    control.clear_calls()

    page = " ".join(login(ops).get(reverse("console:metrics")).content.decode().split())

    calls = control.calls("GetMetricData")
    assert sorted(c["region"] for c in calls) == sorted([EAST, WEST])  # one batch per region
    assert 'id="metrics-places"' in page
    for where, figures in ((EAST, (500, 20, 3)), (WEST, (80, 4, 1))):
        cells = "".join(f'<td class="num">{n}</td>' for n in figures)
        assert f'<th scope="row">{where}</th><td class="num">1</td>{cells}' in page
    assert '<td class="num"><strong>580</strong></td><td class="num">24</td>' in page

    body = api_as(ops).get("/api/v1/metrics").json()
    assert sorted((r["where"], r["requests"], r["errors_4xx"]) for r in body["regions"]) == [
        (WEST, 80, 4),
        (EAST, 500, 20),
    ]
    shown = ApiStage.objects.get(pk=body["stage"]["id"])
    assert body["totals"]["requests"] == {EAST: 500, WEST: 80}[shown.region]
