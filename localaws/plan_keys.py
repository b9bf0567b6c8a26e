"""Usage plan keys (an API key's membership of a usage plan) the way AWS keeps them.

Moto is kinder than AWS here, or rougher:

* CreateUsagePlanKey on a usage plan that does not exist succeeds in moto; AWS answers 404.
* A deleted API key or usage plan keeps appearing in moto's GetUsagePlanKeys, and
  GetUsagePlanKey still finds a key in a deleted plan; AWS drops the association with the
  key or the plan.
* DeleteUsagePlanKey for a key that is not in the plan crashes moto (an HTML 500); AWS
  answers NotFoundException.
* Same-stage conflict: AWS refuses to let one API key belong to two usage plans that cover
  the same API stage (the gateway could not tell which plan's throttle and quota to apply);
  moto accepts it.

Which error AWS answers when several ids are wrong: the API key is checked first ("Invalid
API Key identifier specified"), then whether it is in the plan ("Invalid Usage Plan ID
specified", also for a plan that does not exist) - the order moto adopted for
GetUsagePlanKey as API Gateway's (getmoto/moto PR #2927), and the message Terraform's
acceptance tests received from AWS for DeleteUsagePlanKey on a deleted plan (hashicorp/
terraform PR #14958). GetUsagePlanKeys on a plan that does not exist answers an empty list,
not 404: LocalStack's AWS-validated test ``test_get_usage_plan_api_keys``
(tests/aws/services/apigateway/test_apigateway_extended.py) lists ``usagePlanId="bad-id"``
without an error.
"""

from __future__ import annotations

from typing import Any

from localaws.strict import ApiError, apigateway_backend

_NO_KEY = "Invalid API Key identifier specified"
_NO_PLAN = "Invalid Usage Plan ID specified"


def live_plan_keys(
    account: str, region: str, plan_id: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """GetUsagePlanKeys items without the rows moto keeps after their API key or usage plan
    was deleted; none at all for a plan that does not exist (AWS answers an empty list)."""
    backend = apigateway_backend(account, region)
    if plan_id not in backend.usage_plans:
        return []
    return [item for item in items if item.get("id") in backend.keys]


def check_usage_plan_key(account: str, region: str, plan_id: str, key_id: str) -> None:
    """GetUsagePlanKey and DeleteUsagePlanKey: 404 unless the key is in the (live) plan."""
    backend = apigateway_backend(account, region)
    if key_id not in backend.keys:
        raise ApiError(404, "NotFoundException", _NO_KEY)
    if plan_id not in backend.usage_plans or key_id not in backend.usage_plan_keys.get(plan_id, {}):
        raise ApiError(404, "NotFoundException", _NO_PLAN)


def _stages(plan: Any) -> set[tuple[str, str]]:
    return {(stage["apiId"], stage["stage"]) for stage in plan.api_stages}


def _plans_holding_key(backend: Any, key_id: str, exclude_plan: str) -> list[Any]:
    """Live usage plans (other than ``exclude_plan``) the API key belongs to."""
    return [
        backend.usage_plans[plan_id]
        for plan_id, plan_keys in list(backend.usage_plan_keys.items())
        if plan_id != exclude_plan and plan_id in backend.usage_plans and key_id in plan_keys
    ]


def check_create_usage_plan_key(account: str, region: str, plan_id: str, key_id: str) -> None:
    """Refuse CreateUsagePlanKey the way AWS does.

    AWS answers BadRequestException (HTTP 400) with "Usage Plan <plan> cannot be added
    because API Key <key> cannot reference multiple Usage Plans with the same API
    Stage: <api>:<stage>" - the form in which deploy-tool users (Serverless,
    CloudFormation, Terraform) quote it. The API reference lists both
    BadRequestException and ConflictException for CreateUsagePlanKey without saying
    which rule raises which; the quoted reports carry BadRequestException, so that is
    what botocore must parse here.
    """
    backend = apigateway_backend(account, region)
    if key_id not in backend.keys:
        raise ApiError(404, "NotFoundException", _NO_KEY)
    if plan_id not in backend.usage_plans:
        raise ApiError(404, "NotFoundException", _NO_PLAN)
    wanted = _stages(backend.usage_plans[plan_id])
    for other in _plans_holding_key(backend, key_id, exclude_plan=plan_id):
        shared = sorted(wanted & _stages(other))
        if shared:
            api_id, stage = shared[0]
            raise ApiError(
                400,
                "BadRequestException",
                f"Usage Plan {plan_id} cannot be added because API Key {key_id} "
                "cannot reference multiple Usage Plans with the same API Stage: "
                f"{api_id}:{stage}",
            )


def check_update_usage_plan(
    account: str, region: str, plan_id: str, patch_operations: list[dict[str, Any]]
) -> None:
    """Refuse UpdateUsagePlan adding a stage that one of the plan's keys already
    reaches through another usage plan (the same rule, seen from the plan side)."""
    backend = apigateway_backend(account, region)
    if plan_id not in backend.usage_plans:
        return  # moto answers the 404 itself
    added = set()
    for op in patch_operations:
        if op.get("op") == "add" and op.get("path") == "/apiStages":
            api_id, _, stage = str(op.get("value", "")).partition(":")
            added.add((api_id, stage))
    if not added:
        return
    for key_id in list(backend.usage_plan_keys.get(plan_id, {})):
        if key_id not in backend.keys:
            continue
        for other in _plans_holding_key(backend, key_id, exclude_plan=plan_id):
            shared = sorted(added & _stages(other))
            if shared:
                api_id, stage = shared[0]
                raise ApiError(
                    400,
                    "BadRequestException",
                    f"API Key {key_id} cannot reference multiple Usage Plans with "
                    f"the same API Stage: {api_id}:{stage}",
                )
