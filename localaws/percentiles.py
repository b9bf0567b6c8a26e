"""CloudWatch percentile statistics: which ``Stat`` names are percentiles, and the maths.

Moto 5.2.5 has no percentiles at all (a ``p99`` query gets an HTML 500), so ``localaws``
computes them. ``pNN.NN``: any percentile from p0 to p100 with up to two decimals (CloudWatch
User Guide, "Percentiles"; API Reference, GetMetricStatistics ``ExtendedStatistics``).

Percentile method: **nearest rank** over the count-weighted distribution - sort the n
observations, take the one at rank ``ceil(p / 100 * n)`` (at least 1). AWS documents only
that its percentiles are estimates; nearest rank always returns an observed value, like AWS
does for small samples, and is easy to compute independently in tests.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

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
