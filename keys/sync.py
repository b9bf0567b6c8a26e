"""Converge one API key onto API Gateway: a copy in every account and region its tier covers,
each with the same value, in the tier's usage plan there.

The value exists only in AWS and, for the moment a copy is made, in this worker's memory: the
first copy's value is generated here (portal.aws.apigateway.key_values) or, for a copy made
later (the tier now covers another region), read from a copy that has it (GetApiKey
includeValue); it is never stored, queued or logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from keys.models import ApiKey, KeyCopy
from plans.locations import tier_locations
from plans.models import Subscription
from portal.aws import apigateway as aws
from portal.aws.errors import AwsNotFound
from portal.aws.location import Location, at
from portal.connections.copies import converge_copies, first_attempt, keep_first_copy_id
from portal.connections.locations import Locations, home_location
from portal.errors import PermanentSyncError, TransientSyncError


def api_key_spec(key: ApiKey) -> aws.ApiKeySpec:
    expired = key.expires_at is not None and key.expires_at <= timezone.now()
    return aws.ApiKeySpec(
        owner_id=f"key:{key.public_id}",
        name=key.aws_name,
        description=f"{key.customer.name}: {key.name}",
        enabled=key.enabled and not expired,
    )


@dataclass(frozen=True)
class KeyPlace:
    """Where a copy of the key belongs: the tier's usage plan there (blank `tier_name`: the
    customer is on no tier, so the copy belongs to no usage plan)."""

    tier_name: str = ""
    plan_aws_id: str = ""  # blank with a tier: its usage plan has not reached this place yet


def key_places(key: ApiKey) -> list[tuple[Location, KeyPlace]]:
    """The accounts and regions of the key's tier (the home location without a tier)."""
    subscription = (
        Subscription.objects.active()
        .select_related("plan")
        .filter(customer_id=key.customer_id)
        .first()
    )
    if subscription is None:
        return [(home_location(), KeyPlace())]
    plan = subscription.plan
    copies = {copy.location_key: copy.aws_id for copy in plan.copies.all()}
    return [
        (place.location, KeyPlace(plan.name, copies.get(place.key, "")))
        for place in tier_locations(plan)
    ]


class _Value:
    """The key's value while this sync makes copies: generated once, or read once from a copy
    that has it; never leaves the worker's memory."""

    def __init__(self, key: ApiKey) -> None:
        self.key = key
        self.value: str | None = None

    def get(self) -> str:
        if self.value is None:
            source = KeyCopy.objects.filter(key=self.key).exclude(aws_id="").order_by("pk").first()
            if source is None:
                self.value = aws.new_key_value()
            else:
                where = Locations([source.connection_id]).at(source.connection_id, source.region)
                with at(where):
                    self.value = aws.get_api_key_secret(source.aws_id)
        return self.value


def push_key(key: ApiKey) -> None:
    spec = api_key_spec(key)
    value = _Value(key)
    wanted = [] if key.is_revoked else key_places(key)

    def push(copy: KeyCopy, location: Location, place: KeyPlace) -> None:
        if place.tier_name and not place.plan_aws_id:
            raise TransientSyncError(
                f"Waiting for the {place.tier_name} tier to reach API Gateway in {location.label}."
            )
        known_plans: list[str] | None = None
        if not copy.aws_id:
            orphan = None if first_attempt(copy) else aws.find_api_key(spec)
            if orphan is not None:
                aws.update_api_key(orphan.aws_id, spec)
                aws_id = orphan.aws_id
                digest, prefix = (
                    (key.secret_sha256, key.display_prefix)
                    if key.secret_sha256
                    else aws.fingerprint_of(aws_id)
                )
            else:
                created = aws.create_api_key(spec, value=value.get())
                aws_id, digest, prefix = (
                    created.aws_id,
                    created.secret_sha256,
                    created.display_prefix,
                )
                known_plans = []
            # Saved at once, outside any transaction: a crash after this line must not forget it.
            KeyCopy.objects.filter(pk=copy.pk).update(aws_id=aws_id, pushed=None)
            copy.aws_id, copy.pushed = aws_id, None
            if not key.secret_sha256:
                ApiKey.objects.filter(pk=key.pk).update(secret_sha256=digest, display_prefix=prefix)
                key.secret_sha256, key.display_prefix = digest, prefix
        else:
            known = copy.pushed
            try:
                aws.update_api_key(copy.aws_id, spec, known=known)
            except AwsNotFound as exc:
                raise PermanentSyncError(
                    "This key no longer exists in API Gateway (deleted outside Tollgate). "
                    "Revoke it and create a new one."
                ) from exc
            if known is not None and "usage_plan" in known:
                known_plans = [str(known["usage_plan"])] if known["usage_plan"] else []
        aws.ensure_key_in_plan(copy.aws_id, place.plan_aws_id or None, known_plans=known_plans)
        # What AWS holds now: the next change patches from it without reading AWS first.
        copy.pushed = {**aws.api_key_record(spec), "usage_plan": place.plan_aws_id}
        KeyCopy.objects.filter(pk=copy.pk).update(pushed=copy.pushed)

    def remove(copy: KeyCopy, location: Location) -> None:
        leftover = copy.aws_id or getattr(aws.find_api_key(spec), "aws_id", "")
        if leftover:
            aws.delete_api_key(leftover)

    try:
        converge_copies(
            copies=key.copies,
            version=key.desired_version,
            wanted=wanted,
            push=push,
            remove=remove,
            legacy=(key.aws_id, home_location()),
        )
    finally:
        keep_first_copy_id(key, wanted[0][0] if wanted else None)
