"""Our index of the CloudWatch datapoints moto stored, so GetMetricData need not rescan them.

Moto's GetMetricData rescans every stored datapoint for every query and every period, and
it stores each observation of a ``Values`` + ``Counts`` datum separately; this index is what
lets ``localaws.metrics`` answer instead.

The index (``RegionIndex``), per account and region and per metric (namespace, metric name, sorted
dimensions): a time-sorted list of entries - a single value with how many times it was
observed (consecutive identical observations, which is how moto expands ``Values`` +
``Counts``, are merged into one entry), or one ``StatisticValues`` set. It is derived from
moto's own list of datapoints and catches up with it (only the new datapoints) at every
read; a list moto replaced (reset, ``--state`` load) is re-indexed from scratch, so the
index is never persisted or out of date. Each query slices its [StartTime, EndTime) range
with bisect (``Series.between``) and buckets it in one pass (``localaws.metric_periods``).

A metric's key is its exact dimension set: each dimension combination is its own metric in
CloudWatch (User Guide, "CloudWatch concepts - Metrics").
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from moto.cloudwatch.models import (
    MetricAggregatedDatum,
    MetricDatum,
    MetricDatumBase,
    cloudwatch_backends,
)

from localaws.metric_time import micros

DimensionsKey = tuple[tuple[str, str | None], ...]
MetricKey = tuple[str | None, str | None, DimensionsKey]


def dimensions_key(dimensions: Iterable[dict[str, Any]] | None) -> DimensionsKey:
    return tuple(sorted((str(d["Name"]), d.get("Value")) for d in dimensions or ()))


def metric_key(metric: dict[str, Any]) -> MetricKey:
    return (
        metric.get("Namespace"),
        metric.get("MetricName"),
        dimensions_key(metric.get("Dimensions")),
    )


class StatisticSet:
    """One ``StatisticValues`` datum."""

    __slots__ = ("maximum", "minimum", "sample_count", "total")

    def __init__(self, datum: MetricAggregatedDatum) -> None:
        self.sample_count = float(datum.sample_count)
        self.total = float(datum.sum)
        self.minimum = float(datum.min)
        self.maximum = float(datum.max)


class Entry:
    """A value observed ``count`` times at one moment, or one statistic set."""

    __slots__ = ("count", "statistics", "unit", "value")

    def __init__(
        self, value: float, count: int, unit: str | None, statistics: StatisticSet | None
    ) -> None:
        self.value = value
        self.count = count
        self.unit = unit
        self.statistics = statistics


class Series:
    """One metric's entries, sorted by time (microseconds since the epoch); entries at
    the same moment keep the order they were stored in."""

    __slots__ = ("entries", "times")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.entries: list[Entry] = []

    def add(self, micros: int, entry: Entry) -> None:
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
    ) -> tuple[Sequence[int], Sequence[Entry]]:
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


class RegionIndex:
    """The series of one region's stored datapoints, caught up with moto's list."""

    def __init__(self) -> None:
        self.source: list[MetricDatumBase] | None = None
        self.seen = 0
        self.series: dict[MetricKey, Series] = {}

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
                last_time, last_micros = datum.timestamp, micros(datum.timestamp)
            dimensions = tuple((d.name or "", d.value) for d in datum.dimensions)
            raw = (datum.namespace, datum.name, dimensions)
            key = keys.get(raw)
            if key is None:
                key = keys[raw] = (datum.namespace, datum.name, tuple(sorted(dimensions)))
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = Series()
            if isinstance(datum, MetricAggregatedDatum):
                entry = Entry(float(datum.min), 1, datum.unit, StatisticSet(datum))
            elif isinstance(datum, MetricDatum):
                entry = Entry(float(datum.value), 1, datum.unit, None)
            else:
                continue
            series.add(last_micros, entry)

    def get(self, key: MetricKey) -> Series | None:
        return self.series.get(key)


_indexes: dict[tuple[str, str], RegionIndex] = {}
# Held while an index catches up and while a request reads it (reads are short).
index_lock = threading.Lock()


def synced_indexes(account: str, region: str) -> list[RegionIndex]:
    """The account's and region's index caught up with moto, plus one of the metrics moto computes on
    the fly (``aws_metric_data``, e.g. S3 bucket sizes) when there are any. Call with
    ``index_lock`` held."""
    backend = cloudwatch_backends[account][region]
    index = _indexes.get((account, region))
    if index is None:
        index = _indexes[(account, region)] = RegionIndex()
    index.sync(backend.metric_data)
    indexes = [index]
    computed = backend.aws_metric_data
    if computed:
        extra = RegionIndex()
        extra.add(computed)
        indexes.append(extra)
    return indexes


def refresh(account: str, region: str) -> None:
    """Catch the index up with moto now (e.g. right after PutMetricData)."""
    with index_lock:
        synced_indexes(account, region)
