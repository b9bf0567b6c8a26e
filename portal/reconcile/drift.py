"""Settling a drift the reconciler found: push Tollgate's values to AWS, or accept AWS's.

Both go through the services: "push ours" bumps the object and sends its sync, which gives
every copy (each account and region) the same desired state; "accept AWS" calls the tier and
key services, so the values are validated and audited once. A tier or key with one copy is then
recorded synced without anything being sent back (`already_in_aws`); one with copies in several
places is synced as any change is, so the places that did not drift get AWS's values too
(docs/architecture.md, one write path).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from keys.models import ApiKey, KeyCopy
from keys.services import key_revoke, key_set_enabled, keys_resync_for_tier
from plans.models import ApiStage, MethodThrottle, Plan, PlanCopy, Subscription
from plans.services import PLAN_FIELDS, plan_archive, plan_update
from portal.audit.services import audit
from portal.connections.locations import default_connection
from portal.reconcile.report import DELETED_IN_AWS, forget_pushed
from portal.sync import SyncState, SyncStatus, bump_desired_version, schedule_sync, settle_as_is

ACCEPTABLE_KEY_FIELDS = {"enabled", "API key"}
TIER_VALUES = ("name", "description", "throttle", "quota")


def drift_places(obj: SyncState) -> list[dict[str, Any]]:
    """The places where `obj` differs, as the reconciler recorded them (report.place_drift)."""
    drift = obj.drift or {}
    places = drift.get("places")
    if places is None:  # recorded before places: its one copy, where it always was
        differences = drift.get("differences", [])
        where = {"where": "", "connection_id": None, "region": ""}
        return [{**where, "differences": differences, "aws": drift.get("aws")}] if drift else []
    return list(places)


def _deleted(place: dict[str, Any]) -> bool:
    return any(d.get("aws") == DELETED_IN_AWS for d in place.get("differences", []))


def is_deleted_in_aws(obj: SyncState) -> bool:
    """Deleted in AWS in every place it was in."""
    places = drift_places(obj)
    return bool(places) and all(_deleted(place) for place in places)


def is_partly_deleted(obj: SyncState) -> bool:
    places = drift_places(obj)
    return any(_deleted(place) for place in places) and not all(map(_deleted, places))


def can_accept_aws(obj: SyncState) -> bool:
    """Whether AWS's values can be written back here (a key's AWS name or plan cannot, nor a
    deletion in some places only: the other places still hold it)."""
    if obj.sync_status != SyncStatus.DRIFTED or not obj.drift or is_partly_deleted(obj):
        return False
    if isinstance(obj, ApiKey):
        return all(
            d["field"] in ACCEPTABLE_KEY_FIELDS
            for place in drift_places(obj)
            for d in place["differences"]
        )
    return True


def _in_place(rows: QuerySet[Any], place: dict[str, Any]) -> QuerySet[Any]:
    """`rows` (copies or stages) of `place`; a drift recorded before places: all of them."""
    if not place.get("region"):
        return rows
    connection_id = place.get("connection_id")
    default = default_connection()
    if connection_id is None:
        match = Q(connection__isnull=True)
    elif default is not None and connection_id == default.pk:
        # A copy or stage recorded before connections existed is the default connection's.
        match = Q(connection_id=connection_id) | Q(connection__isnull=True)
    else:
        match = Q(connection_id=connection_id)
    return rows.filter(match, region=place["region"])


def copy_count(obj: SyncState) -> int:
    if isinstance(obj, ApiKey):
        return KeyCopy.objects.filter(key=obj).count()
    return PlanCopy.objects.filter(plan_id=obj.pk).count()


def _locked_drifted(obj: SyncState) -> Any:
    locked = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
    if locked.sync_status != SyncStatus.DRIFTED:
        raise ValidationError("This object is no longer drifted; reload the page.")
    return locked


def drift_push_ours(*, actor: Any, obj: SyncState, ip: str | None = None) -> None:
    """Overwrite AWS with Tollgate's values in every place; recreate what was deleted there."""
    with transaction.atomic():
        obj = _locked_drifted(obj)
        deleted = [place for place in drift_places(obj) if _deleted(place)]
        everywhere = is_deleted_in_aws(obj)
        before = obj.drift
        if isinstance(obj, ApiKey):
            if everywhere:
                # A new key with a new secret; its creator may reveal that one once. Deleted in
                # some places only, the copies made again take the value of a remaining one.
                ApiKey.objects.filter(pk=obj.pk).update(
                    aws_id="", secret_sha256="", display_prefix="", secret_revealed_at=None
                )
            for place in deleted:
                _in_place(KeyCopy.objects.filter(key=obj), place).update(aws_id="")
        else:
            assert isinstance(obj, Plan)
            for place in deleted:
                _in_place(PlanCopy.objects.filter(plan=obj), place).update(aws_id="")
            if everywhere:
                Plan.objects.filter(pk=obj.pk).update(aws_id="")
            if deleted:
                keys_resync_for_tier(obj)  # they join the usage plans made again
        type(obj)._default_manager.filter(pk=obj.pk).update(drift=None)
        forget_pushed(obj)
        bump_desired_version(obj)
        audit(actor=actor, action="drift.pushed_ours", target=obj, before=before, ip=ip)
        schedule_sync(obj)


def drift_accept_aws(*, actor: Any, obj: SyncState, ip: str | None = None) -> None:
    """Write AWS's values into Tollgate, as found by the last reconcile.

    Goes through the tier and key services (validation, one audit event each). With one copy
    the change is recorded as synced instead of being pushed back; with copies in several
    places it is synced like any change, so the places that did not drift follow.
    """
    with transaction.atomic():
        obj = _locked_drifted(obj)
        forget_pushed(obj)
        if not can_accept_aws(obj):
            if is_partly_deleted(obj):
                raise ValidationError(
                    "It was deleted in AWS in some places only, and the others still have it: "
                    "push ours to recreate it there."
                )
            raise ValidationError(
                "Only “push ours” can settle a changed AWS name, description or usage plan of a key."
            )
        deleted = is_deleted_in_aws(obj)
        places = drift_places(obj)
        several = copy_count(obj) > 1
        before = obj.drift
        # Each service writes its one audit event when it changes something; when AWS turned
        # out to hold what Tollgate wanted, this settlement writes its own.
        changed = True
        if isinstance(obj, ApiKey):
            if deleted:
                key_revoke(actor=actor, key=obj, ip=ip, already_in_aws=True)
            else:
                enabled = obj.enabled
                for place in places:
                    if any(d["field"] == "enabled" for d in place["differences"]):
                        enabled = bool(place["aws"]["enabled"])
                changed = obj.enabled != enabled
                key_set_enabled(
                    actor=actor, key=obj, enabled=enabled, ip=ip, already_in_aws=not several
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
                changed = _accept_usage_plan(actor, obj, places, ip, several=several)
        rows = type(obj)._default_manager.filter(pk=obj.pk)
        if several and changed and not deleted:
            rows.update(drift=None)  # its sync carries AWS's values to the other places
        else:
            settle_as_is(rows)
        if not changed:
            audit(actor=actor, action="drift.accepted_aws", target=obj, before=before, ip=ip)


def _stage_in(stage: ApiStage, place: dict[str, Any], default_id: int | None) -> bool:
    if not place.get("region"):
        return True
    connection_id = stage.connection_id if stage.connection_id is not None else default_id
    return stage.region == place["region"] and connection_id == place.get("connection_id")


def _accept_usage_plan(
    actor: Any, plan: Plan, places: list[dict[str, Any]], ip: str | None, *, several: bool
) -> bool:
    """Write the drifted usage plans' values into the tier; True if that changed the tier.

    The tier's name, limits and quota are one for all its places, so every drifted place must
    hold the same; its stages and per-method throttles are each place's own, so AWS's replace
    the tier's in the drifted places only."""
    drifted = [place for place in places if place.get("aws")]
    values = {
        json.dumps({k: place["aws"][k] for k in TIER_VALUES}, sort_keys=True) for place in drifted
    }
    if len(values) > 1:
        raise ValidationError(
            f"{', '.join(p['where'] for p in drifted)} hold different values in AWS, so there is "
            "no one value to accept: push ours, or make them agree in AWS first."
        )
    state = drifted[0]["aws"]
    default = default_connection()
    default_id = default.pk if default is not None else None
    kept = [s for s in plan.stages.all() if not any(_stage_in(s, p, default_id) for p in drifted)]
    kept_ids = {s.pk for s in kept}
    stages, throttles = list(kept), []
    for place in drifted:
        found = _stages_of(place)
        stages += found
        throttles.append(accepted_method_throttles(plan, place["aws"], found))
    method_throttles: list[dict[str, Any]] | None = None
    if all(rows is not None for rows in throttles):
        method_throttles = [
            {
                "stage": t.stage,
                "resource_path": t.resource_path,
                "http_method": t.http_method,
                "rate": t.rate,
                "burst": t.burst,
            }
            for t in plan.method_throttles.select_related("stage")
            if t.stage_id in kept_ids
        ] + [row for rows in throttles for row in rows or []]
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
            method_throttles=method_throttles,
            ip=ip,
            already_in_aws=not several,
        )
    except ValidationError as exc:
        raise ValidationError(
            "AWS's values break Tollgate's rules, so they cannot be accepted: "
            + " ".join(exc.messages)
        ) from exc
    return updated.limits_snapshot() != before


def _stages_of(place: dict[str, Any]) -> list[ApiStage]:
    """The stages the usage plan covers in `place`, as Tollgate discovered them."""
    stages = []
    for ref in place["aws"]["stages"]:
        rest_api_id, _, stage_name = ref.partition(":")
        found = ApiStage.objects.filter(rest_api_id=rest_api_id, stage_name=stage_name)
        stage = _in_place(found, place).first()
        if stage is None:
            raise ValidationError(
                f"AWS covers stage {ref}, which Tollgate has not discovered; refresh the stages first."
            )
        stages.append(stage)
    return stages


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
