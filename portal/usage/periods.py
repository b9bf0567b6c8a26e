"""Quota periods as API Gateway counts them: calendar periods in UTC.

A DAY quota resets at 00:00 UTC, a WEEK quota on Sunday 00:00 UTC, a MONTH quota on the 1st.
"""

from __future__ import annotations

import datetime

ONE_DAY = datetime.timedelta(days=1)


def period_bounds(period: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """First and last day of the quota period that contains `day`."""
    if period == "DAY":
        return day, day
    if period == "WEEK":
        start = day - datetime.timedelta(days=(day.weekday() + 1) % 7)  # back to Sunday
        return start, start + datetime.timedelta(days=6)
    if period == "MONTH":
        start = day.replace(day=1)
        following = (start + datetime.timedelta(days=32)).replace(day=1)
        return start, following - ONE_DAY
    raise ValueError(f"unknown quota period {period!r}")


def resets_at(period: str, day: datetime.date) -> datetime.datetime:
    """When the quota of the period containing `day` starts afresh (UTC)."""
    _, end = period_bounds(period, day)
    return datetime.datetime.combine(end + ONE_DAY, datetime.time(), tzinfo=datetime.UTC)
