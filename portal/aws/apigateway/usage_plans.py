"""Usage plans (Tollgate's tiers) in AWS: read, create, patch, adopt and delete.

Updates send only the patch operations that differ from what AWS has now, so a sync that finds
nothing to change makes no write. A plan whose create crashed before we saved its id is found by
its `tollgate:id` tag and adopted (`ensure_usage_plan`) instead of being created twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from portal.aws.apigateway.paging import paged
from portal.aws.apigateway.specs import (
    OWNER_TAG,
    MethodLimit,
    Quota,
    StageRef,
    Throttle,
    UsagePlanSpec,
)
from portal.aws.clients import apigateway
from portal.aws.errors import AwsNotFound, aws_errors
from portal.errors import PermanentSyncError


def _method_throttle_map(limits: dict[str, MethodLimit]) -> dict[str, dict[str, Any]]:
    return {
        key: {"rateLimit": float(m.rate), "burstLimit": m.burst}
        for key, m in sorted(limits.items())
    }


def _api_stage_request(spec: UsagePlanSpec, stage: StageRef) -> dict[str, Any]:
    entry: dict[str, Any] = {"apiId": stage.rest_api_id, "stage": stage.stage_name}
    limits = spec.method_throttles_of(stage)
    if limits:
        entry["throttle"] = _method_throttle_map(limits)
    return entry


def _plan_request(spec: UsagePlanSpec) -> dict[str, Any]:
    request: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description,
        "apiStages": [
            _api_stage_request(spec, s) for s in sorted(spec.stages, key=lambda s: s.patch_value)
        ],
        "tags": {OWNER_TAG: spec.owner_id},
    }
    if spec.throttle:
        request["throttle"] = {
            "rateLimit": float(spec.throttle.rate),
            "burstLimit": spec.throttle.burst,
        }
    if spec.quota:
        request["quota"] = {
            "limit": spec.quota.limit,
            "period": spec.quota.period,
            "offset": spec.quota.offset,
        }
    return request


def list_usage_plans() -> list[dict[str, Any]]:
    return paged("get_usage_plans")


def find_usage_plan(owner_id: str) -> dict[str, Any] | None:
    for plan in paged("get_usage_plans"):
        if (plan.get("tags") or {}).get(OWNER_TAG) == owner_id:
            return plan
    return None


def get_usage_plan(aws_id: str) -> dict[str, Any]:
    with aws_errors():
        plan: dict[str, Any] = dict(apigateway().get_usage_plan(usagePlanId=aws_id))
        return plan


def create_usage_plan(spec: UsagePlanSpec) -> str:
    with aws_errors():
        created = apigateway().create_usage_plan(**_plan_request(spec))
    return created["id"]


def _number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def usage_plan_state(current: dict[str, Any]) -> UsagePlanSpec:
    """What a GetUsagePlan answer says, in the same terms as the spec we push."""
    throttle = current.get("throttle") or {}
    quota = current.get("quota") or {}
    rate, burst = _number(throttle.get("rateLimit")), _number(throttle.get("burstLimit"))
    limit = _number(quota.get("limit"))
    method_limits: set[MethodLimit] = set()
    for entry in current.get("apiStages") or []:
        if "apiId" not in entry:
            continue
        stage = StageRef(entry["apiId"], entry["stage"])
        for key, limits in (entry.get("throttle") or {}).items():
            resource_path, _, http_method = str(key).rpartition("/")
            m_rate, m_burst = _number(limits.get("rateLimit")), _number(limits.get("burstLimit"))
            method_limits.add(
                MethodLimit(
                    stage,
                    resource_path,
                    http_method,
                    m_rate if m_rate is not None else Decimal("0"),
                    int(m_burst) if m_burst is not None else 0,
                )
            )
    return UsagePlanSpec(
        owner_id=(current.get("tags") or {}).get(OWNER_TAG, ""),
        name=current.get("name", ""),
        description=current.get("description") or "",
        stages=frozenset(
            StageRef(s["apiId"], s["stage"]) for s in current.get("apiStages") or [] if "apiId" in s
        ),
        throttle=Throttle(rate, int(burst)) if rate is not None and burst is not None else None,
        quota=Quota(int(limit), str(quota.get("period", "")), int(quota.get("offset") or 0))
        if limit is not None
        else None,
        method_throttles=frozenset(method_limits),
    )


def _method_throttle_patch(
    have: UsagePlanSpec, spec: UsagePlanSpec, stage: StageRef, stage_is_new: bool
) -> list[dict[str, str]]:
    """Per-method throttle ops for one stage (API reference, Patch Operations, UpdateUsagePlan):
    `remove` .../throttle/{resourcePath}/{httpMethod} drops one method; `add`/`replace`
    .../rateLimit and .../burstLimit set one limit (`add` for a method not there yet)."""
    old = {} if stage_is_new else have.method_throttles_of(stage)
    new = spec.method_throttles_of(stage)
    ops: list[dict[str, str]] = []
    for key in sorted(old.keys() - new.keys()):
        ops.append({"op": "remove", "path": old[key].patch_path})
    for key in sorted(new):
        want, was = new[key], old.get(key)
        op = "add" if was is None else "replace"
        if was is None or was.rate != want.rate:
            ops.append({"op": op, "path": f"{want.patch_path}/rateLimit", "value": str(want.rate)})
        if was is None or was.burst != want.burst:
            ops.append(
                {"op": op, "path": f"{want.patch_path}/burstLimit", "value": str(want.burst)}
            )
    return ops


def usage_plan_patch(current: dict[str, Any], spec: UsagePlanSpec) -> list[dict[str, str]]:
    """The patch operations that turn `current` (GetUsagePlan) into `spec`, and nothing more."""
    have = usage_plan_state(current)
    ops: list[dict[str, str]] = []
    if have.name != spec.name:
        ops.append({"op": "replace", "path": "/name", "value": spec.name})
    if have.description != spec.description:
        ops.append({"op": "replace", "path": "/description", "value": spec.description})
    for stage in sorted(have.stages - spec.stages, key=lambda s: s.patch_value):
        ops.append({"op": "remove", "path": "/apiStages", "value": stage.patch_value})
    for stage in sorted(spec.stages - have.stages, key=lambda s: s.patch_value):
        ops.append({"op": "add", "path": "/apiStages", "value": stage.patch_value})
    for stage in sorted(spec.stages, key=lambda s: s.patch_value):
        ops.extend(_method_throttle_patch(have, spec, stage, stage not in have.stages))

    if spec.throttle is None:
        if have.throttle is not None:
            ops.append({"op": "remove", "path": "/throttle"})
    else:
        if have.throttle is None or have.throttle.rate != spec.throttle.rate:
            ops.append(
                {"op": "replace", "path": "/throttle/rateLimit", "value": str(spec.throttle.rate)}
            )
        if have.throttle is None or have.throttle.burst != spec.throttle.burst:
            ops.append(
                {"op": "replace", "path": "/throttle/burstLimit", "value": str(spec.throttle.burst)}
            )

    if spec.quota is None:
        if have.quota is not None:
            ops.append({"op": "remove", "path": "/quota"})
    else:
        if have.quota is None or have.quota.limit != spec.quota.limit:
            ops.append({"op": "replace", "path": "/quota/limit", "value": str(spec.quota.limit)})
        if have.quota is None or have.quota.period != spec.quota.period:
            ops.append({"op": "replace", "path": "/quota/period", "value": spec.quota.period})
        if have.quota is None or have.quota.offset != spec.quota.offset:
            ops.append({"op": "replace", "path": "/quota/offset", "value": str(spec.quota.offset)})
    return ops


def update_usage_plan(aws_id: str, ops: list[dict[str, str]]) -> None:
    with aws_errors():
        apigateway().update_usage_plan(usagePlanId=aws_id, patchOperations=cast(Any, ops))


def usage_plan_record(spec: UsagePlanSpec) -> dict[str, Any]:
    """What AWS holds once `spec` is pushed, in GetUsagePlan's shape: kept by the caller so the
    next push can patch without reading first (`ensure_usage_plan(known=...)`)."""
    return _plan_request(spec)


def ensure_usage_plan(
    aws_id: str | None,
    spec: UsagePlanSpec,
    *,
    known: dict[str, Any] | None = None,
    fresh: bool = False,
) -> tuple[str, bool]:
    """Make AWS hold `spec`; returns the usage plan id and whether it was adopted or created.

    `known`: what the caller last made AWS hold for `aws_id` (usage_plan_record): the patch is
    worked out from it, with no GetUsagePlan (a change made in AWS meanwhile is the
    reconciler's to find, as drift). `fresh`: no earlier attempt can have made this plan, so
    there is no orphan to look for before creating it.
    """
    if aws_id and known is not None:
        ops = usage_plan_patch(known, spec)
        if not ops:
            return aws_id, False
        try:
            update_usage_plan(aws_id, ops)
            return aws_id, False
        except AwsNotFound:
            pass  # deleted in AWS: found or made again below
        except PermanentSyncError:
            pass  # AWS holds something else than `known` (a stage already added): read it
    if aws_id:
        try:
            current = get_usage_plan(aws_id)
        except AwsNotFound:
            current = None
        if current is not None:
            ops = usage_plan_patch(current, spec)
            if ops:
                update_usage_plan(aws_id, ops)
            return aws_id, False
    orphan = None if fresh else find_usage_plan(spec.owner_id)
    if orphan is not None:
        ops = usage_plan_patch(orphan, spec)
        if ops:
            update_usage_plan(orphan["id"], ops)
        return orphan["id"], True
    return create_usage_plan(spec), True


def delete_usage_plan(aws_id: str) -> None:
    """Delete a usage plan; its stages are detached first because AWS refuses otherwise."""
    try:
        current = get_usage_plan(aws_id)
    except AwsNotFound:
        return
    detach = [
        {"op": "remove", "path": "/apiStages", "value": f"{s['apiId']}:{s['stage']}"}
        for s in current.get("apiStages") or []
        if "apiId" in s
    ]
    if detach:
        update_usage_plan(aws_id, detach)
    try:
        with aws_errors():
            apigateway().delete_usage_plan(usagePlanId=aws_id)
    except AwsNotFound:
        return
