"""CloudWatch GetMetricData (every statistic) and percentile statistics, from our own index.

Moto 5.2.5 answers GetMetricData with ``Stat: "p99"`` (and GetMetricStatistics with
``ExtendedStatistics``) with an HTML 500: its statistics helper returns None for anything
but Sum/Average/SampleCount/Minimum/Maximum. Its GetMetricData is also slow: for every
query and every period it rescans every stored datapoint, and it stores each observation
of a ``Values`` + ``Counts`` datum separately. So this layer answers GetMetricData itself
(all five basic statistics and percentiles) from an index of what moto stored, and only
hands moto the requests it cannot serve (metric math ``Expression`` queries, statistics
other than the basic five and pNN, malformed queries, StartTime >= EndTime): for those
moto answers the non-percentile queries as before and the percentiles come from here.

The index (``_RegionIndex``), per region and per metric (namespace, metric name, sorted
dimensions): a time-sorted list of entries - a single value with how many times it was
observed (consecutive identical observations, which is how moto expands ``Values`` +
``Counts``, are merged into one entry), or one ``StatisticValues`` set. It is derived from
moto's own list of datapoints and catches up with it (only the new datapoints) at every
read; a list moto replaced (reset, ``--state`` load) is re-indexed from scratch, so the
index is never persisted or out of date. Each query slices its [StartTime, EndTime) range
with bisect and buckets it in one pass.

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

Semantics (CloudWatch User Guide, "CloudWatch concepts - Metrics", "Statistics
definitions" and "Percentiles"; API Reference, GetMetricStatistics ``ExtendedStatistics``):

* A query matches the datapoints of its namespace, metric name and exactly its dimension
  set (each dimension combination is its own metric in CloudWatch), and of its ``Unit``
  when it names one. (Moto's own GetMetricData summed every dimension combination for a
  query without dimensions and ignored the namespace for one with dimensions.)
* Sum, SampleCount, Minimum, Maximum and Average (Sum / SampleCount) combine single values
  and statistic sets, as moto does.
* ``pNN.NN``: any percentile from p0 to p100 with up to two decimals.
* "Percentile statistics are not available for metrics when any of the metric values are
  negative numbers": such a period yields no datapoint.
* Values published as a statistic set (``StatisticValues``) carry no distribution; AWS can
  give percentiles for them only when ``Minimum == Maximum`` and ``Sum == Minimum *
  SampleCount`` (which includes SampleCount 1 with Min = Max = Sum). Such a set counts as
  SampleCount copies of its value; any other set makes the period's percentile
  unavailable (no datapoint), rather than invented.
* ``Values`` + ``Counts`` count each value Counts[i] times.

Percentile method: **nearest rank** over the count-weighted distribution - sort the n
observations, take the one at rank ``ceil(p / 100 * n)`` (at least 1). AWS documents only
that its percentiles are estimates; nearest rank always returns an observed value, like AWS
does for small samples, and is easy to compute independently in tests.

GetMetricData takes at most 500 MetricDataQuery structures (API Reference, GetMetricData:
"A GetMetricData call can include as many as 500 MetricDataQuery structures"); more is a
400 ``ValidationError`` (the code AWS uses for its input-size validation messages).
"""

from __future__ import annotations

import bisect
import datetime
import json
import math
import re
import threading
from collections.abc import Iterable, Sequence
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
BASIC_STATISTICS = frozenset({"Sum", "Average", "SampleCount", "Minimum", "Maximum"})
_PERCENTILE = re.compile(r"^p(\d{1,3}(?:\.\d{1,2})?)$")
_EPOCH = datetime.datetime(1970, 1, 1)
_MICROSECOND = datetime.timedelta(microseconds=1)

DimensionsKey = tuple[tuple[str, str | None], ...]
MetricKey = tuple[str | None, str | None, DimensionsKey]


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


def weighted_nearest_rank(distribution: Sequence[tuple[float, int]], percent: float) -> float:
    """Nearest-rank percentile of a non-empty, value-sorted ``(value, count)`` list: the
    same answer as ``nearest_rank`` over each value repeated count times."""
    total = sum(count for _, count in distribution)
    rank = min(max(1, math.ceil(percent / 100.0 * total)), total)
    seen = 0
    for value, count in distribution:
        seen += count
        if seen >= rank:
            return value
    return distribution[-1][0]


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


def _micros(moment: datetime.datetime) -> int:
    """Microseconds since the epoch (UTC), exact."""
    return (_naive_utc(moment) - _EPOCH) // _MICROSECOND


def _from_micros(micros: int) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(microseconds=micros)


def _dimensions_key(dimensions: Iterable[dict[str, Any]] | None) -> DimensionsKey:
    return tuple(sorted((str(d["Name"]), d.get("Value")) for d in dimensions or ()))


def _metric_key(metric: dict[str, Any]) -> MetricKey:
    return (
        metric.get("Namespace"),
        metric.get("MetricName"),
        _dimensions_key(metric.get("Dimensions")),
    )


# -- the index ------------------------------------------------------------------------------


class _StatisticSet:
    """One ``StatisticValues`` datum."""

    __slots__ = ("maximum", "minimum", "sample_count", "total")

    def __init__(self, datum: MetricAggregatedDatum) -> None:
        self.sample_count = float(datum.sample_count)
        self.total = float(datum.sum)
        self.minimum = float(datum.min)
        self.maximum = float(datum.max)


class _Entry:
    """A value observed ``count`` times at one moment, or one statistic set."""

    __slots__ = ("count", "statistics", "unit", "value")

    def __init__(
        self, value: float, count: int, unit: str | None, statistics: _StatisticSet | None
    ) -> None:
        self.value = value
        self.count = count
        self.unit = unit
        self.statistics = statistics


class _Series:
    """One metric's entries, sorted by time (microseconds since the epoch); entries at
    the same moment keep the order they were stored in."""

    __slots__ = ("entries", "times")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.entries: list[_Entry] = []

    def add(self, micros: int, entry: _Entry) -> None:
        times = self.times
        position = len(times)
        if position and micros < times[-1]:
            position = bisect.bisect_right(times, micros)
        if position and times[position - 1] == micros and entry.statistics is None:
            previous = self.entries[position - 1]
            if (
                previous.statistics is None
                and previous.value == entry.value
                and previous.unit == entry.unit
            ):
                previous.count += entry.count
                return
        times.insert(position, micros)
        self.entries.insert(position, entry)

    def between(
        self, start: int, end: int, unit: str | None
    ) -> tuple[Sequence[int], Sequence[_Entry]]:
        """(times, entries) in [start, end), of ``unit`` when one is given."""
        low = bisect.bisect_left(self.times, start)
        high = bisect.bisect_left(self.times, end, low)
        times, entries = self.times[low:high], self.entries[low:high]
        if unit:
            kept = [i for i, e in enumerate(entries) if e.unit == unit]
            if len(kept) != len(entries):
                times = [times[i] for i in kept]
                entries = [entries[i] for i in kept]
        return times, entries


class _RegionIndex:
    """The series of one region's stored datapoints, caught up with moto's list."""

    def __init__(self) -> None:
        self.source: list[MetricDatumBase] | None = None
        self.seen = 0
        self.series: dict[MetricKey, _Series] = {}

    def sync(self, data: list[MetricDatumBase]) -> None:
        """Index what was appended to ``data`` since the last sync (all of it when moto
        replaced its list: a reset or a ``--state`` load)."""
        if data is not self.source or len(data) < self.seen:
            self.source, self.seen, self.series = data, 0, {}
        end = len(data)
        if end > self.seen:
            self.add(data[self.seen : end])
            self.seen = end

    def add(self, data: Iterable[MetricDatumBase]) -> None:
        last_time: Any = None
        last_micros = 0
        keys: dict[tuple[Any, ...], MetricKey] = {}
        for datum in data:
            if datum.timestamp is not last_time:  # an expanded Values datum shares one
                last_time, last_micros = datum.timestamp, _micros(datum.timestamp)
            dimensions = tuple((d.name or "", d.value) for d in datum.dimensions)
            raw = (datum.namespace, datum.name, dimensions)
            key = keys.get(raw)
            if key is None:
                key = keys[raw] = (datum.namespace, datum.name, tuple(sorted(dimensions)))
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = _Series()
            if isinstance(datum, MetricAggregatedDatum):
                entry = _Entry(float(datum.min), 1, datum.unit, _StatisticSet(datum))
            elif isinstance(datum, MetricDatum):
                entry = _Entry(float(datum.value), 1, datum.unit, None)
            else:
                continue
            series.add(last_micros, entry)

    def get(self, key: MetricKey) -> _Series | None:
        return self.series.get(key)


_indexes: dict[str, _RegionIndex] = {}
# Held while an index catches up and while a request reads it (reads are short).
_index_lock = threading.Lock()


def _synced_indexes(region: str) -> list[_RegionIndex]:
    """The region's index caught up with moto, plus one of the metrics moto computes on
    the fly (``aws_metric_data``, e.g. S3 bucket sizes) when there are any. Call with
    ``_index_lock`` held."""
    backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID][region]
    index = _indexes.get(region)
    if index is None:
        index = _indexes[region] = _RegionIndex()
    index.sync(backend.metric_data)
    indexes = [index]
    computed = backend.aws_metric_data
    if computed:
        extra = _RegionIndex()
        extra.add(computed)
        indexes.append(extra)
    return indexes


def refresh(region: str) -> None:
    """Catch the region's index up with moto now (e.g. right after PutMetricData)."""
    with _index_lock:
        _synced_indexes(region)


# -- statistics over one period ---------------------------------------------------------------


class _Bucket:
    """The entries of one period, and what is derived from them (computed once)."""

    __slots__ = ("_distribution", "_done", "entries", "last_unit")

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self.last_unit: str | None = None
        self._distribution: list[tuple[float, int]] | None = None
        self._done = False

    def basic(self, stat: str) -> float | None:
        """Sum, Average, SampleCount, Minimum or Maximum, computed as moto does (single
        values first, then statistic sets)."""
        count = 0
        total = 0.0
        set_count = 0.0
        set_total = 0.0
        lowest = math.inf
        highest = -math.inf
        for entry in self.entries:
            sets = entry.statistics
            if sets is None:
                count += entry.count
                total += entry.value if entry.count == 1 else entry.value * entry.count
                lowest = min(lowest, entry.value)
                highest = max(highest, entry.value)
            else:
                set_count += sets.sample_count
                set_total += sets.total
                lowest = min(lowest, sets.minimum)
                highest = max(highest, sets.maximum)
        if stat == "Sum":
            return total + set_total
        if stat == "SampleCount":
            return float(count + set_count)
        if stat == "Minimum":
            return lowest
        if stat == "Maximum":
            return highest
        samples = count + set_count
        return (total + set_total) / samples if samples else None

    def distribution(self) -> list[tuple[float, int]] | None:
        """Sorted (value, count) of the period's observations, or None when a percentile
        is unavailable (negative values, a non-uniform statistic set, nothing)."""
        if self._done:
            return self._distribution
        self._done = True
        weights: dict[float, int] = {}
        for entry in self.entries:
            sets = entry.statistics
            if sets is None:
                value, count = entry.value, entry.count
            else:
                uniform = sets.minimum == sets.maximum and math.isclose(
                    sets.total, sets.minimum * sets.sample_count
                )
                if not uniform or not sets.sample_count.is_integer():
                    return None
                value, count = sets.minimum, int(sets.sample_count)
                if not count:
                    continue
            if value < 0:
                return None
            weights[value] = weights.get(value, 0) + count
        if weights:
            self._distribution = sorted(weights.items())
        return self._distribution

    def statistic(self, stat: str) -> float | None:
        if stat in BASIC_STATISTICS:
            return self.basic(stat)
        percent = percentile_of(stat)
        if percent is None:
            return None
        distribution = self.distribution()
        return None if distribution is None else weighted_nearest_rank(distribution, percent)


def _buckets(
    indexes: Sequence[_RegionIndex],
    key: MetricKey,
    unit: str | None,
    origin: int,
    start: int,
    end: int,
    period: int,
) -> dict[int, _Bucket]:
    """Period number -> bucket of the metric's entries in [start, end); period ``k``
    covers [origin + k * period, origin + (k + 1) * period). All times in microseconds."""
    buckets: dict[int, _Bucket] = {}
    for index in indexes:
        series = index.get(key)
        if series is None:
            continue
        times, entries = series.between(start, end, unit)
        for moment, entry in zip(times, entries, strict=True):
            number = (moment - origin) // period
            bucket = buckets.get(number)
            if bucket is None:
                bucket = buckets[number] = _Bucket()
            bucket.entries.append(entry)
            bucket.last_unit = entry.unit
    return buckets


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
    start = _parse_time(request["StartTime"]).replace(microsecond=0)
    end = _parse_time(request["EndTime"]).replace(microsecond=0)
    return start, end


def _results(
    region: str,
    request: dict[str, Any],
    queries: Sequence[dict[str, Any]],
    start: datetime.datetime,
    end: datetime.datetime,
) -> dict[str, dict[str, Any]]:
    """MetricDataResult JSON (by query Id) for ``queries`` whose ReturnData is not false."""
    newest_first = request.get("ScanBy", "TimestampDescending") != "TimestampAscending"
    origin, finish = _micros(start), _micros(end)
    origin_seconds = int(_epoch(start))
    results: dict[str, dict[str, Any]] = {}
    with _index_lock:
        indexes = _synced_indexes(region)
        # Queries of one metric, unit and period (p50, p90, Average ...) share buckets.
        cache: dict[tuple[MetricKey, str | None, int], dict[int, _Bucket]] = {}
        for query in queries:
            if query.get("ReturnData") is False:
                continue
            metric_stat = query["MetricStat"]
            stat = str(metric_stat["Stat"])
            period = int(metric_stat["Period"])
            unit = metric_stat.get("Unit") or None
            key = _metric_key(metric_stat["Metric"])
            buckets = cache.get((key, unit, period))
            if buckets is None:
                buckets = _buckets(indexes, key, unit, origin, origin, finish, period * 1_000_000)
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


def metric_data(region: str, request: dict[str, Any]) -> dict[str, Any] | None:
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
    ours = _results(region, request, queries, start, end)
    return {"MetricDataResults": [ours[q["Id"]] for q in queries if q["Id"] in ours]}


def percentile_results(
    region: str, request: dict[str, Any], queries: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """MetricDataResult JSON (by query Id) for percentile ``queries`` whose ReturnData
    is not false (the rest of such a request is moto's)."""
    start, end = _time_range(request)
    if start >= end:
        raise ApiError(400, "ValidationError", "The parameter StartTime must be less than EndTime.")
    return _results(region, request, queries, start, end)


def merge_results(
    request: dict[str, Any],
    moto_results: list[dict[str, Any]],
    ours: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """All results in the order the queries were asked."""
    by_id = {r["Id"]: r for r in moto_results} | ours
    return [by_id[q["Id"]] for q in request.get("MetricDataQueries") or [] if q["Id"] in by_id]


# -- GetMetricStatistics ExtendedStatistics -------------------------------------------------------


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
    start, end = _time_range(request)
    if start >= end:
        raise ApiError(
            400,
            "InvalidParameterValue",
            "The parameter StartTime must be less than the parameter EndTime.",
        )
    key = (
        request.get("Namespace"),
        request.get("MetricName"),
        _dimensions_key(request.get("Dimensions")),
    )
    unit = request.get("Unit") or None
    period = int(request["Period"]) * 1_000_000
    low, high = _micros(start), _micros(end)
    datapoints: list[dict[str, Any]] = []
    with _index_lock:
        indexes = _synced_indexes(region)
        first = min(
            (
                times[0]
                for index in indexes
                if (series := index.get(key)) is not None
                for times in (series.between(low, high, unit)[0],)
                if times
            ),
            default=None,
        )
        if first is None:
            return {"Label": request.get("MetricName"), "Datapoints": []}
        buckets = _buckets(indexes, key, unit, first, low, high, period)
        for number in sorted(buckets):
            bucket = buckets[number]
            distribution = bucket.distribution()
            if distribution is None:
                continue
            datapoints.append(
                {
                    "Timestamp": _epoch(_from_micros(first + number * period)),
                    "Unit": bucket.last_unit or "None",
                    "ExtendedStatistics": {
                        name: weighted_nearest_rank(distribution, p) for name, p in percents.items()
                    },
                }
            )
    return {"Label": request.get("MetricName"), "Datapoints": datapoints}
