"""Onboarding 10,000 existing keys: bulk import (ImportApiKeys) versus one key at a time.

Counts AWS calls and the *minimum* wall time AWS's published API Gateway limits imply, computed
analytically (token buckets, portal/aws/limiter.py): 10 requests/s account-wide with a burst of
40, CreateApiKey 5/s (burst 5). Nothing is sent anywhere.

Bulk (keys/imports/'s design): one listing of the account's keys with values before the first
chunk (GetApiKeys, 500 a page), then per chunk of 1,000 rows one ImportApiKeys (the CSV's
UsagePlanIds column joins each key to its tier's usage plan: no CreateUsagePlanKey) and one
listing of the chunk by name prefix (GetApiKeys nameQuery, 2 pages of 500).
One at a time (what 10,000 sync_key tasks do): GetApiKeys (orphan lookup by name),
CreateApiKey, CreateUsagePlanKey per key.

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python bench/onboarding.py [EXISTING_KEYS]
"""

from __future__ import annotations

import math
import sys

ALL_RATE, ALL_BURST = 10.0, 40
CREATE_RATE, CREATE_BURST = 5.0, 5
N, CHUNK, PAGE = 10_000, 1_000, 500


def bucket_seconds(calls: int, rate: float, burst: int) -> float:
    """Time until the last of `calls` back-to-back calls may start, from a full bucket."""
    return max(0.0, (calls - burst) / rate)


def minimum_seconds(total_calls: int, create_calls: int) -> float:
    # Both buckets must allow every call; the slower one sets the pace.
    return max(
        bucket_seconds(total_calls, ALL_RATE, ALL_BURST),
        bucket_seconds(create_calls, CREATE_RATE, CREATE_BURST),
    )


def main() -> None:
    existing = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    chunks = math.ceil(N / CHUNK)
    initial_listing = max(1, math.ceil(existing / PAGE))
    bulk = {
        "GetApiKeys (account listing, with values)": initial_listing,
        "ImportApiKeys": chunks,
        "GetApiKeys (chunk listing by name)": chunks * math.ceil(CHUNK / PAGE),
    }
    bulk_calls = sum(bulk.values())
    one = {"GetApiKeys (orphan lookup)": N, "CreateApiKey": N, "CreateUsagePlanKey": N}
    one_calls = sum(one.values())
    one_no_lookup = 2 * N

    print(f"Onboarding {N:,} keys ({existing:,} keys already in the account)\n")
    print(
        f"bulk import, chunks of {CHUNK:,}: {bulk_calls} calls "
        + "("
        + ", ".join(f"{k} {v}" for k, v in bulk.items())
        + ")"
    )
    print(
        f"  minimum time under AWS limits: {minimum_seconds(bulk_calls, 0):.1f} s "
        + (
            "(every call fits in the 40-call burst)"
            if bulk_calls <= ALL_BURST
            else "(past the 40-call burst, 10/s)"
        )
    )
    print(
        f"one at a time, as sync_key does it: {one_calls:,} calls "
        + "("
        + ", ".join(f"{k} {v:,}" for k, v in one.items())
        + ")"
    )
    t = minimum_seconds(one_calls, N)
    print(
        f"  minimum time under AWS limits: {t:,.0f} s = {t / 60:.1f} min "
        f"(account-wide 10/s binds; CreateApiKey alone would need {bucket_seconds(N, CREATE_RATE, CREATE_BURST):,.0f} s)"
    )
    t2 = minimum_seconds(one_no_lookup, N)
    print(
        f"one at a time without the orphan lookup (CreateApiKey + CreateUsagePlanKey): "
        f"{one_no_lookup:,} calls, minimum {t2:,.0f} s = {t2 / 60:.1f} min"
    )
    print(
        f"\nratio: {one_calls / bulk_calls:,.0f}x fewer calls; "
        f"{t / max(minimum_seconds(bulk_calls, 0), 1):,.0f}x+ less time for bulk "
        "(bulk time is bounded by ImportApiKeys' own processing, not by the rate limits)"
    )


if __name__ == "__main__":
    main()
