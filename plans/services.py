"""Writes to tiers, stages and subscriptions. Pages, the CLI and (later) the REST API call these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from keys.services import keys_resync_for_customer
from plans.models import ApiStage, MethodThrottle, Plan, Subscription, SubscriptionStatus
from portal.audit.services import audit
from portal.aws import apigateway as aws
from portal.customers.models import Customer
from portal.sync import bump_desired_version, enqueue_on_commit

PLAN_FIELDS = (
    "name",
    "description",
    "self_serve",
    "is_default",
    "throttle_rate",
    "throttle_burst",
    "quota_limit",
    "quota_period",
    "quota_offset",
    "monthly_price",
)


def _schedule_plan_sync(plan: Plan) -> None:
    from plans.tasks import sync_plan

    enqueue_on_commit(sync_plan, plan.pk)


# --- stages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscoveryResult:
    found: int
    new: int
    missing: int


def stages_discover() -> DiscoveryResult:
    """Refresh the stage list from AWS (GetRestApis + GetStages). Runs in a task or the CLI."""
    discovered = aws.list_stages()
    now = timezone.now()
    region = settings.AWS_REGION
    seen: set[int] = set()
    new = 0
    with transaction.atomic():
        for found in discovered:
            stage, created = ApiStage.objects.update_or_create(
                region=region,
                rest_api_id=found.rest_api_id,
                stage_name=found.stage_name,
                defaults={
                    "api_name": found.api_name,
                    "description": found.description,
                    "deployment_id": found.deployment_id,
                    "last_seen_at": now,
                    "missing_since": None,
                },
            )
            new += int(created)
            seen.add(stage.pk)
        missing = (
            ApiStage.objects.filter(region=region, missing_since__isnull=True)
            .exclude(pk__in=seen)
            .update(missing_since=now)
        )
    return DiscoveryResult(found=len(discovered), new=new, missing=missing)


@transaction.atomic
def stage_set_available(
    *, actor: Any, stage: ApiStage, available: bool, ip: str | None = None
) -> ApiStage:
    if available and stage.missing_since is not None:
        raise ValidationError("This stage no longer exists in AWS; it cannot be offered.")
    if not available:
        covering = list(stage.plans.live().order_by("name").values_list("name", flat=True))
        if covering:
            raise ValidationError(
                f"Tiers {', '.join(covering)} cover this stage; remove it from them first."
            )
    if stage.available != available:
        stage.available = available
        stage.save(update_fields=["available"])
        audit(
            actor=actor,
            action="stage.offered" if available else "stage.withdrawn",
            target=stage,
            after={"available": available},
            ip=ip,
        )
    return stage


# --- tiers ------------------------------------------------------------------------------------


METHOD_THROTTLE_FIELDS = ("stage", "resource_path", "http_method", "rate", "burst")


def method_throttle_error_key(index: int, field: str) -> str:
    """Where a per-method throttle's error is reported: ``method_throttles.<row>.<field>``."""
    return f"method_throttles.{index}.{field}"


def _document_methods(stage: ApiStage) -> set[tuple[str, str]] | None:
    """(METHOD, /path) pairs of the stage's stored OpenAPI document, or None without one."""
    from portal.catalog.presenters import operations
    from portal.catalog.services import current_document

    document = current_document(stage)
    if document is None:
        return None
    return {(op.method, op.path) for op in operations(document.document)}


def _method_throttle_rows(
    plan: Plan, rows: Iterable[dict[str, Any]], stage_list: list[ApiStage]
) -> tuple[list[MethodThrottle], dict[str, list[str]]]:
    """Validate a tier's per-method throttles against the tier (`plan`, not yet saved)."""
    built: list[MethodThrottle] = []
    errors: dict[str, list[str]] = {}
    seen: set[tuple[int, str, str]] = set()
    documents: dict[int, set[tuple[str, str]] | None] = {}
    for index, row in enumerate(rows):
        rate: Any = row.get("rate")
        burst: Any = row.get("burst")
        throttle = MethodThrottle(
            plan=plan,
            stage=row["stage"],
            resource_path=(row.get("resource_path") or "").strip(),
            http_method=(row.get("http_method") or "").strip().upper(),
            rate=rate,
            burst=burst,
        )
        row_errors: dict[str, list[str]] = {}
        try:
            throttle.full_clean(exclude=["plan"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            row_errors = dict(exc.message_dict)
        stage = row["stage"]
        if stage is None:
            pass
        elif stage not in stage_list:
            row_errors.setdefault("stage", []).append(
                "This tier does not cover that stage; tick it under API stages first."
            )
        elif not row_errors.get("resource_path") and not row_errors.get("http_method"):
            key = (stage.pk, throttle.resource_path, throttle.http_method)
            if key in seen:
                row_errors.setdefault("http_method", []).append(
                    "This method already has a limit in this tier."
                )
            seen.add(key)
            if stage.pk not in documents:
                documents[stage.pk] = _document_methods(stage)
            known = documents[stage.pk]
            if known is not None and (throttle.http_method, throttle.resource_path) not in known:
                row_errors.setdefault("resource_path", []).append(
                    f"{stage} has no method {throttle.http_method} {throttle.resource_path}."
                )
        for field, messages in row_errors.items():
            errors.setdefault(method_throttle_error_key(index, field), []).extend(messages)
        built.append(throttle)
    return built, errors


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
        throttle_rows, row_errors = _method_throttle_rows(plan, method_throttles, stage_list)
        for key, messages in row_errors.items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return stage_list, throttle_rows


def _save_method_throttles(
    plan: Plan, rows: list[MethodThrottle] | None, stage_list: list[ApiStage]
) -> None:
    if rows is None:  # unchanged, but a stage the tier no longer covers takes its limits along
        plan.method_throttles.exclude(stage__in=stage_list).delete()
        return
    plan.method_throttles.all().delete()
    for row in rows:
        row.plan = plan
    MethodThrottle.objects.bulk_create(rows)


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
) -> Plan:
    """Create a tier. `method_throttles`: dicts of stage, resource_path, http_method, rate,
    burst; their errors are reported under ``method_throttles.<row>.<field>``."""
    plan = Plan()
    stage_list, throttle_rows = _apply(plan, data, stages, method_throttles)
    base = slugify(plan.name)[:60] or "tier"
    slug, n = base, 1
    while Plan.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    plan.slug = slug
    _unset_other_defaults(plan)
    plan.save()
    plan.stages.set(stage_list)
    _save_method_throttles(plan, throttle_rows, stage_list)
    audit(actor=actor, action="tier.created", target=plan, after=plan.limits_snapshot(), ip=ip)
    _schedule_plan_sync(plan)
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
) -> Plan:
    """Change a tier; `method_throttles` (as for plan_create) replaces the tier's per-method
    throttles, None leaves them as they are."""
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
    _unset_other_defaults(plan)
    plan.save()
    plan.stages.set(stage_list)
    _save_method_throttles(plan, throttle_rows, stage_list)
    after = plan.limits_snapshot()
    if after != before:
        bump_desired_version(plan)
        audit(actor=actor, action="tier.updated", target=plan, before=before, after=after, ip=ip)
        _schedule_plan_sync(plan)
    return plan


@transaction.atomic
def plan_archive(*, actor: Any, plan: Plan, ip: str | None = None) -> Plan:
    """Retire a tier: it leaves API Gateway and is offered no more. Its history stays."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.is_archived:
        return plan
    if plan.is_default:
        raise ValidationError(
            "This is the default tier for new customers; make another tier the default first."
        )
    on_it = Subscription.objects.filter(plan=plan, status=SubscriptionStatus.ACTIVE).count()
    if on_it:
        raise ValidationError(
            f"{on_it} customer{'s are' if on_it != 1 else ' is'} on this tier; "
            "move them to another tier before archiving it."
        )
    waiting = Subscription.objects.filter(plan=plan, status=SubscriptionStatus.PENDING)
    waiting.update(status=SubscriptionStatus.ENDED, ended_at=timezone.now())
    plan.archived_at = timezone.now()
    plan.save(update_fields=["archived_at", "updated_at"])
    bump_desired_version(plan)
    audit(actor=actor, action="tier.archived", target=plan, before=plan.limits_snapshot(), ip=ip)
    _schedule_plan_sync(plan)
    return plan


def plan_retry_sync(*, actor: Any, plan: Plan, ip: str | None = None) -> None:
    with transaction.atomic():
        bump_desired_version(plan)
        audit(actor=actor, action="tier.sync_retried", target=plan, ip=ip)
        _schedule_plan_sync(plan)


# --- subscriptions ----------------------------------------------------------------------------


def active_subscription(customer: Customer) -> Subscription | None:
    return (
        Subscription.objects.select_related("plan")
        .filter(customer=customer, status=SubscriptionStatus.ACTIVE)
        .first()
    )


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
    keys_resync_for_customer(customer)
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
    """Move a customer to another tier; every key of theirs moves to its usage plan."""
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    plan = Plan.objects.get(pk=plan.pk)
    if plan.is_archived:
        raise ValidationError("That tier has been retired.")
    if not plan.self_serve and not by_staff:
        raise ValidationError(f"The {plan.name} tier needs approval; contact us to join it.")
    current = active_subscription(customer)
    if current is not None and current.plan_id == plan.pk:
        raise ValidationError(f"You are already on the {plan.name} tier.")
    return _start(actor=actor, customer=customer, plan=plan, ip=ip)
