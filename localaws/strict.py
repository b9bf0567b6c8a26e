"""Rules where moto is kinder than AWS, re-imposed so the dashboard meets them locally.

* Paging. AWS pages GetApiKeys, GetUsagePlans, GetUsagePlanKeys and GetRestApis:
  ``limit`` defaults to 25 and may not exceed 500, and an opaque ``position`` token
  continues a listing. Moto returns everything at once and never a ``position``, which
  would let code that forgets to follow ``position`` pass every test and then silently
  lose the 26th customer in production.
* Usage plan keys (the same-stage conflict, stale rows, unknown plans): see
  ``localaws.plan_keys``. GetApiKeys ignores ``customerId`` in moto.
* UpdateUsagePlan: moto crashes on a fractional ``/throttle/rateLimit`` and stores
  quota numbers as the strings the patch carried; AWS stores typed numbers.
* UpdateUsagePlan per-method throttles: moto ignores every
  ``/apiStages/{apiId}:{stage}/throttle...`` path (and its substring matching can even
  mistake one for ``/name`` or ``/description``), and its ``/apiStages`` remove crashes
  on a stage that carries a throttle map. ``apply_api_stage_patch`` applies the
  ``/apiStages...`` family itself, following the API reference's "Patch Operations"
  table for UpdateUsagePlan.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from typing import Any

from moto.apigateway.models import apigateway_backends

PAGED_OPERATIONS = frozenset({"GetApiKeys", "GetUsagePlans", "GetUsagePlanKeys", "GetRestApis"})
DEFAULT_LIMIT = 25
MAX_LIMIT = 500
_POSITION_PREFIX = "localaws-after:"


class ApiError(Exception):
    """An error AWS would return; rendered by ``wire.error_response``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def apigateway_backend(account: str, region: str) -> Any:
    """Moto's in-process API Gateway backend of ``account`` in ``region``: the one moto
    serves the request from (``localaws.accounts.account_of`` picks the account)."""
    return apigateway_backends[account][region]


def parse_limit(raw: str | None) -> int:
    """``limit`` as AWS validates it (1..500, default 25)."""
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise ApiError(400, "BadRequestException", f"Invalid value for limit: {raw!r}") from None
    if limit > MAX_LIMIT:
        raise ApiError(
            400,
            "BadRequestException",
            f"1 validation error detected: Value '{limit}' at 'limit' failed to "
            f"satisfy constraint: Member must have value less than or equal to {MAX_LIMIT}",
        )
    if limit < 1:
        raise ApiError(
            400,
            "BadRequestException",
            f"1 validation error detected: Value '{limit}' at 'limit' failed to "
            "satisfy constraint: Member must have value greater than or equal to 1",
        )
    return limit


def encode_position(last_id: str) -> str:
    """Opaque continuation token: the id of the last item already returned.

    Keyset paging (rather than an offset) keeps a listing consistent when items are
    created or deleted between page requests, as AWS listings are.
    """
    return base64.urlsafe_b64encode((_POSITION_PREFIX + last_id).encode()).decode()


def decode_position(token: str) -> str:
    """The last-returned id inside ``token``; AWS rejects tokens it did not issue."""
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_POSITION_PREFIX):
        raise ApiError(400, "BadRequestException", "Invalid position parameter")
    return text[len(_POSITION_PREFIX) :]


def page(items: list[dict[str, Any]], limit: int, position: str | None) -> dict[str, Any]:
    """One page of ``items`` (ordered by id) in AWS's ``{"item": [...], "position"}`` shape."""
    ordered = sorted(items, key=lambda item: str(item.get("id", "")))
    if position is not None:
        after = decode_position(position)
        ordered = [item for item in ordered if str(item.get("id", "")) > after]
    body: dict[str, Any] = {"item": ordered[:limit]}
    if len(ordered) > limit:
        body["position"] = encode_position(str(ordered[limit - 1]["id"]))
    return body


_RATE_LIMIT_PATH = "/throttle/rateLimit"


def moto_safe_patch(patch_operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """UpdateUsagePlan patch operations moto can apply.

    Moto parses ``/throttle/rateLimit`` with ``int()``, so a legal AWS rate such as
    "2.5" crashes it with an HTML 500. Send it a placeholder; ``fix_usage_plan_numbers``
    then stores the real value.
    """
    return [
        op | {"value": "0"} if op.get("path") == _RATE_LIMIT_PATH and "value" in op else op
        for op in patch_operations
    ]


def fix_usage_plan_numbers(
    account: str, region: str, plan_id: str, patch_operations: list[dict[str, Any]]
) -> dict[str, Any]:
    """Store patched numbers with AWS's types and return the plan's JSON.

    Patch values arrive as strings; moto stores quota limit/offset verbatim (so
    GetUsagePlan would answer ``"limit": "1000"``) and truncates the rate limit.
    AWS models quota limit/offset and burstLimit as integers, rateLimit as a double.
    """
    plan = apigateway_backend(account, region).usage_plans[plan_id]
    for op in patch_operations:
        if op.get("op") not in ("add", "replace") or "value" not in op:
            continue
        path, value = op.get("path"), str(op["value"])
        if path == _RATE_LIMIT_PATH:
            plan.throttle["rateLimit"] = float(value)
        elif path == "/throttle/burstLimit":
            plan.throttle["burstLimit"] = int(value)
        elif path in ("/quota/limit", "/quota/offset"):
            plan.quota[path.rsplit("/", 1)[-1]] = int(value)
    result: dict[str, Any] = plan.to_json()
    return result


# --- per-method throttles (apiStages[].throttle) ------------------------------------------------

# The API reference's "Patch Operations" table for UpdateUsagePlan
# (https://docs.aws.amazon.com/apigateway/latest/api/patch-operations.html):
#   /apiStages                                                    add, remove (value "apiId:stage")
#   /apiStages/{apiId:stage}/throttle                             add, replace, remove
#   /apiStages/{apiId:stage}/throttle/{resourcePath}/{httpMethod} remove
#   /apiStages/{apiId:stage}/throttle/{resourcePath}/{httpMethod}/rateLimit   add, replace
#   /apiStages/{apiId:stage}/throttle/{resourcePath}/{httpMethod}/burstLimit  add, replace
# {resourcePath} starts with "/" and is accepted raw ("throttle//forecast/GET/rateLimit", the
# form Terraform's AWS provider sends) or JSON-Pointer escaped ("throttle/~1forecast/GET/...").
_STAGE_PATH = re.compile(r"^/apiStages/(?P<api>[^/:]+):(?P<stage>[^/]+)/throttle(?P<rest>/.*)?$")
_METHOD = re.compile(r"^(\*|[A-Z]+)$")
_LIMIT_FIELDS = ("rateLimit", "burstLimit")


def is_api_stage_op(op: dict[str, Any]) -> bool:
    return str(op.get("path", "")).startswith("/apiStages")


def _bad(message: str) -> ApiError:
    return ApiError(400, "BadRequestException", message)


def _unsupported(op: dict[str, Any]) -> ApiError:
    return _bad(
        f"Invalid patch operation specified: '{op.get('op')}' is not supported on path "
        f"'{op.get('path')}'"
    )


def _limit_value(field: str, raw: Any) -> float | int:
    try:
        number = float(raw) if field == "rateLimit" else int(str(raw))
    except (TypeError, ValueError):
        raise _bad(f"Invalid {field} value specified: {raw!r}") from None
    if number < 0:
        raise _bad(f"Invalid {field} value specified: {raw!r}")
    return number


def _method_key(rest: str, op: dict[str, Any]) -> tuple[str, str | None]:
    """``"/{resourcePath}/{httpMethod}[/field]"`` -> ("{resourcePath}/{httpMethod}", field)."""
    parts = rest[1:].split("/")
    field = parts.pop() if parts and parts[-1] in _LIMIT_FIELDS else None
    if len(parts) < 2:
        raise _unsupported(op)
    method = parts.pop()
    resource = "/".join(parts).replace("~1", "/").replace("~0", "~")
    if not resource.startswith("/") or not _METHOD.match(method):
        raise _bad(f"Invalid method throttle path specified: '{op.get('path')}'")
    return f"{resource}/{method}", field


def _throttle_map(raw: Any) -> dict[str, dict[str, float | int]]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise _bad("Invalid throttle value: it must be a JSON object") from None
    if not isinstance(value, dict):
        raise _bad("Invalid throttle value: it must be a JSON object")
    result: dict[str, dict[str, float | int]] = {}
    for key, limits in value.items():
        if not isinstance(limits, dict):
            raise _bad(f"Invalid throttle value for '{key}'")
        result[str(key)] = {
            f: _limit_value(f, limits[f]) for f in _LIMIT_FIELDS if limits.get(f) is not None
        }
    return result


def _apply_one(stages: list[dict[str, Any]], op: dict[str, Any]) -> None:
    kind, path = op.get("op"), str(op.get("path", ""))
    if path == "/apiStages":
        api_id, _, stage_name = str(op.get("value", "")).partition(":")
        if not api_id or not stage_name:
            raise _bad("Invalid API stage specified: the value must be 'restApiId:stageName'")
        index = next(
            (
                i
                for i, s in enumerate(stages)
                if (s.get("apiId"), s.get("stage")) == (api_id, stage_name)
            ),
            None,
        )
        if kind == "add":
            if index is None:
                stages.append({"apiId": api_id, "stage": stage_name})
        elif kind == "remove":
            if index is None:
                raise _bad(f"API stage {api_id}:{stage_name} is not in this usage plan")
            del stages[index]
        else:
            raise _unsupported(op)
        return
    match = _STAGE_PATH.match(path)
    if match is None:
        raise _bad(f"Invalid patch path '{path}'")
    entry = next(
        (s for s in stages if (s.get("apiId"), s.get("stage")) == (match["api"], match["stage"])),
        None,
    )
    if entry is None:
        raise _bad(f"API stage {match['api']}:{match['stage']} is not in this usage plan")
    rest = match["rest"]
    if rest is None:  # the whole map
        if kind in ("add", "replace"):
            entry["throttle"] = _throttle_map(op.get("value"))
        elif kind == "remove":
            entry.pop("throttle", None)
        else:
            raise _unsupported(op)
        return
    key, field = _method_key(rest, op)
    throttle = entry.setdefault("throttle", {})
    if field is None:
        if kind != "remove":
            raise _unsupported(op)
        if key not in throttle:
            raise _bad(f"No throttle is set for method {key} on {match['api']}:{match['stage']}")
        del throttle[key]
    elif kind in ("add", "replace"):
        throttle.setdefault(key, {})[field] = _limit_value(field, op.get("value"))
    else:
        raise _unsupported(op)
    if not throttle:
        entry.pop("throttle", None)


def apply_api_stage_patch(
    account: str, region: str, plan_id: str, patch_operations: list[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    """The plan's apiStages after the ``/apiStages...`` operations, applied in order.

    Returns None when the plan does not exist (moto answers the 404). Raises ApiError,
    changing nothing, when an operation is one AWS refuses; the caller stores the result
    only once the rest of the patch succeeded.
    """
    plan = apigateway_backend(account, region).usage_plans.get(plan_id)
    if plan is None:
        return None
    stages: list[dict[str, Any]] = copy.deepcopy(list(plan.api_stages))
    for op in patch_operations:
        if is_api_stage_op(op):
            _apply_one(stages, op)
    return stages


def store_api_stages(account: str, region: str, plan_id: str, stages: list[dict[str, Any]]) -> None:
    apigateway_backend(account, region).usage_plans[plan_id].api_stages = stages
