"""Each tier's usage plans, one per account and region it covers, against what AWS holds there;
then, in each place, Tollgate's leftover usage plans and the ones made outside Tollgate."""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction

from keys.services import keys_resync_for_tier
from plans.locations import tier_locations
from plans.models import Plan, PlanCopy
from plans.sync import usage_plan_spec
from portal.aws import apigateway as aws
from portal.aws.location import Location
from portal.reconcile.outcome import Checked, settle
from portal.reconcile.places import Estate
from portal.reconcile.report import (
    LocationKey,
    ReconcileReport,
    confirm,
    owner_of,
    place_drift,
    plan_state_json,
    resync,
)
from portal.sync import SyncState, SyncStatus, bump_desired_version, schedule_sync


@dataclass
class TierFacts:
    """What the key pass needs of the tiers, read once."""

    places_of: dict[int, list[tuple[LocationKey, Location]]] = field(default_factory=dict)
    plan_ids: dict[tuple[int, LocationKey], str] = field(default_factory=dict)  # usage plan ids
    names_at: dict[LocationKey, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))


def touched_since(obj: SyncState, moment: datetime.datetime) -> bool:
    return obj.sync_attempted_at is not None and obj.sync_attempted_at >= moment


def known_usage_plans(estate: Estate) -> dict[LocationKey, set[str]]:
    """The usage plan ids Tollgate holds in each place (adopted ones carry no tag)."""
    known: dict[LocationKey, set[str]] = defaultdict(set)
    for connection_id, region, aws_id in PlanCopy.objects.exclude(aws_id="").values_list(
        "connection_id", "region", "aws_id"
    ):
        known[estate.canonical((connection_id, region))].add(aws_id)
    legacy = Plan.objects.filter(copies__isnull=True).exclude(aws_id="")
    known[estate.home_key].update(legacy.values_list("aws_id", flat=True))
    return known


def _recreate(plan: Plan, copies: list[PlanCopy]) -> None:
    """Make the usage plans deleted in AWS again; the customers' keys join them once made
    (each key's sync waits while its place's usage plan has no id)."""
    with transaction.atomic():
        PlanCopy.objects.filter(pk__in=[c.pk for c in copies if c.pk]).update(aws_id="")
        bump_desired_version(plan)
        schedule_sync(plan)
        keys_resync_for_tier(plan)


def reconcile_tiers(
    report: ReconcileReport, estate: Estate, dry_run: bool, read_from: datetime.datetime
) -> TierFacts:
    facts = TierFacts()
    held_at: dict[LocationKey, dict[str, str]] = defaultdict(dict)  # place -> plan pk -> id
    archived: set[str] = set()
    confirmed: list[int] = []
    for plan in Plan.objects.prefetch_related("stages", "copies"):
        report.checked_tiers += 1
        wanted = (
            {} if plan.is_archived else {estate.canonical(p.key): p for p in tier_locations(plan)}
        )
        facts.places_of[plan.pk] = [(key, place.location) for key, place in wanted.items()]
        copies = estate.copies_of(
            plan.copies.all(),
            plan.aws_id,
            functools.partial(PlanCopy, plan=plan, region=estate.home.region, aws_id=plan.aws_id),
        )
        for key in wanted:
            held_at[key][str(plan.pk)] = ""  # a create that crashed is its sync's to adopt
        for key, copy in copies.items():
            if copy.aws_id:
                facts.plan_ids[(plan.pk, key)] = copy.aws_id
                facts.names_at[key][copy.aws_id] = plan.name
                held_at[key][str(plan.pk)] = copy.aws_id
        if plan.is_archived:
            archived.add(str(plan.pk))
        if plan.sync_status == SyncStatus.PENDING or touched_since(plan, read_from):
            continue  # its sync task is on the way, or ran while AWS was being read
        label = f"tier “{plan.name}”"
        # Copies whose usage plan AWS still has, in the places read.
        still = {
            key
            for key, copy in copies.items()
            if copy.aws_id and key in estate.read and copy.aws_id in estate.read[key].plans
        }
        if plan.is_archived:
            if still:
                report.resync.append(f"{label}: gone here, still in AWS → delete it")
                if not dry_run:
                    resync(plan)
            else:
                report.in_sync += 1
            continue
        if plan.sync_status == SyncStatus.FAILED:
            report.resync.append(f"{label}: its last sync failed → sync it again")
            if not dry_run:
                resync(plan)
            continue

        checked: Checked[PlanCopy] = Checked(label, "usage plan")
        for key, tier_place in wanted.items():
            found = checked.found_in(estate, key, copies.get(key), lambda place: place.plans)
            if found is None:
                continue
            place, here, current = found
            state = aws.usage_plan_state(current)
            differences = aws.usage_plan_differences(
                state, usage_plan_spec(plan, tier_place.stages)
            )
            if differences:
                checked.drifts.append(
                    place_drift(place.where, key, differences, plan_state_json(state))
                )
                place.figures.drifted += 1
            else:
                place.figures.in_sync += 1
        checked.stray = [estate.where_key(key) for key in sorted(still - set(wanted), key=str)]
        settle(
            report,
            plan,
            checked,
            dry_run=dry_run,
            several=estate.several,
            confirmed=confirmed,
            recreate=functools.partial(_recreate, plan),
        )
    if not dry_run:
        confirm(Plan, confirmed)
    _leftovers(report, estate, held_at, archived, dry_run)
    return facts


def _leftovers(
    report: ReconcileReport,
    estate: Estate,
    held_at: dict[LocationKey, dict[str, str]],
    archived: set[str],
    dry_run: bool,
) -> None:
    """Tagged as Tollgate's but no tier's copy there: deleted. Untagged and no tier's: offered
    for import, with the place it is in."""
    for key, place in estate.read.items():
        held = held_at.get(key, {})
        adopted = set(held.values())
        where = f" in {place.where}" if estate.several else ""
        for plan_id, aws_plan in sorted(place.plans.items()):
            kind, owner = owner_of(aws_plan.get("tags"))
            name = aws_plan.get("name", "")
            if not kind:
                if plan_id not in adopted:
                    place.figures.foreign_usage_plans += 1
                    report.foreign_usage_plans.append(
                        {
                            "id": plan_id,
                            "name": name,
                            "description": aws_plan.get("description") or "",
                            "where": place.where,
                            "connection_id": key[0],
                            "region": key[1],
                        }
                    )
                continue
            if kind != "plan" or (owner not in archived and held.get(owner) in (plan_id, "")):
                continue  # its tier's copy, or a crashed create the tier's sync will adopt
            report.removed.append(
                f"usage plan {plan_id} “{name}”{where}: left over by Tollgate → delete it"
            )
            if not dry_run:
                estate.remove(
                    place,
                    f"usage plan {plan_id}",
                    functools.partial(aws.delete_usage_plan, plan_id),
                )
