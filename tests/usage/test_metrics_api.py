"""GET /api/v1/metrics against the local CloudWatch: the ops page's series through the same
selector and cache, a bad range or stage as a 400, and CloudWatch down as a 503."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.utils import timezone

from localaws.testing import LocalAwsControl
from plans.models import ApiStage
from portal.accounts.models import User
from portal.aws.metrics import PeriodMetrics, StageDims, publish_api_metrics
from portal.usage.metrics import RANGES, window
from tests.fixtures.api import api_as

URL = "/api/v1/metrics"


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def dims(stage: ApiStage) -> StageDims:
    return StageDims(stage.region, stage.api_name, stage.stage_name)


@pytest.fixture
def published(stage: ApiStage, control: LocalAwsControl) -> list[PeriodMetrics]:
    """Three 5-minute periods of traffic in the last 24 hours, in the local CloudWatch."""
    start, end = window(RANGES["24h"], timezone.now())
    points = [
        PeriodMetrics(
            start=end - datetime.timedelta(minutes=5 * back),
            seconds=300,
            count=count,
            e4xx=e4xx,
            e5xx=e5xx,
            latency={20.0: count - 10, 250.0: 10},
            integration_latency={15.0: count},
        )
        for back, count, e4xx, e5xx in ((3, 100, 10, 1), (6, 200, 0, 4), (30, 50, 5, 0))
    ]
    publish_api_metrics(dims(stage), points)
    control.clear_calls()
    return points


def test_ops_reads_the_series_once_a_minute_with_an_etag(
    ops: User, stage: ApiStage, published: list[PeriodMetrics], control: LocalAwsControl
) -> None:
    client = api_as(ops)

    response = client.get(URL)  # the default range: 24h

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["range"] == "24h"
    assert body["period"] == 300
    assert body["stage"]["id"] == stage.pk
    assert body["stage"]["ref"] == "Weather API/prod"
    assert body["stages"] == [stage.pk]
    assert len(body["points"]) == 24 * 12
    by_time = {p["at"]: p for p in body["points"] if p["count"] is not None}
    assert len(by_time) == 3
    first = by_time[published[0].start.isoformat().replace("+00:00", "Z")]
    assert first["count"] == 100
    assert first["e4xx"] == 10
    assert first["rate_4xx"] == 10.0
    assert first["rate_5xx"] == 1.0
    assert first["lat_p50"] == 20.0
    assert first["lat_p99"] == 250.0
    assert first["int_p90"] == 15.0
    assert body["totals"] == {"requests": 350, "errors_4xx": 15, "errors_5xx": 5}
    assert len(control.calls("GetMetricData")) == 1

    again = client.get(URL, HTTP_IF_NONE_MATCH=response["ETag"])

    assert again.status_code == 304
    assert api_as(ops).get(URL).json() == body
    assert len(control.calls("GetMetricData")) == 1  # the later reads: from the 60-s cache


@pytest.mark.parametrize("range_key", ["3h", "7d", "30d"])
def test_each_range_has_its_period(
    admin: User, published: list[PeriodMetrics], range_key: str
) -> None:
    body = api_as(admin).get(f"{URL}?range={range_key}").json()

    chosen = RANGES[range_key]
    assert body["range"] == range_key
    assert body["period"] == chosen.period
    assert len(body["points"]) == chosen.span.total_seconds() / chosen.period
    assert body["totals"]["requests"] == sum(
        p.count for p in published if p.start >= datetime.datetime.fromisoformat(body["start"])
    )


def test_a_bad_range_is_a_400_that_names_the_choices(admin: User, control: LocalAwsControl) -> None:
    response = api_as(admin).get(f"{URL}?range={'1y'}")

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "title": "Invalid input",
        "detail": "range: “1y” is not a range; use one of 3h, 24h, 7d, 30d.",
        "errors": {"range": ["“1y” is not a range; use one of 3h, 24h, 7d, 30d."]},
    }
    assert control.calls("GetMetricData") == []


def test_a_stage_not_offered_is_a_400(
    admin: User, stage: ApiStage, control: LocalAwsControl
) -> None:
    hidden = ApiStage.objects.create(
        region="us-east-1", rest_api_id="zzz999", stage_name="dev", api_name="Weather API"
    )

    response = api_as(admin).get(f"{URL}?stage={hidden.pk}")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "stage": [f"Stage {hidden.pk} is not offered to tiers (see /api/v1/stages)."]
    }


def test_the_stage_parameter_picks_the_series(
    ops: User, stage: ApiStage, published: list[PeriodMetrics], control: LocalAwsControl
) -> None:
    other = ApiStage.objects.create(
        region="us-east-1",
        rest_api_id="abc123",
        stage_name="beta",
        api_name="Weather API",
        available=True,
    )
    client = api_as(ops)

    quiet = client.get(f"{URL}?stage={other.pk}").json()
    busy = client.get(f"{URL}?stage={stage.pk}").json()

    assert quiet["stage"]["stage_name"] == "beta"
    assert quiet["totals"]["requests"] == 0
    assert all(p["count"] is None for p in quiet["points"])
    assert busy["totals"]["requests"] == 350
    assert sorted(busy["stages"]) == sorted([stage.pk, other.pk])
    assert len(control.calls("GetMetricData")) == 1  # one call carries every stage


def test_no_stage_offered_is_an_empty_answer(ops: User, db: None, control: LocalAwsControl) -> None:
    response = api_as(ops).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["stage"] is None
    assert body["points"] == []
    assert body["totals"] is None
    assert control.calls("GetMetricData") == []


def test_cloudwatch_down_is_a_503_problem(
    ops: User, published: list[PeriodMetrics], control: LocalAwsControl
) -> None:
    control.add_fault("GetMetricData", status=500, times=None)
    try:
        response = api_as(ops).get(URL)
    finally:
        control.clear_faults()

    assert response.status_code == 503
    body = response.json()
    assert body["type"] == "service_unavailable"
    assert body["title"] == "Service unavailable"
    assert body["detail"].startswith("CloudWatch did not answer:")
    assert "GetMetricData" in body["detail"]
    assert body["errors"] == {}
    assert response["Retry-After"] == "10"
    assert "ETag" not in response


def test_customers_may_not_read_it(alice: User, stage: ApiStage) -> None:
    response = api_as(alice).get(URL)

    assert response.status_code == 403
    assert response.json()["detail"] == "Only Tollgate staff can see this."


def test_a_botocore_failure_is_a_503_too(
    ops: User, stage: ApiStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials, no region: portal.aws.metrics speaks of it as a sync error (aws_errors),
    so nothing above portal.aws ever sees botocore."""
    from botocore.exceptions import NoCredentialsError

    from portal.aws import metrics as aws_metrics

    class NoCredentials:
        def get_metric_data(self, **kwargs: object) -> None:
            raise NoCredentialsError()

    monkeypatch.setattr(aws_metrics, "cloudwatch", lambda region=None: NoCredentials())

    response = api_as(ops).get(URL)

    assert response.status_code == 503
    assert response.json()["detail"].startswith("CloudWatch did not answer: AWS is not configured")
    assert response["Retry-After"] == "10"
