"""portal/usage/forecast.py: a pace from whole days, "too early to tell" until 3 of them, stable
within a day, and a period-aware answer (DAY: what a day takes; WEEK/MONTH: the day it runs
out, or that it won't this period). Pure functions, fixed dates, no database."""

from __future__ import annotations

import datetime

import pytest

from portal.usage.forecast import MIN_DAYS, Outlook, forecast, pace_window
from portal.usage.periods import period_bounds


def d(month: int, day: int, year: int = 2026) -> datetime.date:
    return datetime.date(year, month, day)


def every_day(first: datetime.date, last: datetime.date, used: int) -> dict[datetime.date, int]:
    return {first + datetime.timedelta(days=i): used for i in range((last - first).days + 1)}


def month_forecast(daily: dict[datetime.date, int], today: datetime.date, quota: int = 100_000):
    start, end = period_bounds("MONTH", today)
    used = sum(n for day, n in daily.items() if start <= day <= today)
    return forecast(
        daily=daily,
        today=today,
        period="MONTH",
        quota=quota,
        remaining=max(0, quota - used),
        period_end=end,
    )


def test_the_issue_case_on_the_first_of_the_month_is_too_early_to_tell() -> None:
    """1 Dec, the key's first 18 hours of traffic: no complete day yet, so no date at all."""
    today = d(12, 1)
    result = month_forecast({today: 4_000}, today)
    assert result.outlook is Outlook.TOO_EARLY
    assert result.window_days == 0
    assert result.sentence == (
        "Too early to tell: the forecast needs 3 complete days (UTC) of traffic and has none yet."
    )


def test_it_says_too_early_until_three_complete_days() -> None:
    daily = every_day(d(11, 24), d(11, 26), 3_000)
    assert month_forecast(daily, d(11, 26)).outlook is Outlook.TOO_EARLY  # 24, 25 complete
    assert "and has 2." in month_forecast(daily, d(11, 26)).sentence
    daily[d(11, 27)] = 3_000
    assert month_forecast(daily, d(11, 27)).window_days == MIN_DAYS
    assert month_forecast(daily, d(11, 27)).outlook is not Outlook.TOO_EARLY


def test_the_first_of_the_month_uses_the_last_week_of_the_previous_one() -> None:
    """A new period starts with the full quota; the pace comes from the 7 days before it."""
    daily = every_day(d(11, 1), d(11, 30), 10_000) | {d(12, 1): 2_500}
    result = month_forecast(daily, d(12, 1))
    assert (result.window_days, result.pace) == (7, 10_000)
    # 100,000 left at midnight, 10,000 a day: gone during the 10th day, Thu 10 Dec.
    assert result.outlook is Outlook.RUNS_OUT
    assert result.runs_out_on == d(12, 10)
    assert result.sentence == (
        "At the pace of the last 7 complete days (about 10,000 requests a day), the quota runs "
        "out on Thu 10 Dec, before it resets."
    )


def test_mid_period_a_pace_that_lasts_past_the_reset_wont_run_out_this_period() -> None:
    """The issue's "30-day pace lasted into January": beyond the period's end is no date."""
    daily = every_day(d(11, 1), d(12, 15), 2_000)
    result = month_forecast(daily, d(12, 15))
    # 28,000 used by 14 Dec + 2,000 today: 72,000 left at midnight: 36 days, and 17 are left.
    assert result.outlook is Outlook.LASTS
    assert result.runs_out_on is None
    assert result.sentence == (
        "At the pace of the last 7 complete days (about 2,000 requests a day), it won’t run "
        "out this month."
    )


def test_on_the_last_day_of_the_period_it_runs_out_today_or_not_at_all() -> None:
    quota = 100_000
    daily = every_day(d(11, 1), d(11, 29), 3_400)  # 98,600 by the 29th
    daily[d(11, 30)] = 500
    result = month_forecast(daily, d(11, 30), quota)
    assert result.outlook is Outlook.RUNS_OUT and result.runs_out_on == d(11, 30)
    assert "the quota runs out today, before it resets." in result.sentence

    quiet = every_day(d(11, 1), d(11, 29), 3_000)  # 87,000: 13,000 left, 3,000 a day
    assert month_forecast(quiet, d(11, 30), quota).outlook is Outlook.LASTS


def test_it_does_not_move_within_a_day() -> None:
    """Collection runs every few minutes: today's count rises as `remaining` falls. Neither
    moves the forecast; only the next day does."""
    history = every_day(d(11, 19), d(11, 25), 3_500)
    start, end = period_bounds("MONTH", d(11, 26))
    left_at_midnight = 12_500
    results = {
        forecast(
            daily=history | {d(11, 26): so_far},
            today=d(11, 26),
            period="MONTH",
            quota=100_000,
            remaining=left_at_midnight - so_far,
            period_end=end,
        )
        for so_far in (0, 10, 1_000, 2_042, 9_000)
    }
    assert len(results) == 1
    (result,) = results
    assert result.runs_out_on == d(11, 29)  # 12,500 / 3,500 = 3.6 days after midnight


def test_a_burst_today_does_not_extrapolate_hours() -> None:
    """The old forecast divided today's first hours by the hours gone; today never counts now."""
    history = every_day(d(11, 10), d(11, 25), 100)
    calm = month_forecast(history, d(11, 26))
    assert calm.outlook is Outlook.LASTS
    assert month_forecast(history | {d(11, 26): 5_000}, d(11, 26)).pace == calm.pace


def test_the_window_starts_at_the_first_recorded_request() -> None:
    """A key first used 4 days ago: its pace is over those 4 days, not diluted over 7."""
    daily = every_day(d(11, 22), d(11, 25), 1_000)
    assert pace_window(daily, d(11, 26)) == (d(11, 22), 4)
    assert month_forecast(daily, d(11, 26)).pace == 1_000
    # Quiet days inside the window count as zero.
    sparse = {d(11, 10): 700, d(11, 20): 7_000}
    assert month_forecast(sparse, d(11, 26)).pace == 1_000


def test_no_requests_lately_wont_run_out() -> None:
    result = month_forecast({d(11, 2): 500}, d(11, 26))
    assert result.outlook is Outlook.LASTS and result.pace == 0
    assert (
        result.sentence == "No requests in the last 7 complete days: it won’t run out this month."
    )


def test_after_a_tier_change_the_pace_is_the_keys_and_the_period_the_new_tiers() -> None:
    """Moved from a MONTH tier to a WEEK one (quota 20,000) on Tue 24 Nov: the days on the old
    tier still say how busy the key is; the period and quota are the new tier's."""
    today = d(11, 26)  # Thursday; the week began Sun 22 Nov and resets Sun 29 Nov
    daily = every_day(d(11, 1), today, 4_000)
    start, end = period_bounds("WEEK", today)
    assert (start, end) == (d(11, 22), d(11, 28))
    used_on_new_tier = 4_000 * 3  # 24, 25 and 26 Nov
    result = forecast(
        daily=daily,
        today=today,
        period="WEEK",
        quota=20_000,
        remaining=20_000 - used_on_new_tier,
        period_end=end,
    )
    # 12,000 left at midnight, 4,000 a day: runs out during the 3rd day, Sat 28 Nov.
    assert (result.pace, result.runs_out_on) == (4_000, d(11, 28))
    assert "the quota runs out on Sat 28 Nov, before it resets." in result.sentence

    lasts = forecast(
        daily=daily,
        today=today,
        period="WEEK",
        quota=40_000,
        remaining=40_000 - used_on_new_tier,
        period_end=end,
    )
    assert lasts.outlook is Outlook.LASTS
    assert lasts.sentence.endswith("it won’t run out this week.")


@pytest.mark.parametrize(
    ("used", "days_out", "ending"),
    [
        (850, 0, "(85% of it); it did not run out on any of them."),
        (1_000, 7, "(100% of it); it ran out on 7 of them."),
    ],
)
def test_a_day_quota_says_what_a_day_takes(used: int, days_out: int, ending: str) -> None:
    today = d(11, 26)
    daily = every_day(d(11, 1), today, used)
    result = forecast(
        daily=daily, today=today, period="DAY", quota=1_000, remaining=0, period_end=today
    )
    assert result.outlook is Outlook.DAILY
    assert (result.days_out, result.runs_out_on) == (days_out, None)
    assert result.sentence == (
        f"The quota resets every day. Over the last 7 complete days this key used about "
        f"{used:,} requests a day {ending}"
    )
