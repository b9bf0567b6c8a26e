"""CloudWatch GetMetricData (every statistic) from our own index; GetMetricStatistics is
``localaws.metric_statistics``, from the same index.

Moto 5.2.5 answers GetMetricData with ``Stat: "p99"`` (and GetMetricStatistics with
``ExtendedStatistics``) with an HTML 500: its statistics helper returns None for anything
but Sum/Average/SampleCount/Minimum/Maximum. Its GetMetricData is also slow: for every
query and every period it rescans every stored datapoint, and it stores each observation
of a ``Values`` + ``Counts`` datum separately. So this layer answers GetMetricData itself
(all five basic statistics and percentiles) from an index of what moto stored, and only
hands moto the requests it cannot serve (metric math ``Expression`` queries, statistics
other than the basic five and pNN, malformed queries, StartTime >= EndTime): for those
moto answers the non-percentile queries as before and the percentiles come from here.

This module turns requests into answers; the pieces live by job in its siblings:
``metric_index`` (the index of moto's datapoints, caught up at every read),
``metric_periods`` (a period's entries and its statistics, with the percentile
availability rules), ``percentiles`` (pNN names and the nearest-rank method),
``metric_time`` (wire and index times) and ``cloudwatch_routes`` (the HTTP handler that
decides what is ours and what is moto's).

Wire format (botocore 1.44 speaks awsJson1.0 to CloudWatch, ``X-Amz-Target:
GraniteServiceVersion20100801.GetMetricData``, see ``wire._rpc_operation``): the request's
``StartTime``/``EndTime`` are epoch seconds; results are ``{"MetricDataResults": [{"Id",
"Label", "Timestamps": [epoch seconds], "Values": [...], "StatusCode": "Complete"}]}`` in
the order the queries were asked (those with ``ReturnData: false`` left out), newest first
unless ``ScanBy`` is ``TimestampAscending`` (API Reference, GetMetricData /
MetricDataResult); no NextToken (everything fits one answer, as with moto). Periods are
bucketed exactly as moto buckets its own statistics (from ``StartTime`` with its
microseconds dropped, in ``Period`` steps; a period without data has no datapoint), and a
query's default label is moto's ``"<MetricName> <Stat>"``.

A query matches the datapoints of its namespace, metric name and exactly its dimension
set (each dimension combination is its own metric in CloudWatch: User Guide, "CloudWatch
concepts - Metrics"), and of its ``Unit`` when it names one. (Moto's own GetMetricData
summed every dimension combination for a query without dimensions and ignored the
namespace for one with dimensions.)

GetMetricData takes at most 500 MetricDataQuery structures (API Reference, GetMetricData:
"A GetMetricData call can include as many as 500 MetricDataQuery structures"); more is a
400 ``ValidationError`` (the code AWS uses for its input-size validation messages).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

from localaws.metric_index import (
    MetricKey,
    index_lock,
    metric_key,
    refresh,
    synced_indexes,
)
from localaws.metric_periods import BASIC_STATISTICS, Bucket, by_period
from localaws.metric_time import epoch, micros, parse_time
from localaws.percentiles import percentile_of
from localaws.strict import ApiError

__all__ = [
    "MAX_METRIC_DATA_QUERIES",
    "merge_results",
    "metric_data",
    "percentile_results",
    "refresh",
    "split_get_metric_data",
]

MAX_METRIC_DATA_QUERIES = 500


# -- GetMetricData ------------------------------------------------------------------------------


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


def _servable(query: Any) -> bool:
    """A well-formed MetricStat query for a statistic this module computes."""
    if not isinstance(query, dict) or "Expression" in query or "Id" not in query:
        return False
    metric_stat = query.get("MetricStat")
    if not isinstance(metric_stat, dict) or not isinstance(metric_stat.get("Metric"), dict):
        return False
    stat = metric_stat.get("Stat")
    if not isinstance(stat, str) or (stat not in BASIC_STATISTICS and percentile_of(stat) is None):
        return False
    try:
        period = int(metric_stat["Period"])
    except (KeyError, TypeError, ValueError):
        return False
    dimensions = metric_stat["Metric"].get("Dimensions") or []
    return period > 0 and all(isinstance(d, dict) and "Name" in d for d in dimensions)


def _time_range(request: dict[str, Any]) -> tuple[datetime.datetime, datetime.datetime]:
    start = parse_time(request["StartTime"]).replace(microsecond=0)
    end = parse_time(request["EndTime"]).replace(microsecond=0)
    return start, end


def _results(
    account: str,
    region: str,
    request: dict[str, Any],
    queries: Sequence[dict[str, Any]],
    start: datetime.datetime,
    end: datetime.datetime,
) -> dict[str, dict[str, Any]]:
    """MetricDataResult JSON (by query Id) for ``queries`` whose ReturnData is not false."""
    newest_first = request.get("ScanBy", "TimestampDescending") != "TimestampAscending"
    origin, finish = micros(start), micros(end)
    origin_seconds = int(epoch(start))
    results: dict[str, dict[str, Any]] = {}
    with index_lock:
        indexes = synced_indexes(account, region)
        # Queries of one metric, unit and period (p50, p90, Average ...) share buckets.
        cache: dict[tuple[MetricKey, str | None, int], dict[int, Bucket]] = {}
        for query in queries:
            if query.get("ReturnData") is False:
                continue
            metric_stat = query["MetricStat"]
            stat = str(metric_stat["Stat"])
            period = int(metric_stat["Period"])
            unit = metric_stat.get("Unit") or None
            key = metric_key(metric_stat["Metric"])
            buckets = cache.get((key, unit, period))
            if buckets is None:
                buckets = by_period(indexes, key, unit, origin, origin, finish, period * 1_000_000)
                cache[(key, unit, period)] = buckets
            timestamps: list[int] = []
            values: list[float] = []
            for number in sorted(buckets, reverse=newest_first):
                value = buckets[number].statistic(stat)
                if value is not None:
                    timestamps.append(origin_seconds + number * period)
                    values.append(value)
            results[query["Id"]] = {
                "Id": query["Id"],
                "Label": query.get("Label") or f"{metric_stat['Metric'].get('MetricName')} {stat}",
                "Timestamps": timestamps,
                "Values": values,
                "StatusCode": "Complete",
            }
    return results


def metric_data(account: str, region: str, request: dict[str, Any]) -> dict[str, Any] | None:
    """The whole GetMetricData answer (``{"MetricDataResults": [...]}``), or None when a
    query needs moto (metric math, another statistic, a malformed query, duplicate Ids) or
    the time range is empty (moto and ``percentile_results`` word those errors)."""
    queries = request.get("MetricDataQueries") or []
    if not isinstance(queries, list) or not all(_servable(q) for q in queries):
        return None
    if len({str(q["Id"]) for q in queries}) != len(queries):
        return None  # duplicate Ids: answered as before
    try:
        start, end = _time_range(request)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    if start >= end:
        return None
    ours = _results(account, region, request, queries, start, end)
    return {"MetricDataResults": [ours[q["Id"]] for q in queries if q["Id"] in ours]}


def percentile_results(
    account: str, region: str, request: dict[str, Any], queries: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """MetricDataResult JSON (by query Id) for percentile ``queries`` whose ReturnData
    is not false (the rest of such a request is moto's)."""
    start, end = _time_range(request)
    if start >= end:
        raise ApiError(400, "ValidationError", "The parameter StartTime must be less than EndTime.")
    return _results(account, region, request, queries, start, end)


def merge_results(
    request: dict[str, Any],
    moto_results: list[dict[str, Any]],
    ours: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """All results in the order the queries were asked."""
    by_id = {r["Id"]: r for r in moto_results} | ours
    return [by_id[q["Id"]] for q in request.get("MetricDataQueries") or [] if q["Id"] in by_id]
