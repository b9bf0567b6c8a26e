"""Rolling a key with an overlap, and the quota that travels with the customer, not the key.

`key_rotate` creates the successor at once (same customer, same usage plan through the normal
sync, linked by `rotated_from`); the old key keeps working until its `grace_ends_at`, then the
`retire-rotated-keys` beat job revokes it (reason *rotated*) and the sync deletes it from AWS.

API Gateway meters quotas per key and usage plan, so a fresh key would start the period with a
full quota. The worker moves the quota with UpdateUsage, whose `replace /remaining` *sets* the
remaining requests. Both steps apply one state-based rule, so a retry, a lost answer or a
duplicate delivery can never count anything twice:

    new key's remaining := old key's remaining (read at a moment T, stored)
                           - everything the new key used this period (read now)

- **carry** (T = when the new key reached its usage plan; again after each period rollover
  while both keys live): the new key continues with what the old one had left;
- **settle** (T = just before the old key is deleted): takes off what the old key used
  during the overlap, so old + new never exceed one quota.

Each account and region of the tier meters its own quota, so both steps run in each place,
with the old and the new key's copies there. `rotation_state` (on the new key) holds each
step's snapshot — `{"plan", "period_start", "old_remaining", "read_at"}` — plus, once
UpdateUsage answered, `applied` (the remaining set), `new_used` and `applied_at`: the tier's
first place's at the top, another's under `places["connection id:region"]`; `done` when
nothing is left to do. A step already applied is never sent again; one not known to be
applied is recomputed from its snapshot and fresh usage.
"""

from __future__ import annotations

import datetime
import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from keys.models import ApiKey, RevokeReason
from keys.rotation_places import QuotaPlace, quota_places, steps_of
from keys.services import unique_key_name
from keys.sync import push_key
from plans.models import Plan, Subscription
from portal.access import require_key_manager
from portal.audit.services import audit
from portal.aws import usage as aws_usage
from portal.aws.location import at
from portal.errors import NotReady, Refused, TransientSyncError
from portal.sync import bump_desired_version, enqueue_on_commit, object_lock, schedule_sync

logger = logging.getLogger(__name__)

GRACES: dict[str, timedelta] = {
    "none": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
GRACE_WORDS = {"none": "none", "1h": "1 hour", "24h": "24 hours", "7d": "7 days"}
BAD_GRACE = "Choose a grace period of none, 1 hour, 24 hours or 7 days."
# How long the old key's deletion waits for API Gateway to answer the final usage read; after
# that it is deleted anyway (the grace period is a promise) and the overlap is not taken off.
FINAL_READ_PATIENCE = timedelta(minutes=5)
ADVANCE_TASK = "keys.tasks.advance_rotation"


def grace_named(name: str) -> timedelta:
    """ "none", "1h", "24h" or "7d" (the page, the API and the CLI) → the grace period."""
    if name not in GRACES:
        raise Refused(BAD_GRACE)
    return GRACES[name]


def grace_name(grace: timedelta) -> str:
    for name, value in GRACES.items():
        if value == grace:
            return name
    raise Refused(BAD_GRACE)


def successor_of(key: ApiKey) -> ApiKey | None:
    """The key that replaced `key` in a rotation (live or not), if any."""
    return key.rotations.order_by("-pk").first()


# --- the service --------------------------------------------------------------------------------


@transaction.atomic
def key_rotate(*, actor: Any, key: ApiKey, grace: timedelta, ip: str | None = None) -> ApiKey:
    """Roll `key`: a new key at once, the old one working until the grace period ends."""
    name = grace_name(grace)  # refuses any other grace
    require_key_manager(actor, key)
    old = ApiKey.objects.select_for_update().select_related("customer").get(pk=key.pk)
    if old.is_revoked:
        raise NotReady("This key has been revoked; only a live key can be rolled.")
    if ApiKey.objects.live().filter(rotated_from=old).exists():
        raise NotReady(
            "This key is being rolled already; its replacement exists. Roll again once the "
            "old key has been retired."
        )
    if (
        old.rotated_from_id is not None
        and ApiKey.objects.live().filter(pk=old.rotated_from_id).exists()
    ):
        raise NotReady(
            "This key replaced one that still works during its grace period; roll it once the "
            "old key has been retired."
        )
    now = timezone.now()
    taken = {
        n.lower()
        for n in ApiKey.objects.live().filter(customer=old.customer).values_list("name", flat=True)
    }
    base = old.name.split(" (rotated ")[0]
    new = ApiKey.objects.create(
        customer=old.customer,
        name=unique_key_name(taken, f"{base[:43]} (rotated {now:%Y-%m-%d})"),
        # The new secret is shown once to its creator; a command (no actor) rolls it for the
        # old key's creator, who then reveals it as for any new key.
        created_by=actor if getattr(actor, "pk", None) else old.created_by,
        rotated_from=old,
    )
    old.grace_ends_at = now + grace
    old.save(update_fields=["grace_ends_at"])
    audit(
        actor=actor,
        action="key.rotated",
        target=old,
        after={
            "new_key": str(new.public_id),
            "new_name": new.name,
            "grace": name,
            "grace_ends_at": old.grace_ends_at.isoformat(),
        },
        ip=ip,
    )
    schedule_sync(new)
    if not grace:
        _retire(old, actor=actor, ip=ip)
    return new


def _retire(old: ApiKey, *, actor: Any = None, ip: str | None = None) -> bool:
    """Revoke the rotated-out key (a conditional UPDATE: only one caller wins); the sync reads
    its final usage, then deletes it from API Gateway."""
    if not ApiKey.objects.filter(pk=old.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=RevokeReason.ROTATED
    ):
        return False
    bump_desired_version(old)
    audit(actor=actor, action="key.revoked", target=old, after={"reason": "rotated"}, ip=ip)
    schedule_sync(old)
    return True


def retire_rotated_keys(*, now: datetime.datetime | None = None) -> int:
    """The beat job: revoke every old key whose grace period ended. Safe to run twice at once."""
    now = now or timezone.now()
    retired = 0
    due = ApiKey.objects.live().filter(grace_ends_at__lte=now).values_list("pk", flat=True)
    for pk in list(due[:1000]):
        with transaction.atomic():
            old = ApiKey.objects.select_for_update().filter(pk=pk).first()
            if old is not None and old.grace_ends_at and old.grace_ends_at <= now:
                retired += _retire(old)
    return retired


def unfinished_rotations() -> list[int]:
    """New keys whose quota bookkeeping is not finished (the beat job advances them)."""
    return list(
        ApiKey.objects.filter(rotated_from__isnull=False, aws_id__gt="")
        .exclude(rotation_state__has_key="done")
        .values_list("pk", flat=True)[:1000]
    )


# --- the quota, in the worker ---------------------------------------------------------------------


def _period_start(period: str, day: datetime.date) -> datetime.date:
    """API Gateway's quota periods: UTC calendar days, weeks from Sunday, months."""
    if period == "WEEK":
        return day - timedelta(days=(day.weekday() + 1) % 7)
    if period == "MONTH":
        return day.replace(day=1)
    return day


def _plan_of(key: ApiKey) -> Plan | None:
    subscription = (
        Subscription.objects.active()
        .select_related("plan")
        .filter(customer_id=key.customer_id)
        .first()
    )
    return subscription.plan if subscription else None


def _usage(
    place: QuotaPlace, key_aws_id: str, start: datetime.date, today: datetime.date
) -> list[Any]:
    """[(used, remaining)] per day of the period so far for one key (GetUsage keyId=…)."""
    with at(place.location):
        days = aws_usage.usage_of_key(place.plan_aws_id, key_aws_id, start, today)
    if not days:
        raise TransientSyncError(
            f"API Gateway has no usage for the key in its usage plan in {place.location.label} yet."
        )
    return days


def _snapshot(plan: Plan, place: QuotaPlace, today: datetime.date) -> dict[str, Any]:
    start = _period_start(plan.quota_period, today)
    days = _usage(place, place.old_aws_id, start, today)
    return {
        "plan": place.plan_aws_id,
        "period_start": start.isoformat(),
        "old_remaining": days[-1][1],
        "read_at": timezone.now().isoformat(),
    }


def _save(new: ApiKey, state: dict[str, Any]) -> None:
    ApiKey.objects.filter(pk=new.pk).update(rotation_state=state)
    new.rotation_state = state


def _apply(place: QuotaPlace, step: dict[str, Any], today: datetime.date) -> None:
    """UpdateUsage: the new key's remaining := snapshot's old remaining - new key's use."""
    start = datetime.date.fromisoformat(step["period_start"])
    new_used = sum(used for used, _ in _usage(place, place.new_aws_id, start, today))
    target = max(0, int(step["old_remaining"]) - new_used)
    with at(place.location):
        aws_usage.set_remaining_quota(place.plan_aws_id, place.new_aws_id, target)
    step.update(applied=target, new_used=new_used, applied_at=timezone.now().isoformat())


def _current(step: Any, plan: Plan, place: QuotaPlace, today: datetime.date) -> bool:
    """A snapshot of this place's usage plan and current quota period."""
    return (
        isinstance(step, dict)
        and step.get("plan") == place.plan_aws_id
        and step.get("period_start") == _period_start(plan.quota_period, today).isoformat()
    )


def advance(new_pk: int) -> str:
    """Do the quota step that is due for the rotation that made key `new_pk`, in every account
    and region of its tier (each meters its own quota); what it did.

    Raises TransientSyncError (AWS failed, or a key is not there yet) for the caller to retry.
    Each place's step is saved as soon as it is applied, so a retry after one region failed
    sends nothing again where it was applied.
    """
    with object_lock(f"rotation:{new_pk}", ttl_seconds=120) as acquired:
        if not acquired:
            raise TransientSyncError("another worker is moving this rotation's quota")
        new = ApiKey.objects.select_related("rotated_from").filter(pk=new_pk).first()
        if new is None or new.rotated_from is None or "done" in new.rotation_state:
            return "nothing"
        old, state = new.rotated_from, dict(new.rotation_state)
        now = timezone.now()
        today = now.date()
        plan = _plan_of(new)
        if plan is None or plan.quota_limit is None or new.is_revoked:
            if old.is_revoked:
                _save(new, {**state, "done": now.isoformat()})
            return "no quota"
        places = quota_places(plan, old, new)
        if not places or new.synced_version < 1 or any(not p.new_aws_id for p in places):
            raise TransientSyncError("the new key has not reached its usage plan yet")
        if isinstance(state.get("settle"), dict):
            outcome = "settled"
            for place in places:
                settle = steps_of(state, place).get("settle")
                if not isinstance(settle, dict):
                    continue  # a place the tier took on after the final reading
                if "applied_at" not in settle and "old_remaining" in settle:
                    if _current(settle, plan, place, today):
                        _apply(place, settle, today)
                    else:  # a new period began since: both keys started afresh, the old is gone
                        settle["lapsed"] = True
                    _save(new, state)
                if place.first and "skipped" in settle:
                    outcome = "settle skipped"
            _save(new, {**state, "done": now.isoformat()})
            return outcome
        if old.is_revoked:
            return "waiting for the old key's final reading"
        outcome = "carried"
        for place in places:
            steps = steps_of(state, place)
            carry: dict[str, Any] = steps.get("carry") or {}
            if _current(carry, plan, place, today) and "applied_at" in carry:
                continue
            if not _current(carry, plan, place, today):
                if not place.old_aws_id:
                    outcome = "old key not in API Gateway" if place.first else outcome
                    continue  # nothing to carry there: the old key was never metered there
                carry = _snapshot(plan, place, today)
                steps["carry"] = carry
                _save(new, state)  # before UpdateUsage: a retry reuses it
            _apply(place, carry, today)
            _save(new, state)
        return outcome


def read_final_usage(old: ApiKey) -> None:
    """Before a rotated-out key is deleted: store its remaining in each place for the settle
    step.

    Raises TransientSyncError while API Gateway does not answer (the deletion retries), for at
    most FINAL_READ_PATIENCE; then the settle is skipped so the key is deleted all the same.
    """
    new = successor_of(old)
    if new is None:
        return
    with object_lock(f"rotation:{new.pk}", ttl_seconds=120) as acquired:
        if not acquired:
            raise TransientSyncError("another worker is moving this rotation's quota")
        new.refresh_from_db(fields=["rotation_state"])
        state = dict(new.rotation_state)
        if "settle" in state or "done" in state:
            return
        plan = _plan_of(new)
        if plan is None or plan.quota_limit is None:
            return
        places = quota_places(plan, old, new)
        if not places:
            return
        today = timezone.now().date()
        for place in places:
            steps = steps_of(state, place)
            if not place.old_aws_id:
                steps["settle"] = {"skipped": "the old key never reached API Gateway"}
                continue
            try:
                steps["settle"] = _snapshot(plan, place, today)
            except TransientSyncError as exc:
                if old.revoked_at and timezone.now() - old.revoked_at < FINAL_READ_PATIENCE:
                    raise
                logger.warning("rotation of key %s: final usage unreadable (%s)", old.pk, exc)
                steps["settle"] = {"skipped": f"API Gateway did not answer GetUsage: {exc}"[:500]}
        _save(new, state)


def push_key_keeping_quota(key: ApiKey) -> None:
    """The key sync (keys.sync.push_key), reading a rotated-out key's usage before deleting it."""
    if key.is_revoked and key.revoked_reason == RevokeReason.ROTATED:
        read_final_usage(key)
    push_key(key)


def after_key_sync(key_id: int) -> None:
    """Once a key's sync has run: send the quota step its rotation may now be ready for."""
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None:
        return
    if key.rotated_from_id is not None and "done" not in key.rotation_state:
        enqueue_on_commit(ADVANCE_TASK, key.pk)
    elif key.revoked_reason == RevokeReason.ROTATED:
        successor = successor_of(key)
        if successor is not None and "done" not in successor.rotation_state:
            enqueue_on_commit(ADVANCE_TASK, successor.pk)
