"""How Tollgate says a limit, on every page, email, drift row and API message: one wording."""

from __future__ import annotations

from decimal import Decimal


def rate_in_words(rate: Decimal | None) -> str:
    """ "50 req/s", "2.5 req/s", "10,000 req/s", or "no rate limit"."""
    if rate is None:
        return "no rate limit"
    return f"{rate.normalize():,f} req/s"


def throttle_in_words(rate: Decimal | None, burst: int | None) -> str:
    """ "50 req/s, burst 100", or "no rate limit"."""
    if rate is None:
        return rate_in_words(None)
    return f"{rate_in_words(rate)}, burst {burst or 0:,}"


def quota_in_words(limit: int | None, period: str) -> str:
    """ "100,000 requests per month", or "no quota"; `period` as the tier shows it ("per month")."""
    if limit is None:
        return "no quota"
    return f"{limit:,} requests {period}"


def requests_in_words(count: int) -> str:
    """ "1 request", "100,000 requests"."""
    return f"{count:,} request{'' if count == 1 else 's'}"


def percent_reached(used: int, limit: int) -> int:
    """The share of `limit` used, in whole percent rounded down: "80%" means 80% was reached."""
    return used * 100 // limit if limit else 0


def share_in_words(used: int, limit: int) -> str:
    """ "800 of 1,000 requests (80%)" (the percentage rounded down, see percent_reached)."""
    return f"{used:,} of {requests_in_words(limit)} ({percent_reached(used, limit)}%)"
