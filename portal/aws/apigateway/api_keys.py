"""API keys in AWS: create, find, read, update and delete them, and their usage-plan membership.

A new key's secret is generated here, right before CreateApiKey (`key_values`: a format secret
scanners recognise), and leaves this module only as a fingerprint (its SHA-256 and the short
prefix people recognise it by), except through `get_api_key_secret`, the one time its owner may
see it. A key whose create crashed before we saved its id is found by its
unique name and `tollgate:id` tag (`find_api_key`) instead of being created twice.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

from portal.aws.apigateway.key_values import display_prefix_of, new_key_value
from portal.aws.apigateway.paging import paged
from portal.aws.apigateway.specs import OWNER_TAG, ApiKeySpec, AwsApiKey, CreatedApiKey
from portal.aws.clients import apigateway
from portal.aws.errors import AwsNotFound, aws_errors
from portal.errors import PermanentSyncError


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
    return hashlib.sha256(value.encode()).hexdigest(), display_prefix_of(value)


def list_api_keys() -> list[AwsApiKey]:
    """Every API key in the account (500 a page), without values."""
    return [_api_key(item) for item in paged("get_api_keys", includeValues=False)]


def api_key_fingerprints(key_ids: set[str]) -> dict[str, tuple[AwsApiKey, str, str]]:
    """(key, SHA-256, display prefix) of each wanted key; the values themselves go no further."""
    found: dict[str, tuple[AwsApiKey, str, str]] = {}
    for item in paged("get_api_keys", includeValues=True):
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
    for item in paged("get_api_keys", **params):
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


def find_api_key(spec: ApiKeySpec) -> AwsApiKey | None:
    """A key left behind by a crashed create: same unique name, carrying our tag."""
    for item in paged("get_api_keys", nameQuery=spec.name):
        key = _api_key(item)
        if key.name == spec.name and key.tags.get(OWNER_TAG) == spec.owner_id:
            return key
    return None


def create_api_key(spec: ApiKeySpec, *, value: str | None = None) -> CreatedApiKey:
    """Create a key with `value` (another copy's, in another account or region) or a new value
    of Tollgate's format (`key_values`), generated here; only its fingerprint leaves this
    function."""
    value = value or new_key_value()
    with aws_errors():
        created = apigateway().create_api_key(
            name=spec.name,
            description=spec.description,
            enabled=spec.enabled,
            value=value,
            tags={OWNER_TAG: spec.owner_id},
        )
    digest, prefix = secret_fingerprint(value)
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


def api_key_record(spec: ApiKeySpec) -> dict[str, Any]:
    """What AWS holds once `spec` is pushed: kept by the caller so the next update can patch
    without reading first (`update_api_key(known=...)`)."""
    return {"name": spec.name, "description": spec.description, "enabled": spec.enabled}


def update_api_key(aws_id: str, spec: ApiKeySpec, *, known: dict[str, Any] | None = None) -> None:
    """Make the key hold `spec`, patching only what differs from AWS now, or from `known`
    (api_key_record: what the caller last made it hold; no GetApiKey then, and a change made
    in AWS meanwhile is the reconciler's to find, as drift)."""
    current = (
        get_api_key(aws_id)
        if known is None
        else AwsApiKey(
            aws_id=aws_id,
            name=str(known.get("name", "")),
            description=str(known.get("description", "")),
            enabled=bool(known.get("enabled")),
            tags={},
        )
    )
    ops = api_key_patch(current, spec)
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
    return [plan["id"] for plan in paged("get_usage_plans", keyId=key_aws_id)]


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
        try:
            with aws_errors():
                apigateway().create_usage_plan_key(
                    usagePlanId=plan_aws_id, keyId=key_aws_id, keyType="API_KEY"
                )
        except PermanentSyncError:
            if known_plans is None:
                raise
            # `known_plans` was not what AWS holds (the key is in the plan already, or in
            # another covering the same stage): look, and move it as AWS has it.
            ensure_key_in_plan(key_aws_id, plan_aws_id)


def keys_of_usage_plan(plan_aws_id: str) -> list[str]:
    return [item["id"] for item in paged("get_usage_plan_keys", usagePlanId=plan_aws_id)]
