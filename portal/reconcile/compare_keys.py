"""Each API key's copies, one in every account and region of its tier, against what AWS holds
there (values, and the usage plan each copy belongs to); then, in each place, Tollgate's
leftover keys and a count of those made outside Tollgate."""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict

from django.db import transaction

from keys.models import ApiKey, KeyCopy
from keys.sync import api_key_spec
from plans.models import Subscription
from portal.aws import apigateway as aws
from portal.reconcile.compare_tiers import TierFacts, touched_since
from portal.reconcile.outcome import Checked, settle
from portal.reconcile.places import Estate
from portal.reconcile.report import (
    LocationKey,
    ReconcileReport,
    confirm,
    owner_of,
    place_drift,
    resync,
)
from portal.sync import SyncStatus, bump_desired_version, schedule_sync

CHUNK = 2000


def _recreate(key: ApiKey, copies: list[KeyCopy]) -> None:
    """Make the copies deleted in AWS again, with the value of a remaining copy (keys.sync)."""
    with transaction.atomic():
        KeyCopy.objects.filter(pk__in=[c.pk for c in copies if c.pk]).update(aws_id="")
        bump_desired_version(key)
        schedule_sync(key)


def reconcile_keys(
    report: ReconcileReport,
    estate: Estate,
    tiers: TierFacts,
    dry_run: bool,
    read_from: datetime.datetime,
) -> None:
    plan_of_customer = dict(Subscription.objects.active().values_list("customer_id", "plan_id"))
    home = [(estate.home_key, estate.home)]
    held_at: dict[LocationKey, dict[str, str]] = defaultdict(dict)  # place -> public id -> id
    ids_at: dict[LocationKey, set[str]] = defaultdict(set)  # every key id Tollgate knows there
    confirmed: list[int] = []
    keys = ApiKey.objects.select_related("customer").prefetch_related("copies").order_by("pk")
    for key in keys.iterator(chunk_size=CHUNK):
        report.checked_keys += 1
        owner = str(key.public_id)
        plan_id = plan_of_customer.get(key.customer_id)
        places = tiers.places_of.get(plan_id) if plan_id is not None else None
        wanted = dict(places or home)
        copies = estate.copies_of(
            key.copies.all(),
            key.aws_id,
            functools.partial(KeyCopy, key=key, region=estate.home.region, aws_id=key.aws_id),
        )
        for place_key, copy in copies.items():
            ids_at[place_key].add(copy.aws_id)
        if not key.is_revoked:  # a revoked key's copies are all leftovers
            for place_key in wanted:
                held_at[place_key][owner] = ""  # a create that crashed is its sync's to adopt
            for place_key, copy in copies.items():
                if copy.aws_id:
                    held_at[place_key][owner] = copy.aws_id
        if key.sync_status == SyncStatus.PENDING or touched_since(key, read_from):
            continue
        label = f"key “{key.name}” of {key.customer.name}"
        still = {
            place_key
            for place_key, copy in copies.items()
            if copy.aws_id
            and place_key in estate.read
            and copy.aws_id in estate.read[place_key].keys
        }
        if key.is_revoked:
            if still:
                report.resync.append(f"{label}: gone here, still in AWS → delete it")
                if not dry_run:
                    resync(key)
            else:
                report.in_sync += 1
            continue
        if key.sync_status == SyncStatus.FAILED:
            report.resync.append(f"{label}: its last sync failed → sync it again")
            if not dry_run:
                resync(key)
            continue

        spec = api_key_spec(key)
        checked: Checked[KeyCopy] = Checked(label, "API key")
        for place_key in wanted:
            found = checked.found_in(estate, place_key, copies.get(place_key), lambda p: p.keys)
            if found is None:
                continue
            place, here, current = found
            differences = aws.api_key_differences(current, spec)
            names = tiers.names_at.get(place_key, {})
            expected = tiers.plan_ids.get((plan_id, place_key), "") if plan_id else ""
            actual = place.members.get(here.aws_id, set())
            if actual != ({expected} if expected else set()):
                differences.append(
                    aws.Difference(
                        "usage plan",
                        names.get(expected, "none"),
                        ", ".join(sorted(names.get(p, p) for p in actual)) or "none",
                    )
                )
            if differences:
                state = {"enabled": current.enabled, "description": current.description}
                checked.drifts.append(place_drift(place.where, place_key, differences, state))
                place.figures.drifted += 1
            else:
                place.figures.in_sync += 1
        checked.stray = [estate.where_key(k) for k in sorted(still - set(wanted), key=str)]
        settle(
            report,
            key,
            checked,
            dry_run=dry_run,
            several=estate.several,
            confirmed=confirmed,
            recreate=functools.partial(_recreate, key),
        )
        if len(confirmed) >= CHUNK and not dry_run:
            confirm(ApiKey, confirmed)
            confirmed = []
    if not dry_run:
        confirm(ApiKey, confirmed)
    _leftovers(report, estate, held_at, ids_at, dry_run)


def _leftovers(
    report: ReconcileReport,
    estate: Estate,
    held_at: dict[LocationKey, dict[str, str]],
    ids_at: dict[LocationKey, set[str]],
    dry_run: bool,
) -> None:
    for place_key, place in estate.read.items():
        held = held_at.get(place_key, {})
        known = ids_at.get(place_key, set())
        where = f" in {place.where}" if estate.several else ""
        for aws_id, aws_key in place.keys.items():
            kind, owner = owner_of(aws_key.tags)
            if kind != "key":
                if aws_id not in known:  # imported keys keep their own AWS name and no tag
                    report.foreign_key_count += 1
                    place.figures.foreign_keys += 1
                continue
            if held.get(owner) in (aws_id, ""):
                continue  # the key's copy there, or a crashed create its sync will adopt
            # A revoked key must not exist in AWS at all: no sync task will come to adopt a
            # create that landed late (after a timeout), so it goes here.
            report.removed.append(f"API key {aws_id}{where}: left over by Tollgate → delete it")
            if not dry_run:
                estate.remove(
                    place, f"API key {aws_id}", functools.partial(aws.delete_api_key, aws_id)
                )
