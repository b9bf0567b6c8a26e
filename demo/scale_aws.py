"""seed_scale --with-aws: the seeded keys into AWS (the local AWS at AWS_ENDPOINT_URL) by
ImportApiKeys, 1,000 a call per account and region, each in its tier's usage plan there; then one
listing per place gives the key ids for the KeyCopy rows, so a reconcile finds them in sync.

API Gateway holds at most 10,000 API keys per account and region (a quota AWS can raise on
request): `check_capacity` refuses a run that could pass it.
"""

from __future__ import annotations

from django.core.management.base import CommandError

from demo.scale import Tier
from keys.models import ApiKey, KeyCopy
from plans.models import PlanCopy
from portal.aws import apigateway as aws
from portal.aws.location import Location, at

KEYS_PER_REGION = 10_000  # AWS's default quota of API keys per account and region
IMPORT_CHUNK = 1000

LocationKey = tuple[int | None, str]


def check_tiers(tiers: list[Tier]) -> dict[tuple[int, LocationKey], str]:
    """Each tier's usage plan id in each place; refuse tiers not in AWS."""
    plan_ids: dict[tuple[int, LocationKey], str] = {}
    copies = {(c.plan_id, c.location_key): c.aws_id for c in PlanCopy.objects.all()}
    for tier in tiers:
        for location in tier.locations:
            aws_id = copies.get((tier.plan.pk, location.key), "")
            if not aws_id or aws_id.startswith("sp"):
                raise CommandError(
                    f"--with-aws: tier {tier.plan.name!r} has no usage plan in AWS in "
                    f"{location.region}. Create and sync the tiers first (manage.py seed_demo "
                    "against the local AWS), then run seed_scale --with-aws."
                )
            plan_ids[(tier.plan.pk, location.key)] = aws_id
    return plan_ids


def check_capacity(tiers: list[Tier], new_keys: int) -> None:
    """Refuse if a place could end up with more than AWS's 10,000 keys (every new key counted
    in every place any live tier covers: the tiers are drawn at random)."""
    places: dict[LocationKey, Location] = {}
    for tier in tiers:
        for location in tier.locations:
            places[location.key] = location
    for key, location in places.items():
        existing = KeyCopy.objects.filter(connection_id=key[0], region=key[1]).count()
        if existing + new_keys > KEYS_PER_REGION:
            raise CommandError(
                f"--with-aws: {existing:,} keys already in {location.region} plus {new_keys:,} "
                f"new could pass API Gateway's {KEYS_PER_REGION:,} API keys per account and "
                "region (a quota AWS raises only on request). Seed fewer customers or keys, or "
                "leave out --with-aws (database rows only)."
            )


class Importer:
    def __init__(self, plan_ids: dict[tuple[int, LocationKey], str]) -> None:
        self.plan_ids = plan_ids
        self.places: dict[LocationKey, Location] = {}
        self.calls = 0
        self.key_ids: list[int] = []

    def __call__(self, fresh: list[tuple[ApiKey, Tier, str]]) -> None:
        by_place: dict[LocationKey, list[str]] = {}
        for key, tier, value in fresh:
            self.key_ids.append(key.pk)
            for location in tier.locations:
                self.places[location.key] = location
                plan_id = self.plan_ids[(tier.plan.pk, location.key)]
                description = f"{key.customer.name}: {key.name}".replace('"', '""')
                by_place.setdefault(location.key, []).append(
                    f'{key.aws_name},{value},"{description}",true,{plan_id}'
                )
        for place, lines in by_place.items():
            with at(self.places[place]):
                for start in range(0, len(lines), IMPORT_CHUNK):
                    body = "\n".join(
                        ["Name,Key,Description,Enabled,UsagePlanIds", *lines[start:][:IMPORT_CHUNK]]
                    )
                    _, warnings = aws.import_api_keys(body + "\n")
                    self.calls += 1
                    if warnings:
                        raise CommandError(f"ImportApiKeys refused rows: {warnings[:3]}")

    def link(self) -> int:
        """The AWS key ids into the seeded KeyCopy rows (and each key's first copy into ApiKey)."""
        updated = 0
        for place, location in self.places.items():
            with at(location):
                ids = {k.name: k.aws_id for k in aws.list_api_keys()}
            copies = list(
                KeyCopy.objects.filter(
                    key_id__in=self.key_ids, connection_id=place[0], region=place[1]
                )
                .select_related("key")
                .only("id", "aws_id", "key__public_id", "key__imported_aws_name")
            )
            for copy in copies:
                copy.aws_id = ids.get(copy.key.aws_name, copy.aws_id)
            KeyCopy.objects.bulk_update(copies, ["aws_id"], batch_size=5000)
            updated += len(copies)
        first: dict[int, str] = {}
        for copy in KeyCopy.objects.filter(key_id__in=self.key_ids).order_by("key_id", "pk"):
            first.setdefault(copy.key_id, copy.aws_id)
        keys = [ApiKey(pk=pk, aws_id=aws_id) for pk, aws_id in first.items()]
        ApiKey.objects.bulk_update(keys, ["aws_id"], batch_size=5000)
        return updated
