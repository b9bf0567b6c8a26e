"""The ops metrics page without AWS: who may read it, the per-key figures from the database, and
a number of queries that does not grow with the number of customers."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from plans.models import ApiStage, Plan
from portal.accounts.models import User
from portal.aws.metrics import SERIES, ApiMetrics, MetricSeries, StageDims
from portal.usage import metrics as selectors
from portal.usage.rollups import rebuild_usage_totals
from portal.usage.watch import WatchCounts, refresh_quota_watch_counts
from tests.conftest import login
from tests.fixtures.traffic import bulk_customers_with_usage

URL = "/console/metrics/"


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def fake_metrics(stage: ApiStage, chosen: selectors.Range) -> ApiMetrics:
    """Two datapoints of every series, as api_metrics would return them."""
    start, end = selectors.window(chosen, timezone.now())
    dims = selectors.dims(stage)
    times = [start, start + datetime.timedelta(seconds=chosen.period)]
    series = {
        (dims, key): MetricSeries(dims, key, metric, stat, unit, list(times), [100.0, 40.0])
        for key, metric, stat, unit in SERIES
    }
    return ApiMetrics(start=start, end=end, period=chosen.period, series=series, calls=1)


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    asked: list[Any] = []

    def fetch(stages: list[StageDims], chosen: selectors.Range) -> selectors.Fetched:
        asked.append((stages, chosen))
        stage = ApiStage.objects.get()
        return selectors.Fetched(fake_metrics(stage, chosen), "", timezone.now())

    monkeypatch.setattr(selectors, "fetch_api_metrics", fetch)
    return asked


def test_url_name() -> None:
    assert reverse("console:metrics") == URL


def test_ops_and_admin_read_it_customers_cannot(
    admin: User, ops: User, alice: User, no_aws: list[Any]
) -> None:
    for user in (ops, admin):
        response = login(user).get(URL)
        assert response.status_code == 200
        assert "has no per-key metrics" in response.content.decode()
    assert login(alice).get(URL).status_code == 403


def test_anonymous_goes_to_login(client: Any, no_aws: list[Any]) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert no_aws == []


def test_range_choice_picks_the_period(
    ops: User, tiers: dict[str, Plan], no_aws: list[Any]
) -> None:
    client = login(ops)
    for key, period in (("3h", 60), ("24h", 300), ("7d", 3600), ("30d", 3600), ("bogus", 300)):
        response = client.get(URL, {"range": key})
        assert response.status_code == 200
        assert response.context["chosen"].period == period
        assert response.context["chart"]["count"][:2] == [100.0, 40.0]
        assert response.context["chart"]["rate_4xx"][:2] == [100.0, 100.0]


def test_top_customers_and_quota_watch(
    ops: User, tiers: dict[str, Plan], no_aws: list[Any]
) -> None:
    today = timezone.now().date()
    bulk_customers_with_usage(20, tiers["Free"], today)  # quota 1,000 a day
    rebuild_usage_totals()  # bulk rows, written around the collector

    response = login(ops).get(URL)

    over = response.context["over_quota"]
    near = response.context["near_quota"]
    assert {row["key__customer__name"] for row in over} == {"Bulk 00000", "Bulk 00010"}
    assert all(row["used"] == 1200 and row["percent"] == 120.0 for row in over)
    assert {row["key__customer__name"] for row in near} == {"Bulk 00005", "Bulk 00015"}
    top = response.context["top_customers"]
    assert [row["key__customer__name"] for row in top[:2]] == ["Bulk 00000", "Bulk 00010"]
    html = response.content.decode()
    first = over[0]["key__customer_id"]
    assert reverse("console:customer-usage", args=[first]) in html
    assert "2 keys at or above 100%, 2 between 80% and 100%." in html


def test_quota_watch_counts_every_key_when_it_lists_the_first(
    ops: User, tiers: dict[str, Plan], no_aws: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At scale thousands of keys pass 80%: the page lists the nearest and counts them all,
    rather than counting only the rows it lists."""
    bulk_customers_with_usage(20, tiers["Free"], timezone.now().date())
    rebuild_usage_totals()
    monkeypatch.setattr("portal.usage.watch.QUOTA_ROWS", 3)

    response = login(ops).get(URL)

    assert len(response.context["over_quota"]) + len(response.context["near_quota"]) == 3
    text = " ".join(response.content.decode().split())
    assert (
        "2 keys at or above 100%, 2 between 80% and 100%; the 3 nearest their quota are listed."
        in text
    )


def test_query_count_does_not_grow_with_customers(
    ops: User, tiers: dict[str, Plan], no_aws: list[Any]
) -> None:
    client = login(ops)
    today = timezone.now().date()
    counts = []
    for size, prefix in ((10, "Small"), (190, "Large")):
        bulk_customers_with_usage(size, tiers["Premium"], today, prefix=prefix)
        rebuild_usage_totals()
        client.get(URL)  # session and caches warm
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 11, counts


def test_quota_watch_counts_are_those_of_the_last_collection(
    ops: User, tiers: dict[str, Plan], no_aws: list[Any]
) -> None:
    """Counted after the collection writes the roll-ups (and when the cache lost them), not on
    every view: at 50,000 keys the count reads 8,000 rows."""
    today = timezone.now().date()
    bulk_customers_with_usage(20, tiers["Free"], today)
    rebuild_usage_totals()
    client = login(ops)
    assert client.get(URL).context["watch_counts"] == WatchCounts(over=2, near=2)

    bulk_customers_with_usage(10, tiers["Free"], today, prefix="More")
    rebuild_usage_totals()
    assert client.get(URL).context["watch_counts"] == WatchCounts(over=2, near=2)

    refresh_quota_watch_counts(today)  # what collect_usage_and_alert does after collecting
    assert client.get(URL).context["watch_counts"] == WatchCounts(over=3, near=3)
