"""A bulk tier move ("every customer on Free to Free 2027") through the local AWS: AWS calls per
key against the minimum, and the wall time AWS's published budgets impose on them.

N customers with K keys each on Free; `plans.move_runner.run_move` moves them (the task's body, run
here) and the captured key syncs run between its runs, as workers would (bench/_sync_setup.py:
no faults, the rate budgets out of the way so the calls are exact). The calls are then replayed
through the limiter on a fake clock (bench/limiter_budget.py's method) with AWS's own budgets:
the least time the move can take at the ceiling, whatever the number of workers.

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python bench/tier_move.py [N] [K] [REGIONS]

REGIONS 2: both tiers cover the demo API's stage in us-east-1 and in eu-west-1 (the default
account), so every key is a copy in each and the minimum is 2 calls per key per place.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from typing import Any

import _sync_setup  # noqa: F401 - configures Django first
from _sync_setup import live_stage, world


def ceiling_seconds(calls: list[dict[str, Any]]) -> float:
    """The least seconds from the first call to the last under AWS_RATE_LIMITS, each account and
    region with its own buckets (portal/aws/limiter.py on a fake clock)."""
    from portal.aws.limiter import AWS_RATE_LIMITS, LocalRateLimiter, RateBudgetWait

    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = LocalRateLimiter(AWS_RATE_LIMITS, clock=lambda: now[0], sleep=sleep)
    for call in calls:
        while True:
            try:
                limiter.acquire(str(call["operation"]), scope=str(call.get("region", "")))
                break
            except RateBudgetWait as exc:
                sleep(exc.retry_after)  # the task's retry, on time
    return now[0]


def stages(regions: int) -> list[Any]:
    """The demo API's stage in us-east-1, and with 2 regions its twin in eu-west-1."""
    east = live_stage()
    if regions < 2:
        return [east]
    import boto3

    from localaws.demo_api import ensure_demo_api
    from plans.models import ApiStage
    from plans.stages import stage_set_available, stages_discover
    from portal.connections.services import connection_default, connection_update

    default = connection_default()
    connection_update(
        actor=None,
        connection=default,
        name=default.name,
        role_arn=default.role_arn,
        external_id=default.external_id,
        regions=[*default.regions, "eu-west-1"],
    )
    west_client = boto3.client(
        "apigateway", region_name="eu-west-1", endpoint_url=os.environ["AWS_ENDPOINT_URL"]
    )
    api_id, stage_name = ensure_demo_api(west_client)
    stages_discover()
    west = ApiStage.objects.get(region="eu-west-1", rest_api_id=api_id, stage_name=stage_name)
    stage_set_available(actor=None, stage=west, available=True)
    return [ApiStage.objects.get(pk=east.pk), west]


def main() -> None:
    customers_n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    keys_each = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    regions = int(sys.argv[3]) if len(sys.argv) > 3 else 1

    from keys.services import key_create
    from plans import move_estimate, move_runner, moves
    from plans.models import TierMove
    from plans.services import plan_create
    from portal.customers.services import customer_onboard
    from tests.conftest import FREE, make_user

    with world() as (control, drain):
        started = time.monotonic()
        covered = stages(regions)
        free = plan_create(actor=None, data=dict(FREE), stages=covered)
        newer = plan_create(
            actor=None, data={**FREE, "name": "Free 2027", "is_default": False}, stages=covered
        )
        drain()
        for n in range(customers_n):
            customer = customer_onboard(
                owner=make_user(f"o{n}@move.test"), organisation_name=f"Mover {n}"
            )
            for k in range(keys_each):
                key_create(actor=None, customer=customer, name=f"k{k}")
        drain()
        set_up = time.monotonic() - started

        # The syncs' own limiter stays out of the way (exact calls, no sleeping), but the move
        # paces itself and estimates with AWS's published budgets, as in production.
        from portal.aws.limiter import AWS_RATE_LIMITS

        move_estimate.configured_budgets = lambda: dict(AWS_RATE_LIMITS)
        estimate = move_estimate.move_estimate(free, newer)
        control.clear_calls()
        move = moves.tier_move_start(actor=None, from_plan=free, to_plan=newer, enqueue=False)
        peak_waiting, runs, move_seconds, sync_seconds = 0, 0, 0.0, 0.0

        def progress(current: TierMove) -> None:
            nonlocal peak_waiting
            peak_waiting = max(peak_waiting, current.keys_waiting)

        while True:
            t0 = time.monotonic()
            step = move_runner.run_move(move.pk, progress=progress)
            move_seconds += time.monotonic() - t0
            runs += 1
            if step.finished:
                break
            t0 = time.monotonic()
            drain()  # the workers: every key sync queued so far
            sync_seconds += time.monotonic() - t0

        move.refresh_from_db()
        calls = control.calls()
        by_operation = Counter(str(c["operation"]) for c in calls)
        places = {str(c.get("region", "")) for c in calls} or {"-"}
        keys = move.keys_total
        minimum = move_estimate.CALLS_PER_KEY_STAYING * keys * len(places)
        print(
            f"Tier move Free -> Free 2027: {move.customers_moved}/{move.customers_total} "
            f"customers, {move.keys_moved}/{keys} keys in the new usage plan "
            f"(status {move.status}, {move.customers_refused} refused, {move.keys_failed} keys "
            "failed)"
        )
        detail = ", ".join(f"{op} {n}" for op, n in sorted(by_operation.items()))
        print(
            f"AWS calls: {len(calls)} ({detail}) = {len(calls) / max(keys, 1):.2f} per key; "
            f"minimum {move_estimate.CALLS_PER_KEY_STAYING} per key per place x {len(places)} place(s) "
            f"= {minimum}"
        )
        ceiling = ceiling_seconds(calls)
        print(
            f"least wall time at AWS's budget (10 req/s, burst 40 per account and region): "
            f"{ceiling:.1f} s; the console's estimate said {estimate.seconds:.1f} s "
            "(calls / 10 per second, without the burst)"
        )
        print(
            f"pacing: at most {peak_waiting} keys waiting for AWS at once (window "
            f"{move_estimate.window_keys()} = {move_estimate.WINDOW_SECONDS:.0f} s of the budget), "
            f"{runs} runs of the move task"
        )
        per_customer = 1000 * move_seconds / max(move.customers_total, 1)
        print(
            f"our side: moving the customers took {move_seconds:.2f} s ({per_customer:.1f} ms a "
            f"customer, SQLite), the key syncs {sync_seconds:.2f} s against the local AWS; "
            f"set-up {set_up:.1f} s"
        )


if __name__ == "__main__":
    main()
