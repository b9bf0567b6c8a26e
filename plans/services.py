"""Writes to tiers, stages and subscriptions. Pages, the CLI and (later) the REST API call these."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from plans.capacity import refuse_switch_past_caps, refuse_tier_past_caps
from plans.methods import method_throttle_rows, save_method_throttles
from plans.models import ApiStage, MethodThrottle, Plan, Subscription, SubscriptionStatus
from plans.selectors import active_subscription
from plans.signals import subscription_started, tier_quota_changed
from portal.access import require_organisation_manager
from portal.audit.services import audit
from portal.customers.models import Customer
from portal.slugs import unique_slug
from portal.sync import bump_desired_version, schedule_sync

PLAN_FIELDS = (
    "name",
    "description",
    "self_serve",
    "listed",
    "is_default",
    "throttle_rate",
    "throttle_burst",
    "quota_limit",
    "quota_period",
    "quota_offset",
    "monthly_price",
)
logger = logging.getLogger(__name__)


# --- tiers ------------------------------------------------------------------------------------


def _apply(
    plan: Plan,
    data: dict[str, Any],
    stages: Iterable[ApiStage],
    method_throttles: Iterable[dict[str, Any]] | None = None,
) -> tuple[list[ApiStage], list[MethodThrottle] | None]:
    for field in PLAN_FIELDS:
        if field in data:
            setattr(plan, field, data[field])
    plan.name = (plan.name or "").strip()
    plan.description = (plan.description or "").strip()
    if plan.quota_period is None:
        plan.quota_period = ""
    if plan.quota_offset is None:
        plan.quota_offset = 0
    stage_list = list(stages)
    errors: dict[str, list[str]] = {}
    if not stage_list:
        errors["stages"] = ["Choose at least one API stage for this tier to cover."]
    unavailable = [str(s) for s in stage_list if not s.available or s.missing_since]
    if unavailable:
        errors["stages"] = [f"Not offered to tiers: {', '.join(unavailable)}."]
    clash = Plan.objects.filter(name__iexact=plan.name).exclude(pk=plan.pk).exists()
    if clash:
        errors["name"] = ["Another tier already has this name."]
    try:
        # The one-default constraint is kept by _unset_other_defaults, not refused here.
        plan.full_clean(exclude=["slug", "name"] if clash else ["slug"], validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    throttle_rows = None
    if method_throttles is not None:
        throttle_rows, row_errors = method_throttle_rows(plan, method_throttles, stage_list)
        for key, messages in row_errors.items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return stage_list, throttle_rows


QUOTA_FIELDS = ("quota_limit", "quota_period", "quota_offset")


def _unset_other_defaults(plan: Plan) -> None:
    if plan.is_default:
        Plan.objects.live().filter(is_default=True).exclude(pk=plan.pk).update(is_default=False)


@transaction.atomic
def plan_create(
    *,
    actor: Any,
    data: dict[str, Any],
    stages: Iterable[ApiStage],
    ip: str | None = None,
    method_throttles: Iterable[dict[str, Any]] | None = None,
    slug: str = "",
    adopt_aws_id: str = "",
) -> Plan:
    """Create a tier. `method_throttles`: dicts of stage, resource_path, http_method, rate,
    burst; their errors are reported under ``method_throttles.<row>.<field>``. `slug` is made
    from the name unless given (tiers as code name their tiers by slug). `adopt_aws_id`: an
    existing usage plan made outside Tollgate that this tier takes over (its first sync only
    patches what differs)."""
    plan = Plan()
    stage_list, throttle_rows = _apply(plan, data, stages, method_throttles)
    if slug and Plan.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [f"Another tier already has the slug “{slug}”."]})
    plan.slug = slug or unique_slug(Plan.objects.all(), plan.name, fallback="tier")
    refuse_tier_past_caps(plan=plan, stages=stage_list)
    plan.aws_id = adopt_aws_id
    _unset_other_defaults(plan)
    plan.save()
    plan.stages.set(stage_list)
    save_method_throttles(plan, throttle_rows, stage_list)
    audit(
        actor=actor,
        action="tier.adopted" if adopt_aws_id else "tier.created",
        target=plan,
        after={**plan.limits_snapshot(), **({"usage_plan": adopt_aws_id} if adopt_aws_id else {})},
        ip=ip,
    )
    schedule_sync(plan)
    return plan


@transaction.atomic
def plan_update(
    *,
    actor: Any,
    plan: Plan,
    data: dict[str, Any],
    stages: Iterable[ApiStage],
    ip: str | None = None,
    method_throttles: Iterable[dict[str, Any]] | None = None,
    already_in_aws: bool = False,
) -> Plan:
    """Change a tier; `method_throttles` (as for plan_create) replaces the tier's per-method
    throttles, None leaves them as they are. `already_in_aws`: the values were read from its
    usage plan (a drift accepted), so nothing is sent."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.is_archived:
        raise ValidationError("This tier is archived; it can no longer be changed.")
    before = plan.limits_snapshot()
    was_default = plan.is_default
    stage_list, throttle_rows = _apply(plan, data, stages, method_throttles)
    if was_default and not plan.is_default:
        raise ValidationError(
            {"is_default": ["Make another tier the default instead; there must always be one."]}
        )
    refuse_tier_past_caps(plan=plan, stages=stage_list)
    _unset_other_defaults(plan)
    plan.save()
    plan.stages.set(stage_list)
    save_method_throttles(plan, throttle_rows, stage_list)
    after = plan.limits_snapshot()
    if after != before:
        bump_desired_version(plan)
        if already_in_aws:
            after = {**after, "accepted_from_aws": True}
        audit(actor=actor, action="tier.updated", target=plan, before=before, after=after, ip=ip)
        schedule_sync(plan, already_in_aws=already_in_aws)
        if any(before.get(name) != after.get(name) for name in QUOTA_FIELDS):
            tier_quota_changed.send(sender=Plan, plan=plan)
    return plan


@transaction.atomic
def plan_archive(
    *, actor: Any, plan: Plan, ip: str | None = None, already_in_aws: bool = False
) -> Plan:
    """Retire a tier: it leaves API Gateway and is offered no more. Its history stays.
    `already_in_aws`: its usage plan was deleted there already (a drift accepted)."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.is_archived:
        return plan
    if plan.is_default:
        raise ValidationError(
            "This is the default tier for new customers; make another tier the default first."
        )
    on_it = Subscription.objects.active().filter(plan=plan).count()
    if on_it:
        raise ValidationError(
            f"{on_it} customer{'s are' if on_it != 1 else ' is'} on this tier; "
            "move them to another tier before archiving it."
        )
    waiting = Subscription.objects.filter(plan=plan, status=SubscriptionStatus.PENDING)
    waiting.update(status=SubscriptionStatus.ENDED, ended_at=timezone.now())
    plan.archived_at = timezone.now()
    if already_in_aws:
        plan.aws_id = ""
    plan.save(update_fields=["archived_at", "aws_id", "updated_at"])
    bump_desired_version(plan)
    audit(
        actor=actor,
        action="tier.archived",
        target=plan,
        before=plan.limits_snapshot(),
        after={"accepted_from_aws": True} if already_in_aws else None,
        ip=ip,
    )
    schedule_sync(plan, already_in_aws=already_in_aws)
    return plan


def plan_retry_sync(*, actor: Any, plan: Plan, ip: str | None = None) -> None:
    with transaction.atomic():
        bump_desired_version(plan)
        audit(actor=actor, action="tier.sync_retried", target=plan, ip=ip)
        schedule_sync(plan)


# --- subscriptions ----------------------------------------------------------------------------


def _start(*, actor: Any, customer: Customer, plan: Plan, ip: str | None) -> Subscription:
    now = timezone.now()
    current = active_subscription(customer)
    if current is not None:
        current.status = SubscriptionStatus.ENDED
        current.ended_at = now
        current.save(update_fields=["status", "ended_at"])
    subscription = Subscription.objects.create(
        customer=customer,
        plan=plan,
        status=SubscriptionStatus.ACTIVE,
        started_at=now,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit(
        actor=actor,
        action="subscription.started",
        target=customer,
        before={"tier": current.plan.name} if current else None,
        after={"tier": plan.name},
        ip=ip,
    )
    subscription_started.send(sender=Subscription, subscription=subscription, previous=current)
    return subscription


@transaction.atomic
def subscription_start_default(
    *, actor: Any, customer: Customer, ip: str | None = None
) -> Subscription | None:
    plan = Plan.objects.live().filter(is_default=True).first()
    if plan is None:
        return None  # no tier yet: an admin places the customer later
    return _start(actor=actor, customer=customer, plan=plan, ip=ip)


@transaction.atomic
def subscription_switch(
    *, actor: Any, customer: Customer, plan: Plan, ip: str | None = None, by_staff: bool = False
) -> Subscription:
    """Move a customer to another tier; every key of theirs moves to its usage plan. An owner's
    or an admin's decision (`by_staff`: an admin placing a customer, any tier)."""
    if not by_staff:
        require_organisation_manager(actor, customer)
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    plan = Plan.objects.get(pk=plan.pk)
    if plan.is_archived:
        raise ValidationError("That tier has been retired.")
    if not plan.listed and not by_staff:
        raise ValidationError("That tier is not offered.")
    if not plan.self_serve and not by_staff:
        raise ValidationError(
            f"The {plan.name} tier needs approval: an owner requests it on the Tier page "
            "(or POST /api/v1/tier-requests)."
        )
    current = active_subscription(customer)
    if current is not None and current.plan_id == plan.pk:
        raise ValidationError(f"You are already on the {plan.name} tier.")
    refuse_switch_past_caps(customer=customer, current=current.plan if current else None, plan=plan)
    return _start(actor=actor, customer=customer, plan=plan, ip=ip)
