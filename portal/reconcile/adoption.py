"""Import a usage plan created outside Tollgate: it becomes a tier, its keys a customer's keys.

Secrets are not copied: only each key's SHA-256 and display prefix are kept, and an imported
key's secret can never be revealed through Tollgate (its users already have it).

The usage plan is in one account and region (where the last reconcile found it): the tier
covers its stages there, and the usage plan and its keys become the tier's and the keys'
copies in that place (PlanCopy, KeyCopy), so their first syncs patch them instead of making new
ones elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from keys.models import ApiKey, KeyCopy
from keys.services import KeyInAws, keys_resync_for_customer, keys_take_over
from plans.models import ApiStage, Plan, PlanCopy
from plans.selectors import active_subscription
from plans.services import plan_create, subscription_switch
from plans.stages import stage_set_available, stages_discover
from portal.aws import apigateway as aws
from portal.aws.errors import AwsNotFound
from portal.aws.location import Location, at
from portal.connections.locations import Locations, all_locations
from portal.customers.models import Customer
from portal.customers.services import customer_create
from portal.errors import PermanentSyncError, TransientSyncError
from portal.reconcile.drift import accepted_method_throttles
from portal.reconcile.models import ReconcileRun
from portal.reconcile.report import plan_state_json


@dataclass(frozen=True)
class AdoptionResult:
    plan: Plan
    customer: Customer
    keys_imported: int


def _same_place(stage: ApiStage, location: Location, resolver: Locations) -> bool:
    return resolver.at(stage.connection_id, stage.region).key == location.key


def _stages_for(state: aws.UsagePlanSpec, location: Location) -> list[ApiStage]:
    resolver = Locations([location.connection_id])

    def lookup() -> dict[str, ApiStage]:
        return {
            f"{s.rest_api_id}:{s.stage_name}": s
            for s in ApiStage.objects.filter(missing_since__isnull=True, region=location.region)
            if _same_place(s, location, resolver)
        }

    known = lookup()
    if any(ref.patch_value not in known for ref in state.stages):
        stages_discover()
        known = lookup()
    missing = [ref.patch_value for ref in state.stages if ref.patch_value not in known]
    if missing:
        raise ValidationError(
            f"The usage plan covers stages AWS no longer lists: {', '.join(missing)}."
        )
    if not state.stages:
        raise ValidationError("The usage plan covers no API stage, so it cannot become a tier.")
    return [known[ref.patch_value] for ref in state.stages]


def _found_at(aws_plan_id: str, where: tuple[int | None, str] | None) -> Location:
    """The place of the usage plan: the one asked for (one of the connections' places), the
    one the last reconcile listed it in, or else the first place that has it."""
    places = all_locations()
    if where is not None:
        for location in places:
            if location.key == where or (where[0] is None and location.region == where[1]):
                return location
        raise ValidationError("Tollgate has no AWS connection in that account and region.")
    run = ReconcileRun.objects.filter(finished_at__isnull=False, dry_run=False).first()
    for found in run.foreign_usage_plans if run is not None else []:
        if found.get("id") == aws_plan_id and found.get("region"):
            connection_id = found.get("connection_id")
            return Locations([connection_id]).at(connection_id, found["region"])
    for location in places if len(places) > 1 else []:
        try:
            with at(location):
                aws.get_usage_plan(aws_plan_id)
        except (AwsNotFound, PermanentSyncError, TransientSyncError):
            continue
        return location
    return places[0]  # asked there below, so "no such usage plan" is said of the first place


def adopt_usage_plan(
    *,
    actor: Any,
    aws_plan_id: str,
    customer: Customer | None = None,
    new_customer_name: str = "",
    tier_name: str = "",
    where: tuple[int | None, str] | None = None,
    ip: str | None = None,
) -> AdoptionResult:
    """The usage plan becomes an unlisted tier (published later by an admin), its keys the
    keys of one customer placed on it — each step through its own service. `where`: the
    (connection id, region) it is in; by default where the last reconcile found it."""
    location = _found_at(aws_plan_id, where)
    adopted = PlanCopy.objects.filter(aws_id=aws_plan_id, region=location.region)
    if Plan.objects.filter(aws_id=aws_plan_id).exists() or adopted.exists():
        raise ValidationError("This usage plan is already a Tollgate tier.")
    if customer is None and not new_customer_name.strip():
        raise ValidationError(
            {"customer": ["Choose a customer for the plan's keys, or name a new one."]}
        )
    if customer is not None and active_subscription(customer) is not None:
        raise ValidationError(
            {
                "customer": [
                    f"{customer.name} is already on a tier; choose a customer without one, or a new customer."
                ]
            }
        )
    try:
        with at(location):
            current = aws.get_usage_plan(aws_plan_id)
    except AwsNotFound as exc:
        raise ValidationError("AWS has no such usage plan any more.") from exc
    except (PermanentSyncError, TransientSyncError) as exc:
        raise ValidationError(f"AWS could not be read in {location.label}: {exc}") from exc
    state = aws.usage_plan_state(current)
    if state.owner_id:
        raise ValidationError("Tollgate created this usage plan; the reconciler looks after it.")
    stages = _stages_for(state, location)
    try:
        with at(location):
            key_ids = set(aws.keys_of_usage_plan(aws_plan_id))
            fingerprints = aws.api_key_fingerprints(key_ids) if key_ids else {}
    except (PermanentSyncError, TransientSyncError) as exc:
        raise ValidationError(f"AWS could not be read in {location.label}: {exc}") from exc

    with transaction.atomic():
        name = (tier_name or state.name).strip()
        if Plan.objects.filter(name__iexact=name).exists():
            raise ValidationError(
                {"tier_name": [f"A tier named “{name}” exists; choose another name."]}
            )
        for stage in stages:
            if not stage.available:
                stage_set_available(actor=actor, stage=stage, available=True, ip=ip)
        # Its per-method throttles come along, or the first push would strip them from AWS.
        method_throttles = accepted_method_throttles(Plan(), plan_state_json(state), stages) or []
        try:
            plan = plan_create(
                actor=actor,
                data={
                    "name": name,
                    "description": state.description[:500],
                    "self_serve": False,
                    "listed": False,
                    "is_default": False,
                    "throttle_rate": state.throttle.rate if state.throttle else None,
                    "throttle_burst": state.throttle.burst if state.throttle else None,
                    "quota_limit": state.quota.limit if state.quota else None,
                    "quota_period": state.quota.period if state.quota else "",
                    "quota_offset": state.quota.offset if state.quota else 0,
                    "monthly_price": None,
                },
                stages=stages,
                method_throttles=method_throttles,
                adopt_aws_id=aws_plan_id,
                ip=ip,
            )
        except ValidationError as exc:
            raise ValidationError(
                "The usage plan's limits break Tollgate's rules: " + " ".join(exc.messages)
            ) from exc
        # Its first sync patches this usage plan, in the place it is in.
        PlanCopy.objects.create(
            plan=plan,
            connection_id=location.connection_id,
            region=location.region,
            aws_id=aws_plan_id,
        )
        if customer is None:
            customer = customer_create(actor=actor, name=new_customer_name[:100], ip=ip)
        subscription_switch(actor=actor, customer=customer, plan=plan, ip=ip, by_staff=True)
        keys_take_over(
            actor=actor,
            found=[
                KeyInAws(
                    customer_id=customer.pk,
                    name=aws_key.name,
                    aws_id=key_id,
                    aws_name=aws_key.name,
                    secret_sha256=digest,
                    display_prefix=prefix,
                    enabled=aws_key.enabled,
                )
                for key_id, (aws_key, digest, prefix) in sorted(fingerprints.items())
            ],
            origin=f"usage plan {aws_plan_id}",
            ip=ip,
        )
        KeyCopy.objects.bulk_create(
            [
                KeyCopy(
                    key=key,
                    connection_id=location.connection_id,
                    region=location.region,
                    aws_id=key.aws_id,
                )
                for key in ApiKey.objects.filter(customer=customer, aws_id__in=fingerprints)
            ]
        )
        # One sync each gives every key Tollgate's description (the tier's own first sync,
        # sent by plan_create, gives the usage plan its tag); both patch only what differs.
        keys_resync_for_customer(customer)
    return AdoptionResult(plan=plan, customer=customer, keys_imported=len(fingerprints))
