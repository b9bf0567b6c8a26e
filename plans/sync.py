"""Converge one tier onto its API Gateway usage plans: one per account and region it covers."""

from __future__ import annotations

from plans.locations import TierLocation, tier_locations
from plans.models import ApiStage, Plan, PlanCopy
from plans.signals import tier_places_changed
from portal.aws import apigateway as aws
from portal.aws.location import Location
from portal.connections.copies import converge_copies, first_attempt, keep_first_copy_id
from portal.connections.locations import home_location


def usage_plan_spec(plan: Plan, stages: tuple[ApiStage, ...] | None = None) -> aws.UsagePlanSpec:
    """The usage plan of `plan` holding `stages` (default: all of its stages)."""
    chosen = tuple(plan.stages.all()) if stages is None else stages
    stage_ids = {s.pk for s in chosen}
    return aws.UsagePlanSpec(
        owner_id=f"plan:{plan.pk}",
        name=plan.name,
        description=plan.description,
        stages=frozenset(aws.StageRef(s.rest_api_id, s.stage_name) for s in chosen),
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
    """Make each account and region the tier covers hold its usage plan (an archived tier:
    none), and delete the usage plans of places it no longer covers."""
    wanted: list[tuple[Location, TierLocation]] = (
        [] if plan.is_archived else [(place.location, place) for place in tier_locations(plan)]
    )

    def push(copy: PlanCopy, location: Location, place: TierLocation) -> None:
        spec = usage_plan_spec(plan, place.stages)
        fresh = first_attempt(copy)
        aws_id, _ = aws.ensure_usage_plan(
            copy.aws_id or None, spec, known=copy.pushed if copy.aws_id else None, fresh=fresh
        )
        # Saved at once, outside any transaction: a crash after this line must not forget it.
        copy.aws_id, copy.pushed = aws_id, aws.usage_plan_record(spec)
        PlanCopy.objects.filter(pk=copy.pk).update(aws_id=aws_id, pushed=copy.pushed)

    def remove(copy: PlanCopy, location: Location) -> None:
        if copy.aws_id:
            aws.delete_usage_plan(copy.aws_id)

    def places_changed() -> None:
        tier_places_changed.send(sender=Plan, plan=plan)

    try:
        converge_copies(
            copies=plan.copies,
            version=plan.desired_version,
            wanted=wanted,
            push=push,
            remove=remove,
            legacy=(plan.aws_id, home_location()),
            on_places_changed=places_changed,
        )
    finally:
        keep_first_copy_id(plan, wanted[0][0] if wanted else None)
