"""CloudWatch percentile statistics over PutMetricData values (moto answers 500)."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws.testing import LocalAwsControl

pytestmark = pytest.mark.integration

NS = "Tollgate/Test"
NOW = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
START = NOW - datetime.timedelta(hours=1)


def nearest_rank(values: list[float], p: float) -> float:
    """Independent nearest-rank percentile."""
    ordered = sorted(values)
    k = math.ceil(p / 100 * len(ordered))
    return ordered[max(k, 1) - 1]


def _query(qid: str, stat: str, name: str = "Latency", period: int = 3600) -> dict[str, Any]:
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {"Namespace": NS, "MetricName": name},
            "Period": period,
            "Stat": stat,
        },
    }


def _results(cloudwatch: Any, queries: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    response = cloudwatch.get_metric_data(
        MetricDataQueries=queries, StartTime=START, EndTime=NOW, **kw
    )
    return {r["Id"]: r for r in response["MetricDataResults"]}


def test_percentiles_match_nearest_rank(cloudwatch: Any, control: LocalAwsControl) -> None:
    values = [float((i * 37) % 101) for i in range(1, 301)]
    at = NOW - datetime.timedelta(minutes=30)
    for chunk in range(0, len(values), 100):
        cloudwatch.put_metric_data(
            Namespace=NS,
            MetricData=[
                {"MetricName": "Latency", "Value": v, "Timestamp": at}
                for v in values[chunk : chunk + 100]
            ],
        )
    stats = ["p50", "p90", "p99", "p99.9", "p0", "p100"]

    results = _results(
        cloudwatch, [_query(f"q{i}", s) for i, s in enumerate(stats)] + [_query("sum", "Sum")]
    )

    for i, stat in enumerate(stats):
        result = results[f"q{i}"]
        assert result["Values"] == [nearest_rank(values, float(stat[1:]))], stat
        assert result["StatusCode"] == "Complete"
        assert result["Label"] == f"Latency {stat}"
        assert result["Timestamps"] == [START]
    assert results["sum"]["Values"] == [sum(values)]  # still moto's
    assert list(results) == [f"q{i}" for i in range(len(stats))] + ["sum"]
    assert [c["operation"] for c in control.calls("GetMetricData")] == ["GetMetricData"]


def test_values_with_counts_and_periods_newest_first(cloudwatch: Any) -> None:
    early, late = NOW - datetime.timedelta(minutes=50), NOW - datetime.timedelta(minutes=5)
    cloudwatch.put_metric_data(
        Namespace=NS,
        MetricData=[
            {
                "MetricName": "Latency",
                "Values": [10, 20, 30],
                "Counts": [1, 1, 8],
                "Timestamp": early,
            },
            {"MetricName": "Latency", "Values": [1, 2], "Counts": [9, 1], "Timestamp": late},
        ],
    )

    desc = _results(cloudwatch, [_query("p", "p50", period=1200)])["p"]
    asc = _results(cloudwatch, [_query("p", "p50", period=1200)], ScanBy="TimestampAscending")["p"]

    assert desc["Values"] == [1.0, 30.0]
    assert desc["Timestamps"][0] > desc["Timestamps"][1]
    assert asc["Values"] == [30.0, 1.0]


def test_statistic_sets_and_negative_values(cloudwatch: Any) -> None:
    at = NOW - datetime.timedelta(minutes=10)
    cloudwatch.put_metric_data(
        Namespace=NS,
        MetricData=[
            # Min == Max and Sum == Min * SampleCount: usable as 4 samples of 7.
            {
                "MetricName": "Uniform",
                "Timestamp": at,
                "StatisticValues": {"SampleCount": 4, "Sum": 28, "Minimum": 7, "Maximum": 7},
            },
            {"MetricName": "Uniform", "Timestamp": at, "Value": 1},
            # A real distribution summarised away: no percentile.
            {
                "MetricName": "Spread",
                "Timestamp": at,
                "StatisticValues": {"SampleCount": 3, "Sum": 6, "Minimum": 1, "Maximum": 3},
            },
            {"MetricName": "Negative", "Timestamp": at, "Value": -1},
            {"MetricName": "Negative", "Timestamp": at, "Value": 5},
        ],
    )

    results = _results(
        cloudwatch,
        [
            _query("u", "p50", "Uniform"),
            _query("s", "p50", "Spread"),
            _query("ssum", "Sum", "Spread"),
            _query("n", "p50", "Negative"),
        ],
    )

    assert results["u"]["Values"] == [7.0]
    assert results["s"]["Values"] == [] and results["s"]["Timestamps"] == []
    assert results["ssum"]["Values"] == [6.0]
    assert results["n"]["Values"] == []


def test_dimensions_must_match_exactly(cloudwatch: Any) -> None:
    at = NOW - datetime.timedelta(minutes=10)
    cloudwatch.put_metric_data(
        Namespace=NS,
        MetricData=[
            {
                "MetricName": "Latency",
                "Timestamp": at,
                "Value": 100,
                "Dimensions": [{"Name": "ApiKey", "Value": "a"}],
            },
            {
                "MetricName": "Latency",
                "Timestamp": at,
                "Value": 1,
                "Dimensions": [{"Name": "ApiKey", "Value": "b"}],
            },
        ],
    )
    query = _query("a", "p99")
    query["MetricStat"]["Metric"]["Dimensions"] = [{"Name": "ApiKey", "Value": "a"}]
    assert _results(cloudwatch, [query])["a"]["Values"] == [100.0]


def test_five_hundred_queries_work_and_501_fail(cloudwatch: Any) -> None:
    cloudwatch.put_metric_data(
        Namespace=NS,
        MetricData=[
            {"MetricName": "Latency", "Value": 3, "Timestamp": NOW - datetime.timedelta(minutes=1)}
        ],
    )
    queries = [_query(f"q{i}", "p90" if i % 2 else "Average") for i in range(500)]

    results = _results(cloudwatch, queries)
    assert len(results) == 500
    assert all(r["Values"] == [3.0] for r in results.values())

    with pytest.raises(ClientError) as exc:
        _results(cloudwatch, [*queries, _query("q500", "p50")])
    assert exc.value.response["Error"]["Code"] == "ValidationError"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_get_metric_statistics_extended(cloudwatch: Any) -> None:
    at = NOW - datetime.timedelta(minutes=10)
    values = [float(v) for v in range(1, 51)]
    cloudwatch.put_metric_data(
        Namespace=NS,
        MetricData=[
            {"MetricName": "Latency", "Value": v, "Timestamp": at, "Unit": "Milliseconds"}
            for v in values
        ],
    )

    response = cloudwatch.get_metric_statistics(
        Namespace=NS,
        MetricName="Latency",
        StartTime=START,
        EndTime=NOW,
        Period=3600,
        ExtendedStatistics=["p50", "p99"],
    )

    (point,) = response["Datapoints"]
    assert point["ExtendedStatistics"] == {
        "p50": nearest_rank(values, 50),
        "p99": nearest_rank(values, 99),
    }
    assert point["Unit"] == "Milliseconds"
    with pytest.raises(ClientError) as exc:
        cloudwatch.get_metric_statistics(
            Namespace=NS,
            MetricName="Latency",
            StartTime=START,
            EndTime=NOW,
            Period=3600,
            Statistics=["Sum"],
            ExtendedStatistics=["p50"],
        )
    assert exc.value.response["Error"]["Code"] == "InvalidParameterCombination"


def test_faults_apply_to_percentile_queries(cloudwatch: Any, control: LocalAwsControl) -> None:
    control.add_fault("GetMetricData", status=503, code="ServiceUnavailable")
    with pytest.raises(ClientError) as exc:
        _results(cloudwatch, [_query("p", "p99")])
    assert exc.value.response["Error"]["Code"] == "ServiceUnavailable"
