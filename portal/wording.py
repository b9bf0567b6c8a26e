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
