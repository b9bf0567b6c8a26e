"""A metric's indexed entries grouped into periods, and every statistic of one period.

Semantics (CloudWatch User Guide, "Statistics definitions" and "Percentiles"):

* Sum, SampleCount, Minimum, Maximum and Average (Sum / SampleCount) combine single values
  and statistic sets, as moto does.
* "Percentile statistics are not available for metrics when any of the metric values are
  negative numbers": such a period yields no datapoint.
* Values published as a statistic set (``StatisticValues``) carry no distribution; AWS can
  give percentiles for them only when ``Minimum == Maximum`` and ``Sum == Minimum *
  SampleCount`` (which includes SampleCount 1 with Min = Max = Sum). Such a set counts as
  SampleCount copies of its value; any other set makes the period's percentile
  unavailable (no datapoint), rather than invented.
* ``Values`` + ``Counts`` count each value Counts[i] times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from localaws.metric_index import Entry, MetricKey, RegionIndex
from localaws.percentiles import percentile_of, weighted_nearest_rank

BASIC_STATISTICS = frozenset({"Sum", "Average", "SampleCount", "Minimum", "Maximum"})


class Bucket:
    """The entries of one period, and what is derived from them (computed once)."""

    __slots__ = ("_distribution", "_done", "entries", "last_unit")

    def __init__(self) -> None:
        self.entries: list[Entry] = []
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


def by_period(
    indexes: Sequence[RegionIndex],
    key: MetricKey,
    unit: str | None,
    origin: int,
    start: int,
    end: int,
    period: int,
) -> dict[int, Bucket]:
    """Period number -> bucket of the metric's entries in [start, end); period ``k``
    covers [origin + k * period, origin + (k + 1) * period). All times in microseconds."""
    buckets: dict[int, Bucket] = {}
    for index in indexes:
        series = index.get(key)
        if series is None:
            continue
        times, entries = series.between(start, end, unit)
        for moment, entry in zip(times, entries, strict=True):
            number = (moment - origin) // period
            bucket = buckets.get(number)
            if bucket is None:
                bucket = buckets[number] = Bucket()
            bucket.entries.append(entry)
            bucket.last_unit = entry.unit
    return buckets
