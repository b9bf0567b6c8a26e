"""The least wall time AWS's published API Gateway limits impose on a batch of calls.

Every call goes through the limiter (portal/aws/limiter.py) on a fake clock: a short wait is
slept (the clock jumps), a long one is a RateBudgetWait after which the "task" retries exactly on
time. What the clock reads when the last call goes is the floor no number of workers can beat.
Figures only; the budgets are AWS's own table (AWS_RATE_LIMITS), not any setting.

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python bench/limiter_budget.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from portal.aws.limiter import AWS_RATE_LIMITS, LocalRateLimiter, RateBudgetWait  # noqa: E402


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def minimum_seconds(operations: list[str]) -> float:
    """Fake seconds from the first call to the last, every bucket full at the start."""
    clock = FakeClock()
    limiter = LocalRateLimiter(AWS_RATE_LIMITS, clock=clock, sleep=clock.sleep)
    for operation in operations:
        while True:
            try:
                limiter.acquire(operation)
                break
            except RateBudgetWait as exc:
                clock.sleep(exc.retry_after)  # the task's retry, on time to the microsecond
    return clock.now


def rate(operation: str) -> str:
    return str(AWS_RATE_LIMITS.get(operation, AWS_RATE_LIMITS["all"]))


def main() -> None:
    create = AWS_RATE_LIMITS["CreateApiKey"]
    update = AWS_RATE_LIMITS["UpdateUsagePlan"]
    rows = [
        (
            "100 CreateApiKey",
            minimum_seconds(["CreateApiKey"] * 100),
            f"at {rate('CreateApiKey')}, burst {create.burst}; "
            f"{99 / create.rate:.1f} s from an empty bucket",
        ),
        (
            "10 UpdateUsagePlan",
            minimum_seconds(["UpdateUsagePlan"] * 10),
            f"at {rate('UpdateUsagePlan')}, burst {update.burst}",
        ),
        (
            "100 new keys synced",
            minimum_seconds(["GetApiKeys", "CreateApiKey", "CreateUsagePlanKey"] * 100),
            f"GetApiKeys + CreateApiKey + CreateUsagePlanKey each; all calls {rate('all')}, "
            f"burst {AWS_RATE_LIMITS['all'].burst}",
        ),
        (
            "10 tiers edited",
            minimum_seconds(["GetUsagePlan", "UpdateUsagePlan"] * 10),
            "GetUsagePlan + UpdateUsagePlan each",
        ),
    ]
    width = max(len(name) for name, _, _ in rows)
    for name, seconds, how in rows:
        print(f"{name:<{width}}  {seconds:7.1f} s  ({how})")


if __name__ == "__main__":
    main()
