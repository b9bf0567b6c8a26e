"""GetUsage and UpdateUsage, the API Gateway operations moto lacks, answered from
``localaws.usage``'s store (the semantics and their sources are described there)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from localaws import strict
from localaws.usage import MAX_RANGE_DAYS, period_start, usage_store, utc_today


def _bad_request(message: str) -> strict.ApiError:
    return strict.ApiError(400, "BadRequestException", message)


def _parse_date(name: str, raw: str | None) -> datetime.date:
    if not raw:
        raise _bad_request(f"Invalid {name}: a date of the form YYYY-MM-DD is required")
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise _bad_request(f"Invalid {name} '{raw}': expected YYYY-MM-DD") from None


def _plan(account: str, region: str, plan_id: str) -> Any:
    plan = strict.apigateway_backend(account, region).usage_plans.get(plan_id)
    if plan is None:
        raise strict.ApiError(404, "NotFoundException", "Invalid Usage Plan ID specified")
    return plan


def _plan_key_ids(account: str, region: str, plan_id: str) -> list[str]:
    """Live API keys of the plan (moto keeps stale rows for deleted keys)."""
    backend = strict.apigateway_backend(account, region)
    return sorted(k for k in backend.usage_plan_keys.get(plan_id, {}) if k in backend.keys)


def get_usage(account: str, region: str, plan_id: str, params: Mapping[str, str]) -> dict[str, Any]:
    """GetUsage: daily ``[used, remaining]`` per API key of the plan, paged over keys.

    Keys are ordered by id; ``limit`` (default 25, max 500, per the GetUsage reference) counts
    keys, not days; ``position`` is the same opaque keyset token the other listings use.
    ``keyId`` restricts the answer to that key (empty ``values`` if it is not in the plan).
    """
    plan = _plan(account, region, plan_id)
    start = _parse_date("startDate", params.get("startDate"))
    end = _parse_date("endDate", params.get("endDate"))
    if end < start:
        raise _bad_request("The endDate must not be before the startDate")
    if (end - start).days > MAX_RANGE_DAYS:
        raise _bad_request(f"The date range must not exceed {MAX_RANGE_DAYS} days")
    limit = strict.parse_limit(params.get("limit"))
    key_ids = _plan_key_ids(account, region, plan_id)
    if params.get("keyId"):
        key_ids = [k for k in key_ids if k == params["keyId"]]
    position = params.get("position")
    if position is not None:
        after = strict.decode_position(position)
        key_ids = [k for k in key_ids if k > after]
    body: dict[str, Any] = {
        "usagePlanId": plan_id,
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
    }
    if len(key_ids) > limit:
        body["position"] = strict.encode_position(key_ids[limit - 1])
    body["values"] = {
        key_id: usage_store.daily_pairs(account, region, plan_id, key_id, plan.quota, start, end)
        for key_id in key_ids[:limit]
    }
    return body


def update_usage(
    account: str,
    region: str,
    plan_id: str,
    key_id: str,
    patch_operations: list[dict[str, Any]],
    today: datetime.date | None = None,
) -> dict[str, Any]:
    """UpdateUsage: ``replace /remaining`` sets the key's remaining quota for the current
    quota period (AWS CLI example; Developer Guide "Maintain a usage plan").

    Answers the Usage shape for that key from the current period's first day to today.
    """
    plan = _plan(account, region, plan_id)
    if key_id not in _plan_key_ids(account, region, plan_id):
        raise strict.ApiError(404, "NotFoundException", "Invalid API Key identifier specified")
    if not plan.quota or plan.quota.get("limit") is None:
        raise _bad_request(f"Usage plan {plan_id} has no quota to extend")
    if not patch_operations:
        raise _bad_request("Invalid patch operations: at least one is required")
    today = today or utc_today()
    for op in patch_operations:
        if op.get("op") != "replace" or op.get("path") != "/remaining":
            raise _bad_request(
                f"Invalid patch path '{op.get('path')}' for op '{op.get('op')}': "
                "only 'replace' of '/remaining' is supported"
            )
        raw = str(op.get("value", ""))
        try:
            remaining = int(raw)
        except ValueError:
            raise _bad_request(f"Invalid remaining quota value '{raw}'") from None
        if remaining < 0:
            raise _bad_request(f"Invalid remaining quota value '{raw}'")
        usage_store.set_remaining(account, region, plan_id, key_id, plan.quota, remaining, today)
    start = period_start(today, str(plan.quota.get("period") or "DAY"))
    return {
        "usagePlanId": plan_id,
        "startDate": start.isoformat(),
        "endDate": today.isoformat(),
        "values": {
            key_id: usage_store.daily_pairs(
                account, region, plan_id, key_id, plan.quota, start, today
            )
        },
    }
