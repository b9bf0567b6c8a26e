"""Recording the keys API Gateway took as the customers' keys, and settling their rows.

The keys exist in AWS already, with the values the customers use: they are recorded *synced*
through keys.services.keys_take_over (the one write path for keys found in AWS), each with the
public_id its row fixed at upload, so its AWS name `tollgate-<uuid>` and the row's link stay
right. All in one transaction with the rows' new status: a crash before it commits leaves the
rows pending, and the task's next run sends them again without a duplicate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction

from keys.imports.checking import active_subscriptions
from keys.models import ApiKey, KeyImport, KeyImportRow, KeyImportRowStatus
from keys.services import KeyInAws, keys_take_over
from plans.locations import lives_only_at
from portal.aws import apigateway as aws
from portal.connections.locations import home_location
from portal.sync import bump_desired_versions, schedule_syncs


@dataclass(frozen=True)
class Listed:
    """A row whose key API Gateway listed after the import, with the value the row asked for."""

    row: KeyImportRow
    aws_key: aws.AwsApiKey
    secret_sha256: str
    display_prefix: str
    plan_aws_id: str  # the usage plan the key was imported into


def _public_id_of(row: KeyImportRow) -> uuid.UUID:
    assert row.key_public_id is not None
    return row.key_public_id


def _customer_id_of(row: KeyImportRow) -> int:
    assert row.customer_id is not None
    return row.customer_id


def link_rows(imp: KeyImport, listed: list[Listed]) -> None:
    """Create the synced ApiKey rows and settle the import rows, all or nothing."""
    if not listed:
        return
    with transaction.atomic():
        pending = set(
            KeyImportRow.objects.select_for_update()
            .filter(pk__in=[item.row.pk for item in listed], status=KeyImportRowStatus.PENDING)
            .values_list("pk", flat=True)
        )
        listed = [item for item in listed if item.row.pk in pending]
        if not listed:
            return
        keys = keys_take_over(
            actor=imp.created_by,
            found=[
                KeyInAws(
                    customer_id=_customer_id_of(item.row),
                    name=item.row.name,
                    aws_id=item.aws_key.aws_id,
                    secret_sha256=item.secret_sha256,
                    display_prefix=item.display_prefix,
                    enabled=item.row.enabled,
                    public_id=_public_id_of(item.row),
                )
                for item in listed
            ],
            origin=f"key import {imp.pk}",
            ip=None,
        )
        names = {key.public_id: key.name for key in keys}
        ids = dict(ApiKey.objects.filter(public_id__in=list(names)).values_list("public_id", "pk"))
        for item in listed:
            row = item.row
            name = names[_public_id_of(row)]
            row.status = KeyImportRowStatus.IMPORTED
            row.key_id = ids[_public_id_of(row)]
            row.message = (
                f"Imported as “{name}”: “{row.name}” was taken meanwhile."
                if name != row.name
                else ""
            )
        KeyImportRow.objects.bulk_update(
            [item.row for item in listed], ["status", "key", "message"], batch_size=500
        )
        _follow_tier_switches(listed, ids)


def _follow_tier_switches(listed: list[Listed], ids: dict[uuid.UUID, int]) -> None:
    """A tier switch while the chunk was on its way, or a tier in other places than the home
    one the import ran in: sync the new keys like any other key (copies made where needed)."""
    current = active_subscriptions({_customer_id_of(item.row) for item in listed})
    home = home_location()
    complete: dict[int, bool] = {}

    def in_place(item: Listed) -> bool:
        subscription = current.get(_customer_id_of(item.row))
        if subscription is None:
            return False
        if subscription.plan_id not in complete:
            complete[subscription.plan_id] = lives_only_at(subscription.plan, home)
        return complete[subscription.plan_id] and subscription.plan.aws_id == item.plan_aws_id

    moved = [ids[_public_id_of(item.row)] for item in listed if not in_place(item)]
    if moved:
        bump_desired_versions(ApiKey.objects.filter(pk__in=moved))
        schedule_syncs(ApiKey, moved)
