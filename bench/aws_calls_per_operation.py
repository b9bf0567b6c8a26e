"""AWS calls per dashboard operation, by AWS operation, from the local AWS's call journal.

Each sync runs synchronously (portal.sync.converge, in the order the services queued it), with no
faults and the rate budgets out of the way, so the figures are exact and repeatable.

A second table compares a tier in one region (us-east-1) with a tier in two (us-east-1 and
eu-west-1 of the same account, the default connection): a key there is one copy per region, so
creating, moving and revoking it costs calls in each, counted per region from the journal.

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python bench/aws_calls_per_operation.py
"""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal
from typing import Any

import _sync_setup  # noqa: F401 - configures Django first
from _sync_setup import live_stage, world

# The fewest calls API Gateway needs for each operation, and why: the figure each measured count is
# printed against (">" marks a count above it).
MINIMUM: dict[str, tuple[int, str]] = {
    "create key": (2, "CreateApiKey, CreateUsagePlanKey"),
    "rename key": (1, "UpdateApiKey"),
    "switch tier, customer with 1 key": (2, "DeleteUsagePlanKey, CreateUsagePlanKey"),
    "switch tier, customer with 10 keys": (20, "2 a key"),
    "edit tier (throttle + quota)": (1, "UpdateUsagePlan, every patch in one call"),
    "revoke key": (1, "DeleteApiKey"),
    "expiry passes: key disabled": (1, "UpdateApiKey"),
    "retention over: expired key deleted": (1, "DeleteApiKey"),
    "rotate key: roll (24 h grace)": (
        5,
        "create 2; GetUsage of the old and of the new key (it may be in use already), UpdateUsage",
    ),
    "rotate key: end of the grace period": (
        4,
        "GetUsage old (final) and new, UpdateUsage to take the overlap off, DeleteApiKey",
    ),
    "leak report: disable": (1, "UpdateApiKey"),
    "leak report: roll": (6, "the roll's 5 without grace, then DeleteApiKey"),
}
# Two regions: each copy costs its region's calls; a tier gaining a region also reads the key's
# value once (GetApiKey includeValue) so that the new copy holds the same value.
MINIMUM_BY_REGIONS: dict[str, tuple[int | None, int]] = {
    "create key": (2, 4),
    "switch tier, customer with 1 key": (2, 4),
    "revoke key": (1, 2),
    "switch tier, 1 region -> 2": (None, 5),
    "... and back, 2 -> 1": (None, 3),
}


def main() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from keys.expiry import process_expiries, retention_days
    from keys.leaks import keys_report_leaked
    from keys.models import ApiKey
    from keys.rotation import GRACES, key_rotate, retire_rotated_keys
    from keys.services import key_create, key_rename, key_revoke
    from plans.services import plan_create, plan_update, subscription_switch
    from portal.aws.apigateway import get_api_key_secret
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

        # Expiry (keys.expiry): a key expiring in 2 s, the beat job's run once it passed (the
        # sync reads the real clock), then a run on a clock moved on by the retention.
        expires_at = timezone.now() + timedelta(seconds=2)
        expiring = key_create(actor=None, customer=one, name="expiring", expires_at=expires_at)
        drain()
        time.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()) + 0.1)
        measure("expiry passes: key disabled", process_expiries)
        later = timezone.now() + timedelta(days=retention_days())
        measure("retention over: expired key deleted", lambda: process_expiries(now=later))
        assert ApiKey.objects.get(pk=expiring.pk).is_revoked

        # Rotation with a 24 h overlap: the roll (new key + quota carried over), then the end of
        # the grace period (the old key's final reading, deleted, the overlap taken off).
        old = key_create(actor=None, customer=one, name="rolled")
        drain()
        measure(
            "rotate key: roll (24 h grace)",
            lambda: holder.update(new=key_rotate(actor=None, key=old, grace=GRACES["24h"])),
        )

        def end_of_grace() -> None:
            ApiKey.objects.filter(pk=old.pk).update(grace_ends_at=timezone.now())
            retire_rotated_keys()

        measure("rotate key: end of the grace period", end_of_grace)

        # A secret scanner reports a key's value (keys.leaks): disabled, or rolled without grace.
        for action in ("disable", "roll"):
            type(one).objects.filter(pk=one.pk).update(leaked_key_action=action)
            leaked = key_create(actor=None, customer=one, name=f"leaked {action}")
            drain()
            value = get_api_key_secret(ApiKey.objects.get(pk=leaked.pk).aws_id)
            measure(
                f"leak report: {action}",
                lambda value=value: keys_report_leaked(reporter=None, values=[value]),
            )

        print(f"{'operation':38} {'calls':>5} {'min':>4}  by AWS operation (minimum: why)")
        for label, calls in rows:
            detail = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
            least, why = MINIMUM[label]
            over = ">" if sum(calls.values()) > least else " "
            print(f"{label:38} {sum(calls.values()):5}{over}{least:4}  {detail} ({why})")

        print()
        across_regions(control, drain, stage)


def across_regions(control: Any, drain: Any, east: Any) -> None:
    """Create a key, switch its tier and revoke it on one-region and on two-region tiers."""
    import boto3

    from keys.services import key_create, key_revoke
    from localaws.demo_api import ensure_demo_api
    from plans.models import ApiStage
    from plans.services import plan_create
    from plans.services import subscription_switch as switch
    from plans.stages import stage_set_available, stages_discover
    from portal.connections.services import connection_default, connection_update
    from portal.customers.services import customer_onboard
    from tests.conftest import PREMIUM, make_user

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
        "apigateway", region_name="eu-west-1", endpoint_url=control.endpoint_url
    )
    api_id, stage_name = ensure_demo_api(west_client)
    stages_discover()
    west = ApiStage.objects.get(region="eu-west-1", rest_api_id=api_id, stage_name=stage_name)
    stage_set_available(actor=None, stage=west, available=True)
    east = ApiStage.objects.get(pk=east.pk)

    def tier(name: str, stages: list[Any]) -> Any:
        return plan_create(actor=None, data={**PREMIUM, "name": name}, stages=stages)

    one = (tier("East A", [east]), tier("East B", [east]))
    two = (tier("Both A", [east, west]), tier("Both B", [east, west]))
    drain()

    def measure(action: Any) -> Counter[tuple[str, str]]:
        control.clear_calls()
        action()
        drain()
        return Counter((c["region"], c["operation"]) for c in control.calls())

    def key_life(n: int, first: Any, second: Any) -> list[Counter[tuple[str, str]]]:
        """create key, switch tier, revoke key for a new customer on `first`."""
        customer = customer_onboard(owner=make_user(f"r{n}@x.test"), organisation_name=f"R{n}")
        switch(actor=None, customer=customer, plan=first, by_staff=True)
        drain()
        holder: dict[str, Any] = {}
        return [
            measure(lambda: holder.update(key=key_create(actor=None, customer=customer, name="k"))),
            measure(lambda: switch(actor=None, customer=customer, plan=second, by_staff=True)),
            measure(lambda: key_revoke(actor=None, key=holder["key"])),
        ]

    labels = ("create key", "switch tier, customer with 1 key", "revoke key")
    columns = zip(key_life(1, *one), key_life(2, *two), strict=True)
    figures = {label: list(pair) for label, pair in zip(labels, columns, strict=True)}
    # Between the two: the copy in eu-west-1 made (with the value read from us-east-1) or removed.
    customer = customer_onboard(owner=make_user("r3@x.test"), organisation_name="R3")
    switch(actor=None, customer=customer, plan=one[0], by_staff=True)
    key_create(actor=None, customer=customer, name="k")
    drain()
    for label, plan in (("switch tier, 1 region -> 2", two[0]), ("... and back, 2 -> 1", one[1])):
        figures[label] = [
            measure(lambda p=plan: switch(actor=None, customer=customer, plan=p, by_staff=True))
        ]

    print("A tier in us-east-1 (1 region) vs us-east-1 + eu-west-1 (2 regions); the details")
    print("are the last column's, by region:")
    print(f"{'':38} 1 region (min)  2 regions (min)")
    for label, counts in figures.items():
        least = MINIMUM_BY_REGIONS[label]
        cells = [
            f"{sum(c.values()):8}{'>' if sum(c.values()) > (m or 0) else ' '}({m})"
            for c, m in zip(counts, least[-len(counts) :], strict=True)
        ]
        if len(cells) == 1:
            cells = [" " * 13, *cells]
        print(f"{label:38} {'  '.join(cells)}")
        print(f"{'':4}{by_region(counts[-1])}")


def by_region(calls: Counter[tuple[str, str]]) -> str:
    """One line per region: "us-east-1: CreateApiKey 1, GetApiKeys 1"."""
    regions = sorted({region for region, _ in calls}, key=lambda r: (r != "us-east-1", r))
    return "\n    ".join(
        f"{region}: "
        + ", ".join(f"{op} {n}" for (where, op), n in sorted(calls.items()) if where == region)
        for region in regions
    )


if __name__ == "__main__":
    main()
