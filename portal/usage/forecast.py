"""When a key's quota runs out at its recent pace: pure functions of whole UTC days, no query.

The rule (the usage page says it in words):

- The pace is the average number of requests a day over a trailing window of **complete** UTC
  days: the last 7 days before today, or fewer when the key's first recorded request is more
  recent. Today's partial figures never count, so the forecast changes once a day, not with
  every collection run — and a quota period that just began is judged by the days before it.
- Until the window has 3 complete days since the key's first recorded request, it is too early
  to tell.
- WEEK and MONTH quotas: the requests left at the start of today (what is left now plus what
  was used today, so today's traffic does not move it either) divided by the pace give the day
  the quota runs out; on or after the reset, it won’t run out this period.
- DAY quotas reset every midnight, so a run-out *day* means nothing (and hours of one day are
  too few to extrapolate): the forecast says what a day usually takes - the pace as a share of
  the daily quota - and on how many of the window's days the quota ran out.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from portal.wording import requests_in_words

WINDOW_DAYS = 7  # the trailing window of complete days
MIN_DAYS = 3  # complete days of history needed before saying anything


class Outlook(StrEnum):
    TOO_EARLY = "too_early"  # fewer than MIN_DAYS complete days since the first request
    RUNS_OUT = "runs_out"  # WEEK/MONTH: before the reset, on `runs_out_on`
    LASTS = "lasts"  # WEEK/MONTH: not before the reset
    DAILY = "daily"  # DAY: what a day usually takes


PERIOD_NOUNS = {"WEEK": "this week", "MONTH": "this month"}


@dataclass(frozen=True)
class Forecast:
    outlook: Outlook
    on: datetime.date  # the day it was made for (today)
    period: str  # DAY / WEEK / MONTH
    window_days: int  # complete days the pace is taken over (0..WINDOW_DAYS)
    pace: float  # requests a day over those days
    runs_out_on: datetime.date | None = None  # RUNS_OUT only
    share: float | None = None  # DAILY: the pace as a percentage of the daily quota
    days_out: int = 0  # DAILY: days of the window on which the quota ran out

    @property
    def too_early(self) -> bool:
        return self.outlook is Outlook.TOO_EARLY

    @property
    def sentence(self) -> str:
        """What the usage page says, e.g. "At the pace of the last 7 complete days (about 3,500
        requests a day), the quota runs out on Sun 29 Nov, before it resets."
        """
        if self.outlook is Outlook.TOO_EARLY:
            has = f"has {self.window_days}" if self.window_days else "has none yet"
            return (
                f"Too early to tell: the forecast needs {MIN_DAYS} complete days (UTC) of "
                f"traffic and {has}."
            )
        recent = f"the last {self.window_days} complete days"
        if self.outlook is Outlook.DAILY:
            ran_out = (
                f"it ran out on {self.days_out} of them"
                if self.days_out
                else "it did not run out on any of them"
            )
            return (
                f"The quota resets every day. Over {recent} this key used about "
                f"{_pace(self.pace)} a day ({self.share or 0:.0f}% of it); {ran_out}."
            )
        if self.pace <= 0:
            return f"No requests in {recent}: it won’t run out {self._period}."
        pace = f"At the pace of {recent} (about {_pace(self.pace)} a day)"
        if self.outlook is Outlook.LASTS:
            return f"{pace}, it won’t run out {self._period}."
        when = (
            "today"
            if self.runs_out_on == self.on
            else f"on {self.runs_out_on:%a} {self.runs_out_on.day} {self.runs_out_on:%b}"
            if self.runs_out_on
            else ""
        )
        return f"{pace}, the quota runs out {when}, before it resets."

    @property
    def _period(self) -> str:
        return PERIOD_NOUNS.get(self.period, "this period")


def _pace(pace: float) -> str:
    return requests_in_words(round(pace)) if pace >= 1 else "fewer than 1 request"


def pace_window(
    daily: Mapping[datetime.date, int], today: datetime.date
) -> tuple[datetime.date, int]:
    """(first day, number of days) of the trailing window of complete days before `today`,
    starting no earlier than the first day with recorded traffic."""
    start = today - datetime.timedelta(days=WINDOW_DAYS)
    used_days = [day for day, used in daily.items() if used > 0 and day < today]
    first = min(used_days, default=today)
    start = max(start, first)
    return start, (today - start).days


def forecast(
    *,
    daily: Mapping[datetime.date, int],
    today: datetime.date,
    period: str,
    quota: int,
    remaining: int,
    period_end: datetime.date,
) -> Forecast:
    """The forecast for one key on `today`.

    `daily`: requests per UTC day (any tier; days without a row count as 0), at least the
    window's days. `quota`: this period's quota (the tier's, less its offset in the first
    period). `remaining`: what is left now, as API Gateway reports it (extra quota included).
    `period_end`: the last day of the current quota period (its reset is the midnight after).
    """
    start, days = pace_window(daily, today)
    total = sum(used for day, used in daily.items() if start <= day < today)  # complete days only
    pace = total / days if days else 0.0
    if days < MIN_DAYS:
        return Forecast(Outlook.TOO_EARLY, today, period, days, pace)
    if period == "DAY":
        days_out = sum(1 for day, used in daily.items() if start <= day < today and used >= quota)
        share = pace * 100 / quota if quota else None
        return Forecast(Outlook.DAILY, today, period, days, pace, share=share, days_out=days_out)
    left_at_day_start = max(0, remaining) + daily.get(today, 0)
    if pace <= 0:
        return Forecast(Outlook.LASTS, today, period, days, pace)
    # The last request fits `left / pace` days after today's midnight: 2.5 days is the 3rd day
    # (today + 2), exactly 3 days too (its last request ends it at midnight).
    last_day = max(0, math.ceil(left_at_day_start / pace) - 1)
    runs_out_on = today + datetime.timedelta(days=last_day)
    if runs_out_on > period_end:
        return Forecast(Outlook.LASTS, today, period, days, pace)
    return Forecast(Outlook.RUNS_OUT, today, period, days, pace, runs_out_on=runs_out_on)
