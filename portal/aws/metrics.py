"""API Gateway's CloudWatch metrics (`AWS/ApiGateway`), spoken in Tollgate's terms.

Reading: `api_metrics` fetches every series of a dashboard - per stage Count, 4XXError and
5XXError (Sum) and Latency and IntegrationLatency (p50, p90, p99, Average) - in ONE
GetMetricData call per account and region (CloudWatch answers for one of each; more only past
500 queries, AWS's limit per call, or when AWS pages the answer with NextToken).

Writing: `publish_api_metrics` sends PutMetricData in batches of at most 1,000 datums (AWS's
limit per call) and at most 150 distinct values per datum. Only the local traffic simulator
publishes: in AWS, API Gateway itself publishes these metrics (and PutMetricData refuses
timestamps more than two weeks old; the local server accepts any).

CloudWatch has no per-key metric and counts throttled requests (HTTP 429) inside 4XXError.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, cast

from portal.aws.clients import cloudwatch
from portal.aws.errors import aws_errors
from portal.aws.location import Location, at

NAMESPACE = "AWS/ApiGateway"
MAX_QUERIES_PER_CALL = 500  # GetMetricData
MAX_DATUMS_PER_CALL = 1000  # PutMetricData
MAX_VALUES_PER_DATUM = 150  # PutMetricData Values/Counts
# PutMetricData takes at most 1 MB a request; stay well below it.
MAX_VALUES_PER_CALL = 30_000

# (series key, CloudWatch metric name, statistic, unit)
SERIES: tuple[tuple[str, str, str, str], ...] = (
    ("count", "Count", "Sum", "Count"),
    ("e4xx", "4XXError", "Sum", "Count"),
    ("e5xx", "5XXError", "Sum", "Count"),
    ("lat_p50", "Latency", "p50", "Milliseconds"),
    ("lat_p90", "Latency", "p90", "Milliseconds"),
    ("lat_p99", "Latency", "p99", "Milliseconds"),
    ("lat_avg", "Latency", "Average", "Milliseconds"),
    ("int_p50", "IntegrationLatency", "p50", "Milliseconds"),
    ("int_p90", "IntegrationLatency", "p90", "Milliseconds"),
    ("int_p99", "IntegrationLatency", "p99", "Milliseconds"),
    ("int_avg", "IntegrationLatency", "Average", "Milliseconds"),
)
SERIES_KEYS = tuple(key for key, *_ in SERIES)


@dataclass(frozen=True, order=True)
class StageDims:
    """One API stage as CloudWatch names it: the `ApiName` and `Stage` dimensions, in its
    account (`place`: which one, "" the process's own) and region, where its metrics are.

    `location` says how to reach that account (None: the current location's credentials);
    `where` names the place on pages. Neither is part of the stage's identity.
    """

    region: str
    api_name: str
    stage_name: str
    place: str = ""
    location: Location | None = field(default=None, compare=False)
    where: str = field(default="", compare=False)

    @property
    def dimensions(self) -> list[dict[str, str]]:
        return [
            {"Name": "ApiName", "Value": self.api_name},
            {"Name": "Stage", "Value": self.stage_name},
        ]

    @property
    def label(self) -> str:
        return f"{self.api_name} / {self.stage_name}"


@dataclass
class MetricSeries:
    """One statistic of one metric of one stage, oldest first."""

    stage: StageDims
    key: str  # one of SERIES_KEYS
    metric: str
    stat: str
    unit: str
    timestamps: list[datetime.datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def by_time(self) -> dict[datetime.datetime, float]:
        return dict(zip(self.timestamps, self.values, strict=True))


@dataclass
class ApiMetrics:
    """Every series of a dashboard, and what it cost."""

    start: datetime.datetime
    end: datetime.datetime
    period: int
    series: dict[tuple[StageDims, str], MetricSeries]
    calls: int

    def get(self, stage: StageDims, key: str) -> MetricSeries:
        return self.series[(stage, key)]


def _queries(
    stages: Sequence[StageDims], period: int
) -> list[tuple[str, MetricSeries, dict[str, Any]]]:
    queries = []
    for index, stage in enumerate(stages):
        for key, metric, stat, unit in SERIES:
            query_id = f"s{index}_{key}"
            series = MetricSeries(stage=stage, key=key, metric=metric, stat=stat, unit=unit)
            query = {
                "Id": query_id,
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": metric,
                        "Dimensions": stage.dimensions,
                    },
                    "Period": period,
                    "Stat": stat,
                },
                "ReturnData": True,
            }
            queries.append((query_id, series, query))
    return queries


def _utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def api_metrics(
    stages: Sequence[StageDims],
    start: datetime.datetime,
    end: datetime.datetime,
    period: int,
) -> ApiMetrics:
    """Every dashboard series of `stages` from `start` to `end` in `period`-second buckets.

    One GetMetricData call per account and region for up to 500 queries (11 per stage),
    following NextToken; each stage's in its own place (`StageDims.location`).
    Raises TransientSyncError / PermanentSyncError (portal.aws.errors) when AWS fails.
    """
    # GetMetricData answers for one account and region: one batch per place.
    by_place: dict[tuple[str, str], list[StageDims]] = {}
    for stage in sorted(set(stages)):
        by_place.setdefault((stage.place, stage.region), []).append(stage)
    found: dict[tuple[StageDims, str], MetricSeries] = {}
    calls = 0
    for (_, region), place_stages in by_place.items():
        location = place_stages[0].location
        queries = _queries(place_stages, period)
        for first in range(0, len(queries), MAX_QUERIES_PER_CALL):
            chunk = queries[first : first + MAX_QUERIES_PER_CALL]
            by_id = {query_id: series for query_id, series, _ in chunk}
            token: str | None = None
            while True:
                params: dict[str, Any] = {
                    "MetricDataQueries": [query for _, _, query in chunk],
                    "StartTime": start,
                    "EndTime": end,
                    "ScanBy": "TimestampAscending",
                }
                if token:
                    params["NextToken"] = token
                with aws_errors(), at(location) if location else nullcontext():
                    page = cloudwatch(region).get_metric_data(**params)
                calls += 1
                for result in page.get("MetricDataResults", []):
                    series = by_id.get(result["Id"])
                    if series is None:
                        continue
                    series.timestamps.extend(_utc(t) for t in result.get("Timestamps", []))
                    series.values.extend(float(v) for v in result.get("Values", []))
                token = page.get("NextToken")
                if not token:
                    break
            for series in by_id.values():
                pairs = sorted(zip(series.timestamps, series.values, strict=True))
                series.timestamps = [t for t, _ in pairs]
                series.values = [v for _, v in pairs]
                found[(series.stage, series.key)] = series
    return ApiMetrics(start=start, end=end, period=period, series=found, calls=calls)


# --- publishing (the local traffic simulator) ------------------------------------------------


@dataclass
class PeriodMetrics:
    """What one stage served in one period, as API Gateway would publish it."""

    start: datetime.datetime
    seconds: int
    count: int
    e4xx: int
    e5xx: int
    latency: dict[float, int]  # value (ms) -> how many times observed
    integration_latency: dict[float, int]


def _distribution(name: str, values: dict[float, int]) -> list[dict[str, Any]]:
    """Values + Counts datums of at most 150 distinct values each."""
    items = sorted((v, c) for v, c in values.items() if c > 0)
    return [
        {
            "MetricName": name,
            "Values": [v for v, _ in items[i : i + MAX_VALUES_PER_DATUM]],
            "Counts": [float(c) for _, c in items[i : i + MAX_VALUES_PER_DATUM]],
            "Unit": "Milliseconds",
        }
        for i in range(0, len(items), MAX_VALUES_PER_DATUM)
    ]


def _datums(stage: StageDims, point: PeriodMetrics) -> list[dict[str, Any]]:
    datums: list[dict[str, Any]] = [
        {"MetricName": "Count", "Value": float(point.count), "Unit": "Count"},
        {"MetricName": "4XXError", "Value": float(point.e4xx), "Unit": "Count"},
        {"MetricName": "5XXError", "Value": float(point.e5xx), "Unit": "Count"},
    ]
    datums += _distribution("Latency", point.latency)
    datums += _distribution("IntegrationLatency", point.integration_latency)
    for datum in datums:
        datum["Dimensions"] = stage.dimensions
        datum["Timestamp"] = point.start
    return datums


def publish_api_metrics(stage: StageDims, points: Iterable[PeriodMetrics]) -> int:
    """PutMetricData for `points` of `stage`; returns the number of calls made."""
    calls = 0
    batch: list[dict[str, Any]] = []
    batch_values = 0

    def flush() -> None:
        nonlocal calls, batch, batch_values
        if batch:
            with aws_errors(), at(stage.location) if stage.location else nullcontext():
                cloudwatch(stage.region).put_metric_data(
                    Namespace=NAMESPACE, MetricData=cast(Any, batch)
                )
            calls += 1
        batch, batch_values = [], 0

    for point in points:
        for datum in _datums(stage, point):
            size = len(datum.get("Values", ())) or 1
            if len(batch) >= MAX_DATUMS_PER_CALL or batch_values + size > MAX_VALUES_PER_CALL:
                flush()
            batch.append(datum)
            batch_values += size
    flush()
    return calls
