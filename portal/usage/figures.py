"""What the usage pages and the REST summary show of a key and of a customer this quota period,
and the rules that work the figures out from sums per place (one rule for the page and the
summary): used, remaining (the least-left region's), percent, places; labels of revoked keys.
The reading is portal.usage.selectors'.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from keys.models import ApiKey
from plans.models import Plan
from portal.customers.models import Customer
from portal.usage.forecast import Forecast
from portal.usage.periods import period_bounds, resets_at
from portal.usage.regions import Place, RegionUsage, regions_of

WARN_PERCENT = 80


@dataclass(kw_only=True)
class KeyTotals:
    """A key's figures this quota period (the REST summary's; the page adds a chart line)."""

    key: ApiKey
    used: int  # this period, on any tier, summed over every account and region
    quota: int | None  # the current tier's, per key in each account and region
    remaining: int | None  # the smallest of its regions' (`remaining_where` names it)
    percent: float | None
    places: list[RegionUsage] = field(default_factory=list)  # one per region it was used in

    @property
    def regions(self) -> list[RegionUsage]:
        """The per-region breakdown, only for a key metered in more than one region."""
        return self.places if len(self.places) > 1 else []

    @property
    def remaining_where(self) -> str:
        """The region with the least left, when there are several."""
        if not self.regions or self.remaining is None:
            return ""
        return min(self.regions, key=lambda r: r.remaining or 0).where

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0

    @property
    def level(self) -> str:
        """ok / warn (>= 80%) / over (>= 100%): the progress bar's colour."""
        if self.percent is None:
            return "none"
        if self.percent >= 100 or self.exhausted:
            return "over"
        return "warn" if self.percent >= WARN_PERCENT else "ok"

    @property
    def extended(self) -> bool:
        """API Gateway reports more left than quota - used: extra quota was granted (UpdateUsage)."""
        if self.regions:
            return any(region.extended for region in self.regions)
        if self.remaining is None or self.quota is None:
            return False
        return self.remaining > max(0, self.quota - self.used)

    @property
    def bar_width(self) -> float:
        return min(self.percent or 0.0, 100.0)


@dataclass(kw_only=True)
class KeyUsage(KeyTotals):
    """The usage page's key: its totals, a forecast and its line of the chart."""

    forecast: Forecast | None  # from whole days only (portal.usage.forecast); None: no quota
    has_data: bool  # any UsageDay row in the period or the chart's window
    daily: list[int] = field(default_factory=list)  # one figure per day of the series


@dataclass(kw_only=True)
class CustomerTotals:
    customer: Customer
    plan: Plan | None
    today: datetime.date
    period_start: datetime.date
    period_end: datetime.date
    resets_at: datetime.datetime | None  # None when the tier has no quota
    keys: Sequence[KeyTotals]  # live keys, plus revoked ones used this period
    total_used: int
    total_remaining: int | None

    @property
    def has_quota(self) -> bool:
        return self.plan is not None and self.plan.quota_limit is not None


@dataclass(kw_only=True)
class CustomerUsage(CustomerTotals):
    keys: Sequence[KeyUsage]
    days: list[datetime.date]  # the series' days, oldest first
    series: list[KeyUsage]  # every key with a line in the chart (adds revoked ones used lately)

    @property
    def daily_totals(self) -> list[int]:
        return [sum(values) for values in zip(*(k.daily for k in self.series), strict=True)] or [
            0
        ] * len(self.days)

    @property
    def table_rows(self) -> list[tuple[str, list[str], str]]:
        """("Thu 26 Nov", per-key figures, total), newest first: the chart's numbers as a table,
        written out here (30 rows of a figure per key: the template's filters cost more than
        the rest of the page)."""
        lines = [k.daily for k in self.series]
        return [
            (f"{day:%a} {day.day} {day:%b}", [f"{line[i]:,}" for line in lines], f"{total:,}")
            for i, (day, total) in reversed(
                list(enumerate(zip(self.days, self.daily_totals, strict=True)))
            )
        ]

    @property
    def has_any_data(self) -> bool:
        return any(k.has_data for k in self.series)

    def chart_data(self) -> dict[str, Any]:
        """For Chart.js (embedded with json_script): a stacked bar per day, one dataset per key."""
        return {
            "labels": [f"{day.day} {day:%b}" for day in self.days],
            "titles": [f"{day:%a} {day.day} {day:%b %Y}" for day in self.days],
            "datasets": [
                {"label": key_label(k.key), "data": k.daily} for k in self.series if any(k.daily)
            ],
        }


def key_label(key: ApiKey) -> str:
    return label(key.name, key.is_revoked)


def label(name: str, revoked: bool) -> str:
    return f"{name} (revoked)" if revoked else name


Window = tuple[datetime.date, datetime.date, datetime.datetime | None]


def window(plan: Plan | None, today: datetime.date) -> Window:
    """The current quota period (start, end) and when it resets; a tier without a quota: the
    calendar month, and no reset."""
    if plan is not None and plan.quota_limit is not None and plan.quota_period:
        period_start, period_end = period_bounds(plan.quota_period, today)
        return period_start, period_end, resets_at(plan.quota_period, today)
    period_start, period_end = period_bounds("MONTH", today)
    return period_start, period_end, None


class Figures:
    """A key's used, remaining, percent and places from its sums per place: one rule for the
    page and the summary."""

    def __init__(self, plan: Plan | None, window: Window) -> None:
        self.quota = plan.quota_limit if plan else None
        self.period_quota = effective_quota(plan, window[0])
        self.has_quota = (
            self.quota is not None and self.period_quota is not None and window[2] is not None
        )

    def of(
        self, used_there: dict[Place, int], left_today: dict[Place, int], wheres: dict[Place, str]
    ) -> dict[str, Any]:
        places = regions_of(
            used_there,
            left_today,
            wheres,
            quota=self.quota,
            period_quota=self.period_quota if self.has_quota else None,
        )
        used = sum(used_there.values())
        remaining: int | None = None
        percent: float | None = None
        if self.has_quota and self.quota is not None and self.period_quota is not None:
            # Each region has a quota of its own: the key runs out first where least is left.
            remaining = min(
                (r.remaining for r in places if r.remaining is not None),
                default=max(0, self.period_quota - used),
            )
            percent = used * 100 / self.quota
        return {
            "used": used,
            "quota": self.quota,
            "remaining": remaining,
            "percent": percent,
            "places": places,
        }


def sums(plan: Plan | None, shown: Sequence[KeyTotals]) -> tuple[int, int | None]:
    """What the keys shown used, and what the live ones have left (None without a quota)."""
    if plan is None or plan.quota_limit is None:
        return sum(k.used for k in shown), None
    return (
        sum(k.used for k in shown),
        sum(k.remaining or 0 for k in shown if not k.key.is_revoked),
    )


def effective_quota(plan: Plan | None, period_start: datetime.date) -> int | None:
    """The quota of this period: the first period of a tier loses its offset (QuotaSettings)."""
    if plan is None or plan.quota_limit is None or not plan.quota_period:
        return None
    created = plan.created_at.astimezone(datetime.UTC).date()
    if plan.quota_offset and period_bounds(plan.quota_period, created)[0] == period_start:
        return max(0, plan.quota_limit - plan.quota_offset)
    return plan.quota_limit
