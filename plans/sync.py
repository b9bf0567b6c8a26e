"""Converge one tier onto its API Gateway usage plan."""

from __future__ import annotations

from plans.models import Plan
from portal.aws import apigateway as aws


def usage_plan_spec(plan: Plan) -> aws.UsagePlanSpec:
    stage_ids = {s.pk for s in plan.stages.all()}
    return aws.UsagePlanSpec(
        owner_id=f"plan:{plan.pk}",
        name=plan.name,
        description=plan.description,
        stages=frozenset(aws.StageRef(s.rest_api_id, s.stage_name) for s in plan.stages.all()),
        throttle=aws.Throttle(plan.throttle_rate, plan.throttle_burst)
        if plan.throttle_rate is not None and plan.throttle_burst is not None
        else None,
        quota=aws.Quota(plan.quota_limit, plan.quota_period, plan.quota_offset)
        if plan.quota_limit is not None and plan.quota_period
        else None,
        method_throttles=frozenset(
            aws.MethodLimit(
                aws.StageRef(t.stage.rest_api_id, t.stage.stage_name),
                t.resource_path,
                t.http_method,
                t.rate,
                t.burst,
            )
            for t in plan.method_throttles.select_related("stage")
            if t.stage_id in stage_ids
        ),
    )


def push_plan(plan: Plan) -> None:
    if plan.is_archived:
        if plan.aws_id:
            aws.delete_usage_plan(plan.aws_id)
        return
    aws_id, _ = aws.ensure_usage_plan(plan.aws_id or None, usage_plan_spec(plan))
    if aws_id != plan.aws_id:
        # Saved at once, outside any transaction: a crash after this line must not forget it.
        Plan.objects.filter(pk=plan.pk).update(aws_id=aws_id)
        plan.aws_id = aws_id
