"""API Gateway usage plans, API keys and stages, spoken in Tollgate's terms.

Every object we create carries the tag `tollgate:id`, so a create that crashed before we saved the
AWS id is found and adopted on the next attempt instead of being created twice. Updates send only
the patch operations that differ from what AWS has now.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from portal.aws.clients import apigateway
from portal.aws.errors import AwsNotFound, aws_errors

OWNER_TAG = "tollgate:id"
PAGE_SIZE = 500  # the most API Gateway returns per page


@dataclass(frozen=True)
class StageRef:
    rest_api_id: str
    stage_name: str

    @property
    def patch_value(self) -> str:
        return f"{self.rest_api_id}:{self.stage_name}"


@dataclass(frozen=True)
class DiscoveredStage:
    rest_api_id: str
    api_name: str
    stage_name: str
    description: str
    deployment_id: str


@dataclass(frozen=True)
class Throttle:
    rate: Decimal
    burst: int


@dataclass(frozen=True)
class Quota:
    limit: int
    period: str
    offset: int


@dataclass(frozen=True)
class MethodLimit:
    """A per-method throttle: apiStages[].throttle["{resourcePath}/{httpMethod}"] of one stage."""

    stage: StageRef
    resource_path: str
    http_method: str
    rate: Decimal
    burst: int

    @property
    def key(self) -> str:
        return f"{self.resource_path}/{self.http_method}"

    @property
    def patch_path(self) -> str:
        """UpdateUsagePlan's path to this method's throttle (the API reference's Patch Operations
        table: /apiStages/{apiId:stage}/throttle/{resourcePath}/{httpMethod}); the resource path
        keeps its leading "/" unescaped, as Terraform's AWS provider sends it."""
        return f"/apiStages/{self.stage.patch_value}/throttle/{self.key}"

    def words(self) -> str:
        return f"{self.http_method} {self.resource_path} on {self.stage.patch_value}: " + (
            f"{self.rate.normalize():f} req/s, burst {self.burst}"
        )


@dataclass(frozen=True)
class UsagePlanSpec:
    owner_id: str
    name: str
    description: str
    stages: frozenset[StageRef]
    throttle: Throttle | None
    quota: Quota | None
    method_throttles: frozenset[MethodLimit] = frozenset()

    def method_throttles_of(self, stage: StageRef) -> dict[str, MethodLimit]:
        return {m.key: m for m in self.method_throttles if m.stage == stage}


@dataclass(frozen=True)
class ApiKeySpec:
    owner_id: str
    name: str
    description: str
    enabled: bool


@dataclass(frozen=True)
class CreatedApiKey:
    aws_id: str
    secret_sha256: str
    display_prefix: str


@dataclass
class AwsApiKey:
    aws_id: str
    name: str
    description: str
    enabled: bool
    tags: dict[str, str] = field(default_factory=dict)


def _paged(operation: str, **params: Any) -> list[dict[str, Any]]:
    """Walk a GetXxx listing page by page (AWS returns at most 500 items per call)."""
    with aws_errors():
        paginator = apigateway().get_paginator(operation)  # type: ignore[call-overload]
        items: list[dict[str, Any]] = []
        for page in paginator.paginate(**params, PaginationConfig={"PageSize": PAGE_SIZE}):
            items.extend(page.get("items", []))
        return items


# --- stages -----------------------------------------------------------------------------------


def list_stages() -> list[DiscoveredStage]:
    """Every stage of every REST API in the account and region (GetRestApis + GetStages)."""
    found: list[DiscoveredStage] = []
    for api in _paged("get_rest_apis"):
        with aws_errors():
            stages = apigateway().get_stages(restApiId=api["id"]).get("item", [])
        for stage in stages:
            found.append(
                DiscoveredStage(
                    rest_api_id=api["id"],
                    api_name=api.get("name", ""),
                    stage_name=stage["stageName"],
                    description=stage.get("description", "") or api.get("description", "") or "",
                    deployment_id=stage.get("deploymentId", "") or "",
                )
            )
    return found


# --- usage plans ------------------------------------------------------------------------------


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
    return _paged("get_usage_plans")


def find_usage_plan(owner_id: str) -> dict[str, Any] | None:
    for plan in _paged("get_usage_plans"):
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


@dataclass(frozen=True)
class Difference:
    """One field on which AWS and Tollgate disagree, in words a person can compare."""

    field: str
    ours: str
    aws: str


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


def _method_words(limits: frozenset[MethodLimit]) -> str:
    return "; ".join(sorted(m.words() for m in limits)) or "none"


def _throttle_words(throttle: Throttle | None) -> str:
    return f"{throttle.rate.normalize():f} req/s, burst {throttle.burst}" if throttle else "none"


def _quota_words(quota: Quota | None) -> str:
    if quota is None:
        return "none"
    offset = f", offset {quota.offset}" if quota.offset else ""
    return f"{quota.limit} per {quota.period.lower()}{offset}"


def _stage_words(stages: frozenset[StageRef]) -> str:
    return ", ".join(sorted(s.patch_value for s in stages)) or "none"


def usage_plan_differences(aws: UsagePlanSpec, ours: UsagePlanSpec) -> list[Difference]:
    found: list[Difference] = []
    if aws.name != ours.name:
        found.append(Difference("name", ours.name, aws.name))
    if aws.description != ours.description:
        found.append(Difference("description", ours.description, aws.description))
    if aws.stages != ours.stages:
        found.append(Difference("stages", _stage_words(ours.stages), _stage_words(aws.stages)))
    if aws.throttle != ours.throttle:
        found.append(
            Difference("throttle", _throttle_words(ours.throttle), _throttle_words(aws.throttle))
        )
    if aws.quota != ours.quota:
        found.append(Difference("quota", _quota_words(ours.quota), _quota_words(aws.quota)))
    if aws.method_throttles != ours.method_throttles:
        found.append(
            Difference(
                "method throttles",
                _method_words(ours.method_throttles),
                _method_words(aws.method_throttles),
            )
        )
    return found


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


def ensure_usage_plan(aws_id: str | None, spec: UsagePlanSpec) -> tuple[str, bool]:
    """Make AWS hold `spec`; returns the usage plan id and whether it was adopted or created."""
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
    orphan = find_usage_plan(spec.owner_id)
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


# --- API keys ---------------------------------------------------------------------------------


def _api_key(item: dict[str, Any]) -> AwsApiKey:
    return AwsApiKey(
        aws_id=item["id"],
        name=item.get("name", ""),
        description=item.get("description", "") or "",
        enabled=bool(item.get("enabled")),
        tags=dict(item.get("tags") or {}),
    )


def secret_fingerprint(value: str) -> tuple[str, str]:
    """The SHA-256 we keep of a key's secret, and the short prefix people recognise it by."""
    return hashlib.sha256(value.encode()).hexdigest(), value[:5]


def list_api_keys() -> list[AwsApiKey]:
    """Every API key in the account (500 a page), without values."""
    return [_api_key(item) for item in _paged("get_api_keys", includeValues=False)]


def api_key_fingerprints(key_ids: set[str]) -> dict[str, tuple[AwsApiKey, str, str]]:
    """(key, SHA-256, display prefix) of each wanted key; the values themselves go no further."""
    found: dict[str, tuple[AwsApiKey, str, str]] = {}
    for item in _paged("get_api_keys", includeValues=True):
        if item["id"] in key_ids:
            digest, prefix = secret_fingerprint(item["value"])
            found[item["id"]] = (_api_key(item), digest, prefix)
    return found


def api_key_fingerprint_listing(name_prefix: str = "") -> list[tuple[AwsApiKey, str, str]]:
    """(key, SHA-256, display prefix) of every key, or of those whose name starts with
    `name_prefix` (GetApiKeys nameQuery, 500 a page); the values themselves go no further."""
    params: dict[str, Any] = {"includeValues": True}
    if name_prefix:
        params["nameQuery"] = name_prefix
    found: list[tuple[AwsApiKey, str, str]] = []
    for item in _paged("get_api_keys", **params):
        if name_prefix and not str(item.get("name", "")).startswith(name_prefix):
            continue
        digest, prefix = secret_fingerprint(item["value"])
        found.append((_api_key(item), digest, prefix))
    return found


def import_api_keys(csv_text: str) -> tuple[list[str], list[str]]:
    """ImportApiKeys: create (or, for a value AWS already holds, overwrite) keys from a CSV
    file (Name,Key,Description,Enabled,UsagePlanIds) and put them in their usage plans.

    Rows AWS refuses are skipped with a warning ("Line N: ..."; the header is line 1) instead
    of failing the whole file. Returns (ids, warnings). The body holds secrets: never log it.
    """
    with aws_errors():
        answer = apigateway().import_api_keys(
            body=csv_text.encode(), format="csv", failOnWarnings=False
        )
    return [str(i) for i in answer.get("ids") or []], [str(w) for w in answer.get("warnings") or []]


def api_key_differences(aws: AwsApiKey, ours: ApiKeySpec) -> list[Difference]:
    found: list[Difference] = []
    if aws.name != ours.name:
        found.append(Difference("name in AWS", ours.name, aws.name))
    if aws.description != ours.description:
        found.append(Difference("description", ours.description, aws.description))
    if aws.enabled != ours.enabled:
        words = {True: "enabled", False: "disabled"}
        found.append(Difference("enabled", words[ours.enabled], words[aws.enabled]))
    return found


def find_api_key(spec: ApiKeySpec) -> AwsApiKey | None:
    """A key left behind by a crashed create: same unique name, carrying our tag."""
    for item in _paged("get_api_keys", nameQuery=spec.name):
        key = _api_key(item)
        if key.name == spec.name and key.tags.get(OWNER_TAG) == spec.owner_id:
            return key
    return None


def create_api_key(spec: ApiKeySpec) -> CreatedApiKey:
    """Create a key whose secret API Gateway generates; only its fingerprint leaves this function."""
    with aws_errors():
        created = apigateway().create_api_key(
            name=spec.name,
            description=spec.description,
            enabled=spec.enabled,
            tags={OWNER_TAG: spec.owner_id},
        )
    digest, prefix = secret_fingerprint(created["value"])
    return CreatedApiKey(aws_id=created["id"], secret_sha256=digest, display_prefix=prefix)


def get_api_key(aws_id: str) -> AwsApiKey:
    with aws_errors():
        return _api_key(dict(apigateway().get_api_key(apiKey=aws_id, includeValue=False)))


def get_api_key_secret(aws_id: str) -> str:
    """The secret itself, for the one time its owner may see it. Never log the result."""
    with aws_errors():
        return str(apigateway().get_api_key(apiKey=aws_id, includeValue=True)["value"])


def fingerprint_of(aws_id: str) -> tuple[str, str]:
    return secret_fingerprint(get_api_key_secret(aws_id))


def api_key_patch(current: AwsApiKey, spec: ApiKeySpec) -> list[dict[str, str]]:
    ops: list[dict[str, str]] = []
    if current.name != spec.name:
        ops.append({"op": "replace", "path": "/name", "value": spec.name})
    if current.description != spec.description:
        ops.append({"op": "replace", "path": "/description", "value": spec.description})
    if current.enabled != spec.enabled:
        ops.append({"op": "replace", "path": "/enabled", "value": str(spec.enabled).lower()})
    return ops


def update_api_key(aws_id: str, spec: ApiKeySpec) -> None:
    ops = api_key_patch(get_api_key(aws_id), spec)
    if ops:
        with aws_errors():
            apigateway().update_api_key(apiKey=aws_id, patchOperations=cast(Any, ops))


def delete_api_key(aws_id: str) -> None:
    """Delete a key (AWS removes it from its usage plans too); already gone counts as done."""
    try:
        with aws_errors():
            apigateway().delete_api_key(apiKey=aws_id)
    except AwsNotFound:
        return


# --- usage-plan keys --------------------------------------------------------------------------


def usage_plans_of_key(key_aws_id: str) -> list[str]:
    return [plan["id"] for plan in _paged("get_usage_plans", keyId=key_aws_id)]


def ensure_key_in_plan(
    key_aws_id: str, plan_aws_id: str | None, *, known_plans: list[str] | None = None
) -> None:
    """Leave every other usage plan, then join `plan_aws_id` (None: belong to no plan).

    Leaving first matters: AWS refuses a key in two usage plans that cover the same API stage.
    `known_plans` saves the lookup when the caller knows them (a key created a moment ago).
    """
    current = usage_plans_of_key(key_aws_id) if known_plans is None else known_plans
    for other in current:
        if other != plan_aws_id:
            try:
                with aws_errors():
                    apigateway().delete_usage_plan_key(usagePlanId=other, keyId=key_aws_id)
            except AwsNotFound:
                pass
    if plan_aws_id and plan_aws_id not in current:
        with aws_errors():
            apigateway().create_usage_plan_key(
                usagePlanId=plan_aws_id, keyId=key_aws_id, keyType="API_KEY"
            )


def keys_of_usage_plan(plan_aws_id: str) -> list[str]:
    return [item["id"] for item in _paged("get_usage_plan_keys", usagePlanId=plan_aws_id)]
