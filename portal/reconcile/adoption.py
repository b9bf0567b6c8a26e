"""Import a usage plan created outside Tollgate: it becomes a tier, its keys a customer's keys.

Secrets are not copied: only each key's SHA-256 and display prefix are kept, and an imported
key's secret can never be revealed through Tollgate (its users already have it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from keys.models import ApiKey
from keys.services import keys_resync_for_customer
from plans.models import ApiStage, MethodThrottle, Plan, Subscription, SubscriptionStatus
from plans.services import stages_discover
from plans.tasks import sync_plan
from portal.audit.services import audit
from portal.aws import apigateway as aws
from portal.aws.errors import AwsNotFound
from portal.customers.models import Customer
from portal.customers.services import unique_customer_slug
from portal.reconcile.services import accepted_method_throttles, plan_state_json
from portal.sync import enqueue_on_commit


@dataclass(frozen=True)
class AdoptionResult:
    plan: Plan
    customer: Customer
    keys_imported: int


def _stages_for(state: aws.UsagePlanSpec) -> list[ApiStage]:
    def lookup() -> dict[str, ApiStage]:
        return {
            f"{s.rest_api_id}:{s.stage_name}": s
            for s in ApiStage.objects.filter(missing_since__isnull=True)
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


def _unique_key_name(taken: set[str], wanted: str) -> str:
    base = (wanted or "imported key").strip()[:58]
    name, n = base, 1
    while name.lower() in taken:
        n += 1
        name = f"{base} ({n})"
    taken.add(name.lower())
    return name


def adopt_usage_plan(
    *,
    actor: Any,
    aws_plan_id: str,
    customer: Customer | None = None,
    new_customer_name: str = "",
    tier_name: str = "",
    ip: str | None = None,
) -> AdoptionResult:
    if Plan.objects.filter(aws_id=aws_plan_id).exists():
        raise ValidationError("This usage plan is already a Tollgate tier.")
    if customer is None and not new_customer_name.strip():
        raise ValidationError(
            {"customer": ["Choose a customer for the plan's keys, or name a new one."]}
        )
    try:
        current = aws.get_usage_plan(aws_plan_id)
    except AwsNotFound as exc:
        raise ValidationError("AWS has no such usage plan any more.") from exc
    state = aws.usage_plan_state(current)
    if state.owner_id:
        raise ValidationError("Tollgate created this usage plan; the reconciler looks after it.")
    stages = _stages_for(state)
    key_ids = set(aws.keys_of_usage_plan(aws_plan_id))
    fingerprints = aws.api_key_fingerprints(key_ids) if key_ids else {}

    with transaction.atomic():
        name = (tier_name or state.name).strip()
        if Plan.objects.filter(name__iexact=name).exists():
            raise ValidationError(
                {"tier_name": [f"A tier named “{name}” exists; choose another name."]}
            )
        now = timezone.now()
        plan = Plan(
            name=name,
            slug=slugify(name)[:60] or f"imported-{aws_plan_id}",
            description=state.description[:500],
            self_serve=False,
            throttle_rate=state.throttle.rate if state.throttle else None,
            throttle_burst=state.throttle.burst if state.throttle else None,
            quota_limit=state.quota.limit if state.quota else None,
            quota_period=state.quota.period if state.quota else "",
            quota_offset=state.quota.offset if state.quota else 0,
            aws_id=aws_plan_id,
        )
        while Plan.objects.filter(slug=plan.slug).exists():
            plan.slug = f"{plan.slug[:50]}-{aws_plan_id}"
        try:
            plan.full_clean(validate_constraints=False)
        except ValidationError as exc:
            raise ValidationError(
                "The usage plan's limits break Tollgate's rules: " + " ".join(exc.messages)
            ) from exc
        plan.save()
        plan.stages.set(stages)
        # Its per-method throttles come along, or the first push would strip them from AWS.
        MethodThrottle.objects.bulk_create(
            accepted_method_throttles(plan, plan_state_json(state), stages) or []
        )
        ApiStage.objects.filter(pk__in=[s.pk for s in stages]).update(available=True)

        if customer is None:
            customer = Customer.objects.create(
                name=new_customer_name.strip()[:100],
                slug=unique_customer_slug(new_customer_name),
            )
        elif Subscription.objects.filter(
            customer=customer, status=SubscriptionStatus.ACTIVE
        ).exists():
            raise ValidationError(
                {
                    "customer": [
                        f"{customer.name} is already on a tier; choose a customer without one, or a new customer."
                    ]
                }
            )
        Subscription.objects.create(
            customer=customer,
            plan=plan,
            status=SubscriptionStatus.ACTIVE,
            started_at=now,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        taken = {
            n.lower()
            for n in ApiKey.objects.live().filter(customer=customer).values_list("name", flat=True)
        }
        for key_id in sorted(fingerprints):
            aws_key, digest, prefix = fingerprints[key_id]
            ApiKey.objects.create(
                customer=customer,
                name=_unique_key_name(taken, aws_key.name),
                aws_id=key_id,
                imported_aws_name=aws_key.name,
                secret_sha256=digest,
                display_prefix=prefix,
                secret_revealed_at=now,  # its users have it; Tollgate never shows it
                enabled=aws_key.enabled,
            )
        audit(
            actor=actor,
            action="tier.imported",
            target=plan,
            after={"usage_plan": aws_plan_id, "customer": customer.name, "keys": len(fingerprints)},
            ip=ip,
        )
        # One sync each gives the usage plan the tier's name and every key Tollgate's
        # description; both patch only what differs.
        enqueue_on_commit(sync_plan, plan.pk)
        keys_resync_for_customer(customer)
    return AdoptionResult(plan=plan, customer=customer, keys_imported=len(fingerprints))
