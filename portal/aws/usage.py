"""Per-key usage from API Gateway: GetUsage to read it, UpdateUsage to grant extra quota."""

from __future__ import annotations

import datetime
from typing import Any, cast

from portal.aws.clients import apigateway
from portal.aws.errors import aws_errors

# GetUsage answers at most 500 keys a page; the default (25) would cost 20 times the calls.
USAGE_PAGE_SIZE = 500


def usage_of_plan(
    plan_aws_id: str, start: datetime.date, end: datetime.date
) -> tuple[dict[str, list[tuple[int, int]]], int]:
    """{key id: [(used, remaining) per day from start to end]} and the number of calls made.

    On the wire the map is `values`; botocore names it `items`.
    """
    found: dict[str, list[tuple[int, int]]] = {}
    position: str | None = None
    calls = 0
    while True:
        params: dict[str, Any] = {
            "usagePlanId": plan_aws_id,
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            "limit": USAGE_PAGE_SIZE,
        }
        if position:
            params["position"] = position
        with aws_errors():
            page = apigateway().get_usage(**params)
        calls += 1
        for key_id, days in (page.get("items") or {}).items():
            found[key_id] = [(int(day[0]), int(day[1])) for day in days]
        position = page.get("position")
        if not position:
            return found, calls


def usage_of_key(
    plan_aws_id: str, key_aws_id: str, start: datetime.date, end: datetime.date
) -> list[tuple[int, int]]:
    """[(used, remaining) per day from start to end] of one key in one plan: one GetUsage call
    (keyId=…), however many keys the plan has; [] if the key is not in the plan."""
    with aws_errors():
        page = apigateway().get_usage(
            usagePlanId=plan_aws_id,
            keyId=key_aws_id,
            startDate=start.isoformat(),
            endDate=end.isoformat(),
        )
    days = (page.get("items") or {}).get(key_aws_id) or []
    return [(int(day[0]), int(day[1])) for day in days]


def set_remaining_quota(plan_aws_id: str, key_aws_id: str, remaining: int) -> None:
    """UpdateUsage: the key may make `remaining` more requests in the current quota period."""
    with aws_errors():
        apigateway().update_usage(
            usagePlanId=plan_aws_id,
            keyId=key_aws_id,
            patchOperations=cast(
                Any, [{"op": "replace", "path": "/remaining", "value": str(remaining)}]
            ),
        )
