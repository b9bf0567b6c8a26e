"""GetMetricData served from localaws' own index: every statistic, exact metric matching,
compact Values + Counts, moto for what the index does not serve, and speed."""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal.models import moto_api_backend

from localaws import metric_index, percentiles
from localaws.testing import LocalAwsControl, start_local_aws
from tests.localaws.conftest import REGION, make_client

pytestmark = pytest.mark.integration

NS = "Tollgate/Index"
DIMS = [{"Name": "ApiName", "Value": "demo"}, {"Name": "Stage", "Value": "prod"}]
NOW = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
START = NOW - datetime.timedelta(hours=1)


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)), 1) - 1]


def _query(
    qid: str,
    stat: str,
    name: str = "Latency",
    period: int = 600,
    dims: list[dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    metric: dict[str, Any] = {"Namespace": NS, "MetricName": name}
    if dims:
        metric["Dimensions"] = dims
    query: dict[str, Any] = {
        "Id": qid,
        "MetricStat": {"Metric": metric, "Period": period, "Stat": stat},
    }
    if "unit" in extra:
        query["MetricStat"]["Unit"] = extra.pop("unit")
    return query | extra


def _results(
    cloudwatch: Any,
    queries: list[dict[str, Any]],
    start: datetime.datetime = START,
    end: datetime.datetime = NOW,
    **kw: Any,
) -> dict[str, Any]:
    response = cloudwatch.get_metric_data(
        MetricDataQueries=queries, StartTime=start, EndTime=end, **kw
    )
    assert "NextToken" not in response
    return {r["Id"]: r for r in response["MetricDataResults"]}


def test_every_statistic_per_period_matches_an_independent_computation(
    cloudwatch: Any,
) -> None:
    def at(minutes: int) -> datetime.datetime:
        return START + datetime.timedelta(minutes=minutes)

    # (minute, value, count) observations and (minute, count, sum, min, max) sets, in
    # three 10-minute periods; published newest first to exercise out-of-order inserts.
    singles = [(45, 2.5, 1), (41, 7.0, 3), (41, 1.25, 2), (5, 4.0, 1), (9, 4.0, 6), (13, 3.0, 1)]
    sets = [(44, 4.0, 20.0, 5.0, 5.0), (12, 2.0, 3.0, 1.0, 2.0)]
    data: list[dict[str, Any]] = []
    for minute, value, times in sorted(singles, reverse=True):
        datum: dict[str, Any] = {"MetricName": "Latency", "Timestamp": at(minute)}
        if times == 1:
            datum["Value"] = value
        else:
            datum |= {"Values": [value], "Counts": [times]}
        data.append(datum | {"Dimensions": DIMS, "Unit": "Milliseconds"})
    for minute, n, set_sum, low, high in sets:
        summary = {"SampleCount": n, "Sum": set_sum, "Minimum": low, "Maximum": high}
        data.append(
            {"MetricName": "Latency", "Timestamp": at(minute), "StatisticValues": summary}
            | {"Dimensions": DIMS, "Unit": "Milliseconds"}
        )
    # Other metrics that must not count: fewer dimensions, another namespace.
    data.append({"MetricName": "Latency", "Timestamp": at(41), "Value": 1000.0})
    cloudwatch.put_metric_data(Namespace=NS, MetricData=data)
    cloudwatch.put_metric_data(
        Namespace="Elsewhere",
        MetricData=[
            {"MetricName": "Latency", "Timestamp": at(41), "Value": 999.0, "Dimensions": DIMS}
        ],
    )

    stats = ["Sum", "Average", "SampleCount", "Minimum", "Maximum", "p50", "p90"]
    queries = [_query(s, s, dims=DIMS) for s in stats]
    queries.append(_query("hidden", "Sum", dims=DIMS, ReturnData=False))
    queries.append(_query("named", "Maximum", dims=DIMS, Label="Slowest"))
    desc = _results(cloudwatch, queries)
    asc = _results(cloudwatch, queries, ScanBy="TimestampAscending")

    assert list(desc) == [*stats, "named"]
    buckets = [0, 10, 40]  # periods (minutes after START) with data
    for stat in stats:
        expected = []
        for bucket in buckets:
            obs = [(v, c) for m, v, c in singles if bucket <= m < bucket + 10]
            bset = [s for s in sets if bucket <= s[0] < bucket + 10]
            count: float = sum(c for _, c in obs)
            count += sum(s[1] for s in bset)
            total = sum(v * c for v, c in obs) + sum(s[2] for s in bset)
            if stat == "Sum":
                expected.append(total)
            elif stat == "Average":
                expected.append(total / count)
            elif stat == "SampleCount":
                expected.append(float(count))
            elif stat == "Minimum":
                expected.append(min([v for v, _ in obs] + [s[3] for s in bset]))
            elif stat == "Maximum":
                expected.append(max([v for v, _ in obs] + [s[4] for s in bset]))
            else:
                # The 10-20 period has a non-uniform set: no percentile there.
                if any(s[3] != s[4] for s in bset):
                    continue
                flat = [v for v, c in obs for _ in range(c)]
                flat += [s[3] for s in bset for _ in range(int(s[1]))]
                expected.append(nearest_rank(flat, float(stat[1:])))
        result = asc[stat]
        assert result["Values"] == pytest.approx(expected), stat
        want = [START + datetime.timedelta(minutes=b) for b in buckets]
        if stat.startswith("p"):
            want = [want[0], want[2]]
        assert result["Timestamps"] == want, stat
        assert desc[stat]["Values"] == result["Values"][::-1]
        assert desc[stat]["Timestamps"] == result["Timestamps"][::-1]
        assert result["Label"] == f"Latency {stat}"
        assert result["StatusCode"] == "Complete"
    assert desc["named"]["Label"] == "Slowest"
    assert desc["named"]["Values"] == desc["Maximum"]["Values"]

    # The dimensionless metric is its own metric, with only its own datapoint.
    only = _results(cloudwatch, [_query("bare", "Sum")])["bare"]
    assert only["Values"] == [1000.0]


def test_unit_filter_and_period_grid_from_start(cloudwatch: Any) -> None:
    at = START + datetime.timedelta(minutes=7, seconds=30)
    cloudwatch.put_metric_data(
        Namespace=NS,
        MetricData=[
            {"MetricName": "Mixed", "Timestamp": at, "Value": 1.0, "Unit": "Count"},
            {"MetricName": "Mixed", "Timestamp": at, "Value": 10.0, "Unit": "Seconds"},
        ],
    )
    start = START + datetime.timedelta(seconds=0.75)  # microseconds are dropped, as moto does

    results = _results(
        cloudwatch,
        [
            _query("all", "Sum", "Mixed", period=300),
            _query("count", "Sum", "Mixed", period=300, unit="Count"),
            _query("none", "Sum", "Mixed", period=300, unit="Bytes"),
        ],
        start=start,
    )

    assert results["all"]["Values"] == [11.0]
    assert results["all"]["Timestamps"] == [START + datetime.timedelta(minutes=5)]
    assert results["count"]["Values"] == [1.0]
    assert results["none"]["Values"] == [] and results["none"]["Timestamps"] == []


def test_values_and_counts_are_indexed_compactly(cloudwatch: Any) -> None:
    at = NOW - datetime.timedelta(minutes=5)
    cloudwatch.put_metric_data(
        Namespace=NS,
        MetricData=[
            {
                "MetricName": "Latency",
                "Values": [1.0, 2.0, 3.0],
                "Counts": [6000.0, 3999.0, 1.0],
                "Timestamp": at,
                "Dimensions": DIMS,
            }
        ],
    )

    results = _results(
        cloudwatch,
        [
            _query("n", "SampleCount", dims=DIMS, period=3600),
            _query("s", "Sum", dims=DIMS, period=3600),
            _query("p60", "p60", dims=DIMS, period=3600),
            _query("p61", "p60.01", dims=DIMS, period=3600),
            _query("top", "p99.99", dims=DIMS, period=3600),
            _query("max", "p100", dims=DIMS, period=3600),
        ],
    )

    assert results["n"]["Values"] == [10000.0]
    assert results["s"]["Values"] == [6000.0 + 2 * 3999.0 + 3.0]
    assert results["p60"]["Values"] == [1.0]  # rank 6000
    assert results["p61"]["Values"] == [2.0]  # rank 6001
    assert results["top"]["Values"] == [2.0]  # rank 9999
    assert results["max"]["Values"] == [3.0]
    series = metric_index._indexes[(DEFAULT_ACCOUNT_ID, REGION)].get(
        (NS, "Latency", metric_index.dimensions_key(DIMS))
    )
    assert series is not None
    assert [(e.value, e.count) for e in series.entries] == [(1.0, 6000), (2.0, 3999), (3.0, 1)]


def test_weighted_nearest_rank_equals_nearest_rank() -> None:
    distribution = [(0.5, 3), (2.0, 1), (7.0, 5), (9.0, 2)]
    flat = [v for v, c in distribution for _ in range(c)]
    for p in (0, 1, 10, 25, 27.27, 50, 75, 90, 99, 99.9, 100):
        assert percentiles.weighted_nearest_rank(distribution, p) == nearest_rank(flat, p), p


def test_metric_math_is_left_to_moto(cloudwatch: Any) -> None:
    at = NOW - datetime.timedelta(minutes=5)
    cloudwatch.put_metric_data(
        Namespace=NS,
        MetricData=[{"MetricName": "Latency", "Value": v, "Timestamp": at} for v in (1, 2, 3)],
    )

    results = _results(
        cloudwatch,
        [
            _query("m1", "Sum", period=3600),
            {"Id": "same", "Expression": "m1"},  # all moto's expression parser can do
            _query("p", "p50", period=3600),
        ],
    )

    assert results["m1"]["Values"] == [6.0]
    assert results["same"]["Values"] == [6.0]
    assert results["p"]["Values"] == [2.0]
    assert list(results) == ["m1", "same", "p"]


def test_empty_time_range_errors_as_before(cloudwatch: Any) -> None:
    for stat in ("Sum", "p50"):
        with pytest.raises(ClientError) as exc:
            _results(cloudwatch, [_query("q", stat)], start=NOW, end=NOW)
        assert exc.value.response["Error"]["Code"] == "ValidationError", stat


def test_index_follows_reset_and_state_restore(
    tmp_path: Path, cloudwatch: Any, control: LocalAwsControl
) -> None:
    state = tmp_path / "state.pickle"
    at = NOW - datetime.timedelta(minutes=5)
    server = start_local_aws(state_file=state)
    try:
        first = make_client(server.endpoint_url, "cloudwatch")
        first.put_metric_data(
            Namespace=NS,
            MetricData=[
                {
                    "MetricName": "Latency",
                    "Values": [4.0, 8.0],
                    "Counts": [3.0, 1.0],
                    "Timestamp": at,
                    "Dimensions": DIMS,
                }
            ],
        )
        queries = [_query("s", "Sum", dims=DIMS), _query("p", "p75", dims=DIMS)]
        before = _results(first, queries)
        assert before["s"]["Values"] == [20.0] and before["p"]["Values"] == [4.0]
    finally:
        server.stop()
    moto_api_backend.reset()  # what a process restart does to moto's memory
    # The session's server shares moto's memory: the reset emptied the index too.
    assert _results(cloudwatch, queries)["s"]["Values"] == []

    server = start_local_aws(state_file=state)
    try:
        second = make_client(server.endpoint_url, "cloudwatch")
        assert _results(second, queries) == before
        # Later datapoints are indexed on top of the restored ones.
        second.put_metric_data(
            Namespace=NS,
            MetricData=[
                {"MetricName": "Latency", "Value": 8.0, "Timestamp": at, "Dimensions": DIMS}
            ],
        )
        after = _results(second, queries)
        assert after["s"]["Values"] == [28.0] and after["p"]["Values"] == [8.0]
    finally:
        server.stop()


def test_thirty_days_hourly_in_one_call(cloudwatch: Any, control: LocalAwsControl) -> None:
    """The ops page's 30-day view: 11 queries at 1-hour period over ~30k stored datapoints
    (moto's own GetMetricData took seconds for this)."""
    first = NOW - datetime.timedelta(days=30)
    data: list[dict[str, Any]] = []
    for hour in range(720):
        at = first + datetime.timedelta(hours=hour)
        for name in ("Count", "4XXError", "5XXError"):
            data.append({"MetricName": name, "Value": float(hour % 7), "Timestamp": at})
        for name in ("Latency", "IntegrationLatency"):
            data.append(
                {
                    "MetricName": name,
                    "Values": [float(hour % 50 + v) for v in range(10)],
                    "Counts": [2.0] * 10,
                    "Timestamp": at,
                }
            )
    for chunk in range(0, len(data), 500):
        cloudwatch.put_metric_data(
            Namespace=NS, MetricData=[d | {"Dimensions": DIMS} for d in data[chunk : chunk + 500]]
        )
    queries = [
        _query(f"q{i}", stat, name, period=3600, dims=DIMS)
        for i, (name, stat) in enumerate(
            [("Count", "Sum"), ("4XXError", "Sum"), ("5XXError", "Sum")]
            + [(n, s) for n in ("Latency", "IntegrationLatency") for s in ("p50", "p90", "p99")]
            + [("Latency", "Average"), ("IntegrationLatency", "Average")]
        )
    ]
    control.clear_calls()

    results = _results(cloudwatch, queries, start=first, end=NOW)

    assert all(len(r["Values"]) == 720 for r in results.values())
    assert results["q3"]["Values"][0] == float(719 % 50 + 4)  # p50 of the newest hour
    # How long it takes is bench/metrics_calls.py's to measure, not a test's to time.
    assert len(control.calls("GetMetricData")) == 1
