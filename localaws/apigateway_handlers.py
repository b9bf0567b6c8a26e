"""API Gateway requests answered the way AWS answers them, where moto alone would not.

Moto never pages list results, lets one API key join two usage plans on the same API stage,
and lacks ImportApiKeys, GetUsage, UpdateUsage and GetExport. Each signed API Gateway request
comes here (under the write lock when it writes); the operations below are served or
corrected by ``localaws.strict``, ``localaws.plan_keys``, ``localaws.usage_operations``,
``localaws.import_keys`` and ``localaws.export``, and everything else goes to moto unchanged. A rule AWS would enforce
raises ``strict.ApiError``, answered as the AWS error botocore expects.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from werkzeug.wrappers import Response

from localaws import export, import_keys, plan_keys, strict, usage, usage_operations
from localaws.responses import MotoCall, json_response, path_part, with_body
from localaws.wire import AwsCall, error_response


def answer(environ: dict[str, Any], call: AwsCall, body: bytes, moto: MotoCall) -> Response:
    """The response to one API Gateway request (``call``), asking ``moto`` where it can."""
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    try:
        if call.operation == "ImportApiKeys":
            result = import_keys.import_api_keys(call.account, call.region, body, query)
            return json_response(result, 201)
        if call.operation == "GetUsage":
            return json_response(
                usage_operations.get_usage(call.account, call.region, path_part(environ, 2), query)
            )
        if call.operation == "UpdateUsage":
            operations = json.loads(body or b"{}").get("patchOperations") or []
            plan_id, key_id = path_part(environ, 2), path_part(environ, 4)
            return json_response(
                usage_operations.update_usage(
                    call.account, call.region, plan_id, key_id, operations
                )
            )
        if call.operation == "CreateUsagePlan":
            return _create_usage_plan(environ, call, moto)
        if call.operation == "GetExport":
            return _get_export(environ, call, query)
        if call.operation == "CreateDeployment":
            return _create_deployment(environ, call, moto)
        if call.operation == "GetBasePathMappings" and _domain_without_mappings(
            call.account, call.region, path_part(environ, 2)
        ):
            # Moto raises a KeyError (an HTML 500) here; AWS lists no mappings.
            return json_response({"item": []})
        if call.operation in strict.PAGED_OPERATIONS:
            return _paged(environ, call, moto)
        if call.operation == "CreateUsagePlanKey":
            payload = json.loads(body or b"{}")
            plan_keys.check_create_usage_plan_key(
                call.account, call.region, path_part(environ, 2), str(payload.get("keyId", ""))
            )
        elif call.operation in ("GetUsagePlanKey", "DeleteUsagePlanKey"):
            plan_keys.check_usage_plan_key(
                call.account, call.region, path_part(environ, 2), path_part(environ, 4)
            )
        elif call.operation == "UpdateUsagePlan":
            return _update_usage_plan(environ, call, body, moto)
    except strict.ApiError as exc:
        return error_response(call, exc.status, exc.code, exc.message)
    return moto(environ)


def _domain_without_mappings(account: str, region: str, domain_name: str) -> bool:
    backend = strict.apigateway_backend(account, region)
    return domain_name in backend.domain_names and not backend.base_path_mappings.get(domain_name)


def _create_usage_plan(environ: dict[str, Any], call: AwsCall, moto: MotoCall) -> Response:
    """Moto creates the plan; we remember the day (quota ``offset`` applies then)."""
    response = moto(environ)
    if response.status_code in (200, 201):
        plan_id = json.loads(response.get_data()).get("id")
        if plan_id:
            usage.usage_store.note_plan_created(call.account, call.region, str(plan_id))
    return response


def _get_export(environ: dict[str, Any], call: AwsCall, query: dict[str, str]) -> Response:
    """The stage's deployment as OpenAPI 3.0 or Swagger (see ``localaws.export``)."""
    body, content_type, disposition = export.get_export(
        call.account,
        call.region,
        path_part(environ, 2),
        path_part(environ, 4),
        path_part(environ, 6),
        query,
        environ.get("HTTP_ACCEPT", ""),
    )
    return Response(
        body, 200, content_type=content_type, headers={"Content-Disposition": disposition}
    )


def _create_deployment(environ: dict[str, Any], call: AwsCall, moto: MotoCall) -> Response:
    """Moto deploys; we capture what the deployment holds, for GetExport."""
    response = moto(environ)
    if response.status_code in (200, 201):
        deployment_id = json.loads(response.get_data()).get("id")
        if deployment_id:
            export.snapshot(call.account, call.region, path_part(environ, 2), str(deployment_id))
    return response


def _update_usage_plan(
    environ: dict[str, Any], call: AwsCall, body: bytes, moto: MotoCall
) -> Response:
    plan_id = path_part(environ, 2)
    operations = json.loads(body or b"{}").get("patchOperations") or []
    plan_keys.check_update_usage_plan(call.account, call.region, plan_id, operations)
    # The /apiStages family (stages and their per-method throttles) is ours; moto gets the rest.
    stages = strict.apply_api_stage_patch(call.account, call.region, plan_id, operations)
    rest = [op for op in operations if stages is None or not strict.is_api_stage_op(op)]
    patched = json.dumps({"patchOperations": strict.moto_safe_patch(rest)}).encode()
    response = moto(with_body(environ, patched))
    if response.status_code == 200:
        if stages is not None:
            strict.store_api_stages(call.account, call.region, plan_id, stages)
        fixed = strict.fix_usage_plan_numbers(call.account, call.region, plan_id, operations)
        response.set_data(json.dumps(fixed))
    return response


def _paged(environ: dict[str, Any], call: AwsCall, moto: MotoCall) -> Response:
    """Serve a list operation page by page, as AWS does (moto returns everything)."""
    query = urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    params = dict(query)
    limit = strict.parse_limit(params.get("limit"))
    position = params.get("position")
    if position is not None:
        strict.decode_position(position)  # reject foreign tokens before any work
    inner = dict(environ)
    inner["QUERY_STRING"] = urllib.parse.urlencode(
        [(k, v) for k, v in query if k not in ("limit", "position")]
    )
    response = moto(inner)
    if response.status_code != 200:
        return response
    items = json.loads(response.get_data()).get("item", [])
    if call.operation == "GetApiKeys" and params.get("customerId"):
        # moto ignores the customerId filter and would return every key.
        items = [k for k in items if k.get("customerId") == params["customerId"]]
    if call.operation == "GetUsagePlanKeys":
        items = plan_keys.live_plan_keys(call.account, call.region, path_part(environ, 2), items)
    response.set_data(json.dumps(strict.page(items, limit, position)))
    response.content_type = "application/json"
    return response
