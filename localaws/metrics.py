"""CloudWatch percentile statistics (``p50``, ``p99``, ``p99.9`` ...), which moto cannot serve.

Moto 5.2.5 answers GetMetricData with ``Stat: "p99"`` (and GetMetricStatistics with
``ExtendedStatistics``) with an HTML 500: its statistics helper returns None for anything
but Sum/Average/SampleCount/Minimum/Maximum. This layer computes percentiles from the
datapoints moto stored for PutMetricData and leaves every other statistic to moto, so Sum,
Average, SampleCount, Minimum and Maximum keep coming from one place.

Wire format (botocore 1.44 speaks awsJson1.0 to CloudWatch, ``X-Amz-Target:
GraniteServiceVersion20100801.GetMetricData``, see ``wire._rpc_operation``): the request's
``StartTime``/``EndTime`` are epoch seconds; results are ``{"MetricDataResults": [{"Id",
"Label", "Timestamps": [epoch seconds], "Values": [...], "StatusCode": "Complete"}]}``,
newest first unless ``ScanBy`` is ``TimestampAscending`` (API Reference, GetMetricData /
MetricDataResult). Periods are bucketed exactly as moto buckets its own statistics (from
``StartTime`` in ``Period`` steps), and a query's default label is moto's
``"<MetricName> <Stat>"``, so percentile and non-percentile series line up.

Semantics (CloudWatch User Guide, "CloudWatch concepts - Percentiles" and "Statistics
definitions"; API Reference, GetMetricStatistics ``ExtendedStatistics``):

* ``pNN.NN``: any percentile from p0 to p100 with up to two decimals.
* "Percentile statistics are not available for metrics when any of the metric values are
  negative numbers": such a period yields no datapoint.
* Values published as a statistic set (``StatisticValues``) carry no distribution; AWS can
  give percentiles for them only when ``Minimum == Maximum`` and ``Sum == Minimum *
  SampleCount`` (which includes SampleCount 1 with Min = Max = Sum). Such a set counts as
  SampleCount copies of its value; any other set makes the period's percentile
  unavailable (no datapoint), rather than invented.
* ``Values`` + ``Counts`` count each value Counts[i] times (moto already expands them).

Percentile method: **nearest rank** - sort the n values, take the one at rank
``ceil(p / 100 * n)`` (at least 1). AWS documents only that its percentiles are estimates;
nearest rank always returns an observed value, like AWS does for small samples, and is
easy to compute independently in tests.

GetMetricData takes at most 500 MetricDataQuery structures (API Reference, GetMetricData:
"A GetMetricData call can include as many as 500 MetricDataQuery structures"); more is a
400 ``ValidationError`` (the code AWS uses for its input-size validation messages).
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from moto.cloudwatch.models import (
    MetricAggregatedDatum,
    MetricDatum,
    MetricDatumBase,
    cloudwatch_backends,
)
from moto.core import DEFAULT_ACCOUNT_ID

from localaws.strict import ApiError

MAX_METRIC_DATA_QUERIES = 500
_PERCENTILE = re.compile(r"^p(\d{1,3}(?:\.\d{1,2})?)$")


def percentile_of(stat: str) -> float | None:
    """``98.5`` for ``"p98.5"``; None for anything that is not a pNN.NN percentile."""
    match = _PERCENTILE.match(stat)
    if not match:
        return None
    value = float(match.group(1))
    return value if 0.0 <= value <= 100.0 else None


def nearest_rank(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of non-empty ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _naive_utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment


def _parse_time(raw: Any) -> datetime.datetime:
    if isinstance(raw, int | float):
        return datetime.datetime.fromtimestamp(raw, datetime.UTC).replace(tzinfo=None)
    return _naive_utc(datetime.datetime.fromisoformat(str(raw).replace("Z", "+00:00")))


def _epoch(moment: datetime.datetime) -> int | float:
    seconds = moment.replace(tzinfo=datetime.UTC).timestamp()
    return int(seconds) if seconds.is_integer() else seconds


def _samples(data: Sequence[MetricDatumBase]) -> list[float] | None:
    """The individual values behind ``data``, or None if a percentile is unavailable."""
    values: list[float] = []
    for datum in data:
        if isinstance(datum, MetricDatum):
            values.append(float(datum.value))
        elif isinstance(datum, MetricAggregatedDatum):
            count = float(datum.sample_count)
            uniform = datum.min == datum.max and math.isclose(datum.sum, datum.min * count)
            if not uniform or not count.is_integer():
                return None
            values.extend([float(datum.min)] * int(count))
    if not values or any(v < 0 for v in values):
        return None
    return values


def _matches(datum: MetricDatumBase, metric: dict[str, Any], unit: str | None) -> bool:
    """Same namespace, name and exactly the same dimension set (each dimension combination
    is its own metric in CloudWatch), and the unit when one is asked for."""
    if datum.namespace != metric.get("Namespace") or datum.name != metric.get("MetricName"):
        return False
    wanted = sorted((d["Name"], d.get("Value")) for d in metric.get("Dimensions") or [])
    have = sorted((d.name, d.value) for d in datum.dimensions)
    return wanted == have and (not unit or datum.unit == unit)


def _all_data(region: str) -> list[MetricDatumBase]:
    data: list[MetricDatumBase] = cloudwatch_backends[DEFAULT_ACCOUNT_ID][region].get_all_metrics()
    return data


def _percentile_series(
    data: Sequence[MetricDatumBase],
    metric_stat: dict[str, Any],
    percent: float,
    start: datetime.datetime,
    end: datetime.datetime,
) -> tuple[list[datetime.datetime], list[float]]:
    """Oldest-first (timestamps, values) of one percentile query, bucketed like moto."""
    period = datetime.timedelta(seconds=int(metric_stat["Period"]))
    unit = metric_stat.get("Unit")
    mine = [
        d
        for d in data
        if _matches(d, metric_stat["Metric"], unit) and start <= _naive_utc(d.timestamp) < end
    ]
    timestamps: list[datetime.datetime] = []
    values: list[float] = []
    bucket = start
    while bucket <= end and mine:
        upper = bucket + period
        samples = _samples([d for d in mine if bucket <= _naive_utc(d.timestamp) < upper])
        if samples is not None:
            timestamps.append(bucket)
            values.append(nearest_rank(samples, percent))
        bucket = upper
    return timestamps, values


def split_get_metric_data(body: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Parse a GetMetricData request; returns it and the queries that need percentiles.

    Raises the 500-query limit as a ValidationError.
    """
    request: dict[str, Any] = json.loads(body or b"{}")
    queries = request.get("MetricDataQueries") or []
    if len(queries) > MAX_METRIC_DATA_QUERIES:
        raise ApiError(
            400,
            "ValidationError",
            f"The collection MetricDataQueries must not have a size greater than "
            f"{MAX_METRIC_DATA_QUERIES}.",
        )
    wanted = [
        q
        for q in queries
        if isinstance(q.get("MetricStat"), dict)
        and percentile_of(str(q["MetricStat"].get("Stat", ""))) is not None
    ]
    return request, wanted


def percentile_results(
    region: str, request: dict[str, Any], queries: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """MetricDataResult JSON (by query Id) for percentile ``queries`` whose ReturnData
    is not false."""
    start = _parse_time(request["StartTime"]).replace(microsecond=0)
    end = _parse_time(request["EndTime"]).replace(microsecond=0)
    if start >= end:
        raise ApiError(400, "ValidationError", "The parameter StartTime must be less than EndTime.")
    newest_first = request.get("ScanBy", "TimestampDescending") != "TimestampAscending"
    data = _all_data(region)
    results: dict[str, dict[str, Any]] = {}
    for query in queries:
        if query.get("ReturnData") is False:
            continue
        metric_stat = query["MetricStat"]
        stat = str(metric_stat["Stat"])
        percent = percentile_of(stat)
        assert percent is not None
        timestamps, values = _percentile_series(data, metric_stat, percent, start, end)
        if newest_first:
            timestamps.reverse()
            values.reverse()
        results[query["Id"]] = {
            "Id": query["Id"],
            "Label": query.get("Label") or f"{metric_stat['Metric'].get('MetricName')} {stat}",
            "Timestamps": [_epoch(t) for t in timestamps],
            "Values": values,
            "StatusCode": "Complete",
        }
    return results


def merge_results(
    request: dict[str, Any],
    moto_results: list[dict[str, Any]],
    ours: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """All results in the order the queries were asked."""
    by_id = {r["Id"]: r for r in moto_results} | ours
    return [by_id[q["Id"]] for q in request.get("MetricDataQueries") or [] if q["Id"] in by_id]


def extended_statistics(region: str, body: bytes) -> dict[str, Any] | None:
    """GetMetricStatistics with ``ExtendedStatistics`` (percentiles only); None when the
    request has no ExtendedStatistics (moto answers it).

    Datapoints are bucketed like moto's own GetMetricStatistics (from the first datapoint
    in ``Period`` steps) and carry ``{"Timestamp", "Unit", "ExtendedStatistics": {...}}``.
    """
    request: dict[str, Any] = json.loads(body or b"{}")
    extended = request.get("ExtendedStatistics")
    if not extended:
        return None
    if request.get("Statistics"):
        raise ApiError(
            400,
            "InvalidParameterCombination",
            "Must specify either Statistics or ExtendedStatistics, but not both.",
        )
    percents: dict[str, float] = {}
    for stat in extended:
        percent = percentile_of(str(stat))
        if percent is None:
            raise ApiError(
                400,
                "InvalidParameterValue",
                f"The value {stat} for parameter ExtendedStatistics is not supported.",
            )
        percents[str(stat)] = percent
    start = _parse_time(request["StartTime"]).replace(microsecond=0)
    end = _parse_time(request["EndTime"]).replace(microsecond=0)
    if start >= end:
        raise ApiError(
            400,
            "InvalidParameterValue",
            "The parameter StartTime must be less than the parameter EndTime.",
        )
    metric = {
        "Namespace": request.get("Namespace"),
        "MetricName": request.get("MetricName"),
        "Dimensions": request.get("Dimensions") or [],
    }
    unit = request.get("Unit")
    mine = sorted(
        (
            d
            for d in _all_data(region)
            if _matches(d, metric, unit) and start <= _naive_utc(d.timestamp) < end
        ),
        key=lambda d: _naive_utc(d.timestamp),
    )
    period = datetime.timedelta(seconds=int(request["Period"]))
    datapoints: list[dict[str, Any]] = []
    if mine:
        bucket = _naive_utc(mine[0].timestamp)
        last = _naive_utc(mine[-1].timestamp)
        while bucket <= last:
            upper = bucket + period
            in_bucket = [d for d in mine if bucket <= _naive_utc(d.timestamp) < upper]
            samples = _samples(in_bucket)
            if samples is not None:
                datapoints.append(
                    {
                        "Timestamp": _epoch(bucket),
                        "Unit": in_bucket[-1].unit or "None",
                        "ExtendedStatistics": {
                            name: nearest_rank(samples, p) for name, p in percents.items()
                        },
                    }
                )
            bucket = upper
    return {"Label": request.get("MetricName"), "Datapoints": datapoints}
