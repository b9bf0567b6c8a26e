"""Compare the whole database with API Gateway and converge, or show people what differs.

One pass reads AWS in pages — usage plans, API keys (500 a page), the keys of each of our usage
plans — and makes no write at all when everything is in sync. Then, for each object:

- never reached AWS, or failed → sent to its sync task again;
- deleted here (revoked key, archived tier) but still in AWS → sent to its sync task, which
  deletes it;
- tagged as ours but unknown here (a leftover) → deleted from AWS;
- different in AWS from what we last confirmed (someone used the AWS console) → marked
  *drifted*, with the differences, for an admin to settle on the drift page: push ours, or
  accept AWS's values;
- created outside Tollgate → listed for import.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from keys.models import ApiKey
from keys.sync import api_key_spec
from plans.models import Plan, Subscription
from plans.sync import usage_plan_spec
from portal.audit.services import audit
from portal.aws import apigateway as aws
from portal.reconcile.models import ReconcileRun
from portal.sync import (
    SyncState,
    SyncStatus,
    bump_desired_version,
    enqueue_on_commit,
    schedule_sync,
)

logger = logging.getLogger(__name__)

DELETED_IN_AWS = "deleted in AWS"


@dataclass
class ReconcileReport:
    checked_tiers: int = 0
    checked_keys: int = 0
    in_sync: int = 0
    resync: list[str] = field(default_factory=list)
    drifted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    foreign_usage_plans: list[dict[str, Any]] = field(default_factory=list)
    foreign_key_count: int = 0

    def summary(self) -> dict[str, int]:
        return {
            "tiers_checked": self.checked_tiers,
            "keys_checked": self.checked_keys,
            "in_sync": self.in_sync,
            "resync": len(self.resync),
            "drifted": len(self.drifted),
            "removed": len(self.removed),
            "foreign_usage_plans": len(self.foreign_usage_plans),
            "foreign_keys": self.foreign_key_count,
        }

    def lines(self) -> list[str]:
        out = [f"resync   {line}" for line in self.resync]
        out += [f"drifted  {line}" for line in self.drifted]
        out += [f"remove   {line}" for line in self.removed]
        out += [
            f"foreign  usage plan {p['id']} “{p['name']}” (not created by Tollgate; import it on the console)"
            for p in self.foreign_usage_plans
        ]
        if self.foreign_key_count:
            out.append(f"foreign  {self.foreign_key_count} API keys not created by Tollgate")
        return out


def _owner(tags: dict[str, str] | None) -> tuple[str, str]:
    """('plan', '12') or ('key', '<uuid>') from our tag; ('', '') for a foreign object."""
    kind, _, ident = (tags or {}).get(aws.OWNER_TAG, "").partition(":")
    return kind, ident


def _differences_json(differences: list[aws.Difference]) -> list[dict[str, str]]:
    return [{"field": d.field, "ours": d.ours, "aws": d.aws} for d in differences]


def _mark_drifted(obj: SyncState, differences: list[aws.Difference], aws_state: Any) -> None:
    type(obj)._default_manager.filter(
        pk=obj.pk,
        desired_version=obj.desired_version,
        sync_status__in=[SyncStatus.SYNCED, SyncStatus.DRIFTED],
    ).update(
        sync_status=SyncStatus.DRIFTED,
        drift={
            "detected_at": timezone.now().isoformat(),
            "differences": _differences_json(differences),
            "aws": aws_state,
        },
    )


def _confirm(model: type[SyncState], pks: list[int]) -> None:
    """These rows equal AWS right now: record the time, and clear a drift that went away."""
    if pks:
        model._default_manager.filter(
            pk__in=pks, sync_status__in=[SyncStatus.SYNCED, SyncStatus.DRIFTED]
        ).update(sync_status=SyncStatus.SYNCED, synced_at=timezone.now(), drift=None)


def _resync(obj: SyncState) -> None:
    with transaction.atomic():
        bump_desired_version(obj)
        schedule_sync(obj)


def plan_state_json(state: aws.UsagePlanSpec) -> dict[str, Any]:
    return {
        "name": state.name,
        "description": state.description,
        "stages": sorted(s.patch_value for s in state.stages),
        "throttle": None
        if state.throttle is None
        else {"rate": str(state.throttle.rate), "burst": state.throttle.burst},
        "quota": None
        if state.quota is None
        else {
            "limit": state.quota.limit,
            "period": state.quota.period,
            "offset": state.quota.offset,
        },
        "method_throttles": [
            {
                "stage": m.stage.patch_value,
                "resource_path": m.resource_path,
                "http_method": m.http_method,
                "rate": str(m.rate),
                "burst": m.burst,
            }
            for m in sorted(state.method_throttles, key=lambda m: (m.stage.patch_value, m.key))
        ],
    }


RECONCILE_TASK = "portal.reconcile.tasks.reconcile_with_aws"


@transaction.atomic
def reconcile_requested(*, actor: Any, ip: str | None = None) -> None:
    """A person asks to compare Tollgate with AWS now, instead of waiting for the beat job."""
    audit(actor=actor, action="reconcile.requested", target=None, about="Tollgate and AWS", ip=ip)
    enqueue_on_commit(RECONCILE_TASK)


def reconcile(*, dry_run: bool = False) -> ReconcileReport:
    run = ReconcileRun.objects.create(dry_run=dry_run)
    report = ReconcileReport()
    # AWS is read before the database: a sync that ran meanwhile would look like drift, so
    # rows a sync touched after this moment wait for the next pass.
    read_from = timezone.now()
    try:
        aws_plans = {plan["id"]: plan for plan in aws.list_usage_plans()}
        aws_keys = {key.aws_id: key for key in aws.list_api_keys()}
        adopted = set(Plan.objects.exclude(aws_id="").values_list("aws_id", flat=True))
        ours_in_aws = {
            pid: p
            for pid, p in aws_plans.items()
            if _owner(p.get("tags"))[0] == "plan" or pid in adopted
        }
        members: dict[str, set[str]] = defaultdict(set)
        for plan_id in ours_in_aws:
            for key_id in aws.keys_of_usage_plan(plan_id):
                members[key_id].add(plan_id)

        _reconcile_tiers(report, aws_plans, ours_in_aws, dry_run, read_from)
        _reconcile_keys(report, aws_keys, members, dry_run, read_from)
        report.foreign_usage_plans = [
            {"id": pid, "name": p.get("name", ""), "description": p.get("description") or ""}
            for pid, p in sorted(aws_plans.items())
            if not _owner(p.get("tags"))[0] and pid not in adopted
        ]
    except Exception as exc:
        run.error = str(exc)[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["error", "finished_at"])
        raise
    run.summary = report.summary()
    run.foreign_usage_plans = report.foreign_usage_plans
    run.foreign_key_count = report.foreign_key_count
    run.finished_at = timezone.now()
    run.save()
    return report


def _touched_since(obj: SyncState, moment: datetime.datetime) -> bool:
    return obj.sync_attempted_at is not None and obj.sync_attempted_at >= moment


def _sent_again(
    report: ReconcileReport,
    obj: SyncState,
    *,
    label: str,
    retired: bool,
    in_aws: bool,
    dry_run: bool,
) -> bool:
    """Handle what the object's own sync task must finish; True if nothing is left to compare."""
    if retired:
        if in_aws:
            report.resync.append(f"{label}: gone here, still in AWS → delete it")
            if not dry_run:
                _resync(obj)
        else:
            report.in_sync += 1
        return True
    if obj.sync_status == SyncStatus.FAILED or not getattr(obj, "aws_id", ""):
        report.resync.append(f"{label}: not yet in AWS → sync it")
        if not dry_run:
            _resync(obj)
        return True
    return False


def _compared(
    report: ReconcileReport,
    obj: SyncState,
    *,
    label: str,
    differences: list[aws.Difference],
    aws_state: Any,
    dry_run: bool,
    confirmed: list[int],
) -> None:
    """Record drift, or that the object equals AWS."""
    if differences:
        report.drifted.append(
            f"{label}: "
            + "; ".join(f"{d.field} is {d.aws} in AWS, {d.ours} here" for d in differences)
        )
        if not dry_run:
            _mark_drifted(obj, differences, aws_state)
    else:
        report.in_sync += 1
        confirmed.append(obj.pk)


def _reconcile_tiers(
    report: ReconcileReport,
    aws_plans: dict[str, dict[str, Any]],
    ours_in_aws: dict[str, dict[str, Any]],
    dry_run: bool,
    read_from: datetime.datetime,
) -> None:
    confirmed: list[int] = []
    known: dict[str, str] = {}
    archived: set[str] = set()
    for plan in Plan.objects.prefetch_related("stages"):
        report.checked_tiers += 1
        known[str(plan.pk)] = plan.aws_id
        if plan.is_archived:
            archived.add(str(plan.pk))
        if plan.sync_status == SyncStatus.PENDING or _touched_since(plan, read_from):
            continue  # its sync task is on the way, or ran while AWS was being read
        label = f"tier “{plan.name}”"
        in_aws = bool(plan.aws_id) and plan.aws_id in aws_plans
        if _sent_again(
            report,
            plan,
            label=label,
            retired=plan.is_archived,
            in_aws=in_aws,
            dry_run=dry_run,
        ):
            continue
        current = aws_plans.get(plan.aws_id)
        if current is None:
            differences = [aws.Difference("usage plan", f"exists ({plan.aws_id})", DELETED_IN_AWS)]
            state: Any = None
        else:
            aws_state = aws.usage_plan_state(current)
            differences = aws.usage_plan_differences(aws_state, usage_plan_spec(plan))
            state = plan_state_json(aws_state)
        _compared(
            report,
            plan,
            label=label,
            differences=differences,
            aws_state=state,
            dry_run=dry_run,
            confirmed=confirmed,
        )
    if not dry_run:
        _confirm(Plan, confirmed)

    for plan_id, aws_plan in ours_in_aws.items():
        kind, owner = _owner(aws_plan.get("tags"))
        if kind != "plan":
            continue  # imported from outside Tollgate: it keeps no tag
        if owner not in archived and (
            known.get(owner) == plan_id or (owner in known and not known[owner])
        ):
            continue  # ours, or a crashed create the tier's own sync task will adopt
        report.removed.append(
            f"usage plan {plan_id} “{aws_plan.get('name', '')}”: left over by Tollgate → delete it"
        )
        if not dry_run:
            aws.delete_usage_plan(plan_id)


def _reconcile_keys(
    report: ReconcileReport,
    aws_keys: dict[str, aws.AwsApiKey],
    members: dict[str, set[str]],
    dry_run: bool,
    read_from: datetime.datetime,
) -> None:
    plan_of_customer = dict(
        Subscription.objects.active().values_list("customer_id", "plan__aws_id")
    )
    plan_names = dict(Plan.objects.exclude(aws_id="").values_list("aws_id", "name"))
    confirmed: list[int] = []
    known: dict[str, str] = {}
    keys = ApiKey.objects.select_related("customer").order_by("pk")
    revoked: set[str] = set()
    for key in keys.iterator(chunk_size=2000):
        report.checked_keys += 1
        known[str(key.public_id)] = key.aws_id
        if key.is_revoked:
            revoked.add(str(key.public_id))
        if key.sync_status == SyncStatus.PENDING or _touched_since(key, read_from):
            continue
        label = f"key “{key.name}” of {key.customer.name}"
        in_aws = bool(key.aws_id) and key.aws_id in aws_keys
        if _sent_again(
            report,
            key,
            label=label,
            retired=key.is_revoked,
            in_aws=in_aws,
            dry_run=dry_run,
        ):
            continue
        current = aws_keys.get(key.aws_id)
        if current is None:
            differences = [aws.Difference("API key", f"exists ({key.aws_id})", DELETED_IN_AWS)]
            state: Any = None
        else:
            differences = aws.api_key_differences(current, api_key_spec(key))
            expected = plan_of_customer.get(key.customer_id) or ""
            actual = members.get(key.aws_id, set())
            if actual != ({expected} if expected else set()):
                differences.append(
                    aws.Difference(
                        "usage plan",
                        plan_names.get(expected, "none"),
                        ", ".join(sorted(plan_names.get(p, p) for p in actual)) or "none",
                    )
                )
            state = {"enabled": current.enabled, "description": current.description}
        _compared(
            report,
            key,
            label=label,
            differences=differences,
            aws_state=state,
            dry_run=dry_run,
            confirmed=confirmed,
        )
        if len(confirmed) >= 2000 and not dry_run:
            _confirm(ApiKey, confirmed)
            confirmed = []
    if not dry_run:
        _confirm(ApiKey, confirmed)

    adopted = set(known.values())
    for aws_id, aws_key in aws_keys.items():
        kind, owner = _owner(aws_key.tags)
        if kind != "key":
            if aws_id not in adopted:  # imported keys keep their own AWS name and no tag
                report.foreign_key_count += 1
            continue
        if owner not in revoked and (
            known.get(owner) == aws_id or (owner in known and not known[owner])
        ):
            continue  # ours, or a crashed create the key's own sync task will adopt
        # A revoked key must not exist in AWS at all: no sync task will come to adopt a create
        # that landed late (after a timeout), so it goes here.
        report.removed.append(f"API key {aws_id}: left over by Tollgate → delete it")
        if not dry_run:
            aws.delete_api_key(aws_id)
