"""Which throttles a request is checked against, read from the live configuration.

API Gateway applies throttling at these levels (Developer Guide, "Throttle requests to your
REST APIs for better throughput in API Gateway", section "How throttling limit settings are
applied in API Gateway"): per client (the usage plan's throttle for the API key, or its
per-method throttle in the plan's API stage), per API stage and method (the stage's method
settings), and per account and Region (GetAccount ``throttleSettings``; AWS's default is
10,000 requests per second with a burst of 5,000, which is also moto's). A request needs a
token at every level.

Bucket identity, and the choices behind it:

* Usage plan: one bucket per (plan, API key) for all the plan's stages, or one per (plan,
  key, API, stage, method) when the plan's API stage has a per-method throttle for the
  method (``apiStages[].throttle["/path/METHOD"]``, as the UpdateUsagePlan "Patch
  Operations" table spells the key) - the override replaces the plan-wide throttle for
  that method.
* Stage: "Per-API, per-stage throttling limits are applied at the API method level for a
  stage", so each method has its own bucket, sized by its own method setting
  (``/{resource path}/{METHOD}``, stored by moto as ``~1resource~1path/METHOD``) or else
  the stage-wide ``*/*`` setting. A stage without method settings has no stage level.
* A level is enforced only when its rate limit is set; a missing burst limit is taken as
  the rate rounded up (at least 1). A negative rate means "not throttled" (the console's
  -1).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import Any

from localaws.gateway.buckets import Limit

Level = tuple[Hashable, Limit]


def limit_of(rate: Any, burst: Any) -> Limit | None:
    """A Limit from stored rate/burst values (numbers or the strings a patch carried)."""
    if rate is None or rate == "":
        return None
    try:
        rate_value = float(rate)
    except (TypeError, ValueError):
        return None
    if rate_value < 0:
        return None
    try:
        burst_value = int(float(burst)) if burst not in (None, "") else None
    except (TypeError, ValueError):
        burst_value = None
    if burst_value is None:
        burst_value = max(1, math.ceil(rate_value))
    return Limit(rate=rate_value, burst=max(0, burst_value))


def method_key(resource_path: str, http_method: str) -> str:
    """``/forecast/{city}/GET`` (``//GET`` for the root): how a method is named in
    per-method throttles."""
    return f"{resource_path}/{http_method}"


def _stage_setting(method_settings: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """The stage's method setting for ``key`` (``/path/METHOD``), in any of the spellings a
    patch path leaves behind (``~1path/METHOD``, ``path/METHOD``, ``/path/METHOD``)."""
    for name, setting in method_settings.items():
        if name == "*/*" or not isinstance(setting, Mapping):
            continue
        decoded = name.replace("~1", "/")
        if not decoded.startswith("/"):
            decoded = "/" + decoded
        if decoded == key:
            return setting
    return None


def stage_limit(stage: Any, key: str) -> Limit | None:
    settings: Mapping[str, Any] = getattr(stage, "method_settings", None) or {}
    setting = _stage_setting(settings, key)
    for candidate in (setting, settings.get("*/*")):
        if isinstance(candidate, Mapping):
            limit = limit_of(
                candidate.get("throttlingRateLimit"), candidate.get("throttlingBurstLimit")
            )
            if limit is not None:
                return limit
    return None


def plan_method_limit(plan: Any, api_id: str, stage_name: str, key: str) -> Limit | None:
    for api_stage in plan.api_stages or []:
        if api_stage.get("apiId") != api_id or api_stage.get("stage") != stage_name:
            continue
        override = (api_stage.get("throttle") or {}).get(key)
        if isinstance(override, Mapping):
            return limit_of(override.get("rateLimit"), override.get("burstLimit"))
    return None


def plan_limit(plan: Any) -> Limit | None:
    throttle = plan.throttle or {}
    return limit_of(throttle.get("rateLimit"), throttle.get("burstLimit"))


def account_limit(backend: Any) -> Limit | None:
    settings = getattr(backend.account, "throttle_settings", None) or {}
    return limit_of(settings.get("rateLimit"), settings.get("burstLimit"))


def levels(
    *,
    account_id: str,
    region: str,
    backend: Any,
    api_id: str,
    stage: Any,
    resource_path: str,
    http_method: str,
    plan: Any | None,
    key_id: str | None,
) -> list[Level]:
    """Every (bucket key, limit) the request must find a token in, client level first."""
    key = method_key(resource_path, http_method)
    found: list[Level] = []
    if plan is not None and key_id is not None:
        override = plan_method_limit(plan, api_id, stage.name, key)
        if override is not None:
            found.append(
                (
                    ("plan-method", account_id, region, plan.id, key_id, api_id, stage.name, key),
                    override,
                )
            )
        else:
            limit = plan_limit(plan)
            if limit is not None:
                found.append((("plan", account_id, region, plan.id, key_id), limit))
    limit = stage_limit(stage, key)
    if limit is not None:
        found.append((("stage", account_id, region, api_id, stage.name, key), limit))
    limit = account_limit(backend)
    if limit is not None:
        found.append((("account", account_id, region), limit))
    return found
