"""The capacity counts the pages show (the capacity page, GET /api/v1/capacity, the connections
list's warnings), made by a beat job.

Counting is exact but reads every key and copy: at 50,000 keys in two regions that is 100,000
rows joined to their customers' tiers, longer than a page may take. The beat job
`portal.reconcile.tasks.count_capacity` counts and keeps the result; a page shows the counts
if they are at most CAPACITY_COUNT_SECONDS old, and counts itself otherwise (no beat running),
keeping nothing: a page view writes no row. The refusals before a write count each time
(keys/capacity.py): they stop the 10,001st key.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from portal.connections.capacity import Counts, LocationKey, counted, default_connection_id
from portal.reconcile.models import CapacityCount

DEFAULT_SECONDS = 60


def max_age() -> datetime.timedelta:
    return datetime.timedelta(
        seconds=int(settings.TOLLGATE.get("CAPACITY_COUNT_SECONDS", DEFAULT_SECONDS))
    )


def _encode(counts: Counts) -> dict[str, Any]:
    return {
        "figures": {
            name: [[key[0], key[1], str(value)] for key, value in sorted(by_place.items(), key=str)]
            for name, by_place in counts.figures.items()
        },
        "top_tiers": [
            [key[0], key[1], [[tier, n] for tier, n in tops]]
            for key, tops in sorted(counts.top_tiers.items(), key=str)
        ],
    }


def _decode(row: CapacityCount) -> Counts:
    figures: dict[str, dict[LocationKey, Decimal]] = {
        name: {(connection_id, region): Decimal(value) for connection_id, region, value in rows}
        for name, rows in row.figures.get("figures", {}).items()
    }
    tops = {
        (connection_id, region): [(str(tier), int(n)) for tier, n in tiers]
        for connection_id, region, tiers in row.figures.get("top_tiers", [])
    }
    return Counts(figures, tops, row.counted_at)


def remember(counts: Counts) -> None:
    """Keep `counts` as the latest; older ones go (one row stays)."""
    row = CapacityCount.objects.create(counted_at=counts.counted_at, figures=_encode(counts))
    CapacityCount.objects.filter(counted_at__lt=row.counted_at).delete()


def count_now() -> Counts:
    """Count now and keep the counts (the beat job)."""
    counts = counted(default_connection_id())
    remember(counts)
    return counts


def remembered(count: Callable[[], Counts]) -> Counts:
    """The keeper registered with the kernel: the counts the beat job kept, if recent, else
    `count()`'s (not kept: a GET changes nothing)."""
    latest = CapacityCount.objects.filter(counted_at__gte=timezone.now() - max_age()).first()
    return _decode(latest) if latest is not None else count()
