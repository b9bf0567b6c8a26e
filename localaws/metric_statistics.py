"""CloudWatch GetMetricStatistics, every statistic, from our index of moto's datapoints.

Moto's own GetMetricStatistics matches dimensions loosely: a request without dimensions
sums every dimension combination of the metric, and one with dimensions also takes every
combination that merely contains them. CloudWatch does not: "If the metric is created with
multiple dimensions, then the data points for that metric can be retrieved only by
specifying all the configured dimensions" (AWS Knowledge Center, "Why can't I retrieve
datapoints with GetMetricStatistics", the page moto's own test suite cites), because each
dimension combination is its own metric (User Guide, "CloudWatch concepts - Metrics").
GetMetricData (``localaws.metrics``) already matches exactly; this makes the two agree.

The answer is shaped like moto's: datapoints bucketed from the first datapoint in
``Period`` steps (a period without data has none), oldest first, each with the basic
statistics asked for (computed as moto computes them), ``ExtendedStatistics`` (percentiles)
when asked, and the ``Unit`` of the period's last datapoint. Requests moto words the error
for (neither Statistics nor ExtendedStatistics, a missing Period or time) are left to moto.
"""

from __future__ import annotations

import json
from typing import Any

from localaws.metric_index import dimensions_key, index_lock, synced_indexes
from localaws.metric_periods import BASIC_STATISTICS, by_period
from localaws.metric_time import epoch, from_micros, micros, parse_time
from localaws.percentiles import percentile_of, weighted_nearest_rank
from localaws.strict import ApiError

_STATISTICS_SET = "[Average, Sum, SampleCount, Maximum, Minimum]"


def _parse(request: dict[str, Any]) -> tuple[int, int, int] | None:
    """(start, end, period) in microseconds, or None when moto should word the error."""
    try:
        start = parse_time(request["StartTime"]).replace(microsecond=0)
        end = parse_time(request["EndTime"]).replace(microsecond=0)
        period = int(request["Period"])
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    if period <= 0:
        return None
    if start >= end:
        raise ApiError(
            400,
            "InvalidParameterValue",
            "The parameter StartTime must be less than the parameter EndTime.",
        )
    return micros(start), micros(end), period * 1_000_000


def _percents(extended: list[Any]) -> dict[str, float]:
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
    return percents


def metric_statistics(account: str, region: str, body: bytes) -> dict[str, Any] | None:
    """The whole GetMetricStatistics answer (``{"Label", "Datapoints"}``), or None when moto
    should answer (it words the errors of an incomplete request)."""
    request: dict[str, Any] = json.loads(body or b"{}")
    statistics = [str(s) for s in request.get("Statistics") or []]
    extended = list(request.get("ExtendedStatistics") or [])
    if not statistics and not extended:
        return None
    if statistics and extended:
        raise ApiError(
            400,
            "InvalidParameterCombination",
            "Must specify either Statistics or ExtendedStatistics, but not both.",
        )
    for number, stat in enumerate(statistics, start=1):
        if stat not in BASIC_STATISTICS:
            raise ApiError(
                400,
                "InvalidParameterValue",
                f"The parameter Statistics.member.{number} must be a value in the set "
                f"{_STATISTICS_SET}.",
            )
    percents = _percents(extended)
    parsed = _parse(request)
    if parsed is None:
        return None
    low, high, period = parsed
    key = (
        request.get("Namespace"),
        request.get("MetricName"),
        dimensions_key(request.get("Dimensions")),
    )
    unit = request.get("Unit") or None
    label = request.get("MetricName")
    datapoints: list[dict[str, Any]] = []
    with index_lock:
        indexes = synced_indexes(account, region)
        firsts = [
            times[0]
            for index in indexes
            if (series := index.get(key)) is not None
            for times in (series.between(low, high, unit)[0],)
            if times
        ]
        if not firsts:
            return {"Label": label, "Datapoints": []}
        first = min(firsts)
        buckets = by_period(indexes, key, unit, first, low, high, period)
        for number in sorted(buckets):
            bucket = buckets[number]
            point: dict[str, Any] = {"Timestamp": epoch(from_micros(first + number * period))}
            for stat in statistics:
                value = bucket.basic(stat)
                if value is not None:
                    point[stat] = value
            if percents:
                distribution = bucket.distribution()
                if distribution is None:
                    continue  # no percentile for this period (see metric_periods)
                point["ExtendedStatistics"] = {
                    name: weighted_nearest_rank(distribution, p) for name, p in percents.items()
                }
            point["Unit"] = bucket.last_unit or "None"
            datapoints.append(point)
    return {"Label": label, "Datapoints": datapoints}
