"""AWS calls per dashboard operation, by AWS operation, from the local AWS's call journal.

Each sync runs synchronously (portal.sync.converge, in the order the services queued it), with no
faults and the rate budgets out of the way, so the figures are exact and repeatable.

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python bench/aws_calls_per_operation.py
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import _sync_setup  # noqa: F401 - configures Django first
from _sync_setup import live_stage, world


def main() -> None:
    from keys.services import key_create, key_rename, key_revoke
    from plans.services import plan_create, plan_update, subscription_switch
    from portal.customers.services import customer_onboard
    from tests.conftest import FREE, PREMIUM, make_user

    with world() as (control, drain):
        stage = live_stage()
        free = plan_create(actor=None, data=dict(FREE), stages=[stage])
        premium = plan_create(actor=None, data=dict(PREMIUM), stages=[stage])
        drain()
        one = customer_onboard(owner=make_user("one@x.test"), organisation_name="One")
        ten = customer_onboard(owner=make_user("ten@x.test"), organisation_name="Ten")
        for n in range(10):
            key_create(actor=None, customer=ten, name=f"k{n}")
        drain()

        rows: list[tuple[str, Counter[str]]] = []

        def measure(label: str, action: object) -> None:
            control.clear_calls()
            action()  # type: ignore[operator]
            drain()
            rows.append((label, Counter(c["operation"] for c in control.calls())))

        holder: dict[str, Any] = {}
        measure(
            "create key",
            lambda: holder.update(key=key_create(actor=None, customer=one, name="first")),
        )
        measure("rename key", lambda: key_rename(actor=None, key=holder["key"], name="renamed"))
        measure(
            "switch tier, customer with 1 key",
            lambda: subscription_switch(actor=None, customer=one, plan=premium, by_staff=True),
        )
        measure(
            "switch tier, customer with 10 keys",
            lambda: subscription_switch(actor=None, customer=ten, plan=premium, by_staff=True),
        )
        measure(
            "edit tier (throttle + quota)",
            lambda: plan_update(
                actor=None,
                plan=free,
                data={"throttle_rate": Decimal("3"), "throttle_burst": 6, "quota_limit": 2000},
                stages=[stage],
            ),
        )
        measure("revoke key", lambda: key_revoke(actor=None, key=holder["key"]))

        for label, calls in rows:
            detail = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
            print(f"{label:38} {sum(calls.values()):3} calls: {detail}")


if __name__ == "__main__":
    main()
