"""A key's usage in each account and region: API Gateway meters a quota per key and usage plan,
and a tier is one usage plan per account and region it covers (plans/locations.py)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import NamedTuple

Place = tuple[int | None, str]  # (connection id, region), as UsageDay and the copies store it


def where_of(region: str, connection_name: str | None, is_default: bool | None) -> str:
    """ "eu-west-1", or "Partner · us-east-1" outside the default connection (AwsCopy.where)."""
    if not connection_name or is_default:
        return region
    return f"{connection_name} · {region}"


@dataclass(frozen=True)
class RegionUsage:
    """A key's figures in one account and region: API Gateway meters a quota in each."""

    where: str
    used: int  # this period
    remaining: int | None  # None: the tier has no quota
    quota: int | None = None

    @property
    def extended(self) -> bool:
        if self.remaining is None or self.quota is None:
            return False
        return self.remaining > max(0, self.quota - self.used)


class Row(NamedTuple):
    """One UsageDay as the summaries read it."""

    key_id: int
    plan_id: int
    day: datetime.date
    used: int
    remaining: int
    place: Place
    where: str


def regions_of(
    used: dict[Place, int],
    remaining_today: dict[Place, int],
    wheres: dict[Place, str],
    *,
    quota: int | None,
    period_quota: int | None,
) -> list[RegionUsage]:
    """A key's figures per place it was metered in this period, by connection and region.

    `remaining` is what API Gateway reported there today, or (before today's first
    collection) this period's quota less what was used there; None without a quota."""
    return [
        RegionUsage(
            where=wheres[place],
            used=used_there,
            remaining=None
            if period_quota is None
            else remaining_today.get(place, max(0, period_quota - used_there)),
            quota=quota,
        )
        for place, used_there in sorted(
            used.items(), key=lambda item: (item[0][0] or 0, item[0][1])
        )
    ]
