"""Settling a drift the reconciler found: push Tollgate's values to AWS, or accept AWS's.

Both go through the services: "push ours" bumps the object and sends its sync; "accept AWS"
calls the tier and key services with `already_in_aws`, so the values are validated, audited
once and recorded synced without being sent back (docs/architecture.md, one write path).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from keys.models import ApiKey
from keys.services import key_revoke, key_set_enabled, keys_resync_for_customer
from plans.models import ApiStage, MethodThrottle, Plan, Subscription
from plans.services import PLAN_FIELDS, plan_archive, plan_update
from portal.audit.services import audit
from portal.reconcile.services import DELETED_IN_AWS
from portal.sync import SyncState, SyncStatus, bump_desired_version, schedule_sync, settle_as_is


def is_deleted_in_aws(obj: SyncState) -> bool:
    differences = (obj.drift or {}).get("differences", [])
    return any(d.get("aws") == DELETED_IN_AWS for d in differences)


ACCEPTABLE_KEY_FIELDS = {"enabled", "API key"}


def can_accept_aws(obj: SyncState) -> bool:
    """Whether AWS's values can be written back here (a key's AWS name or plan cannot)."""
    if obj.sync_status != SyncStatus.DRIFTED or not obj.drift:
        return False
    if isinstance(obj, ApiKey):
        return all(d["field"] in ACCEPTABLE_KEY_FIELDS for d in obj.drift.get("differences", []))
    return True


def _locked_drifted(obj: SyncState) -> Any:
    locked = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
    if locked.sync_status != SyncStatus.DRIFTED:
        raise ValidationError("This object is no longer drifted; reload the page.")
    return locked


def drift_push_ours(*, actor: Any, obj: SyncState, ip: str | None = None) -> None:
    """Overwrite AWS with Tollgate's values; recreate what was deleted there."""
    with transaction.atomic():
        obj = _locked_drifted(obj)
        deleted = is_deleted_in_aws(obj)
        before = obj.drift
        if isinstance(obj, ApiKey):
            if deleted:
                # A new key with a new secret; its creator may reveal that one once.
                ApiKey.objects.filter(pk=obj.pk).update(
                    aws_id="", secret_sha256="", display_prefix="", secret_revealed_at=None
                )
        else:
            assert isinstance(obj, Plan)
            if deleted:
                Plan.objects.filter(pk=obj.pk).update(aws_id="")
                for subscription in (
                    Subscription.objects.active().filter(plan=obj).select_related("customer")
                ):
                    keys_resync_for_customer(subscription.customer)
        type(obj)._default_manager.filter(pk=obj.pk).update(drift=None)
        bump_desired_version(obj)
        audit(actor=actor, action="drift.pushed_ours", target=obj, before=before, ip=ip)
        schedule_sync(obj)


def drift_accept_aws(*, actor: Any, obj: SyncState, ip: str | None = None) -> None:
    """Write AWS's values into Tollgate, as found by the last reconcile; nothing is sent to AWS.

    Goes through the tier and key services (validation, one audit event each) with
    `already_in_aws`, so the change is recorded as synced instead of being pushed back.
    """
    with transaction.atomic():
        obj = _locked_drifted(obj)
        if not can_accept_aws(obj):
            raise ValidationError(
                "Only “push ours” can settle a changed AWS name, description or usage plan of a key."
            )
        deleted = is_deleted_in_aws(obj)
        aws_state = (obj.drift or {}).get("aws") or {}
        before = obj.drift
        # Each service writes its one audit event when it changes something; when AWS turned
        # out to hold what Tollgate wanted, this settlement writes its own.
        changed = True
        if isinstance(obj, ApiKey):
            if deleted:
                key_revoke(actor=actor, key=obj, ip=ip, already_in_aws=True)
            else:
                changed = obj.enabled != bool(aws_state["enabled"])
                key_set_enabled(
                    actor=actor,
                    key=obj,
                    enabled=bool(aws_state["enabled"]),
                    ip=ip,
                    already_in_aws=True,
                )
        else:
            assert isinstance(obj, Plan)
            if deleted:
                if obj.is_default or Subscription.objects.active().filter(plan=obj).exists():
                    raise ValidationError(
                        "Customers depend on this tier: push ours to recreate it in AWS, "
                        "or move them to another tier and make another one the default first."
                    )
                plan_archive(actor=actor, plan=obj, ip=ip, already_in_aws=True)
            else:
                changed = _accept_usage_plan(actor, obj, aws_state, ip)
        settle_as_is(type(obj)._default_manager.filter(pk=obj.pk))
        if not changed:
            audit(actor=actor, action="drift.accepted_aws", target=obj, before=before, ip=ip)


def _accept_usage_plan(actor: Any, plan: Plan, state: dict[str, Any], ip: str | None) -> bool:
    """Write the usage plan's values into the tier; True if that changed the tier."""
    stages = []
    for ref in state["stages"]:
        rest_api_id, _, stage_name = ref.partition(":")
        stage = ApiStage.objects.filter(rest_api_id=rest_api_id, stage_name=stage_name).first()
        if stage is None:
            raise ValidationError(
                f"AWS covers stage {ref}, which Tollgate has not discovered; refresh the stages first."
            )
        stages.append(stage)
    throttle, quota = state["throttle"], state["quota"]
    data = {field: getattr(plan, field) for field in PLAN_FIELDS}
    data.update(
        name=state["name"],
        description=state["description"],
        throttle_rate=None if throttle is None else Decimal(throttle["rate"]),
        throttle_burst=None if throttle is None else throttle["burst"],
        quota_limit=None if quota is None else quota["limit"],
        quota_period="" if quota is None else quota["period"],
        quota_offset=0 if quota is None else quota["offset"],
    )
    before = plan.limits_snapshot()
    try:
        updated = plan_update(
            actor=actor,
            plan=plan,
            data=data,
            stages=stages,
            method_throttles=accepted_method_throttles(plan, state, stages),
            ip=ip,
            already_in_aws=True,
        )
    except ValidationError as exc:
        raise ValidationError(
            "AWS's values break Tollgate's rules, so they cannot be accepted: "
            + " ".join(exc.messages)
        ) from exc
    return updated.limits_snapshot() != before


def accepted_method_throttles(
    plan: Plan, state: dict[str, Any], stages: list[Any]
) -> list[dict[str, Any]] | None:
    """AWS's per-method throttles of `state`, checked and shaped as the tier services take
    them (stage, resource_path, http_method, rate, burst); None when the drift predates them."""

    if state.get("method_throttles") is None:
        return None
    by_ref = {f"{s.rest_api_id}:{s.stage_name}": s for s in stages}
    rows = []
    for entry in state["method_throttles"]:
        label = f"{entry['http_method']} {entry['resource_path']} on {entry['stage']}"
        stage = by_ref.get(entry["stage"])
        if stage is None:
            raise ValidationError(
                f"AWS throttles {label}, a stage the usage plan does not cover; push ours instead."
            )
        row = MethodThrottle(
            plan=plan,
            stage=stage,
            resource_path=entry["resource_path"],
            http_method=entry["http_method"],
            rate=Decimal(entry["rate"]),
            burst=entry["burst"],
        )
        try:
            row.full_clean(exclude=["plan"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise ValidationError(
                f"AWS's throttle for {label} breaks Tollgate's rules, so it cannot be accepted: "
                + " ".join(exc.messages)
            ) from exc
        rows.append(
            {
                "stage": stage,
                "resource_path": row.resource_path,
                "http_method": row.http_method,
                "rate": row.rate,
                "burst": row.burst,
            }
        )
    return rows
