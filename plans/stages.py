"""Writes to API stages: discovery in every account and region, and what admins offer."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from plans.models import ApiStage
from portal.audit.services import audit
from portal.aws import apigateway as aws
from portal.aws.location import Location, at
from portal.connections.locations import all_locations
from portal.errors import PermanentSyncError, TransientSyncError
from portal.sync import enqueue_on_commit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DiscoveryResult:
    found: int
    new: int
    missing: int
    domains_unreadable: str = ""  # why no custom domain was read ("": they were)
    # Places discovery could not read, with AWS's reason; their stages are left as they were.
    unreachable: dict[str, str] = field(default_factory=dict)


DOMAINS_UNREADABLE = "tollgate:stages:domains-unreadable"


def _say_domains_unreadable(reason: str) -> None:
    """Why stages show execute-api addresses: logged once (a day later again if it lasts)."""
    if not reason:
        cache.delete(DOMAINS_UNREADABLE)
    elif cache.get(DOMAINS_UNREADABLE) != reason:
        logger.warning("Custom domains not read; stages keep execute-api addresses: %s", reason)
        cache.set(DOMAINS_UNREADABLE, reason, 24 * 3600)


def stages_domains_unreadable() -> str:
    """Why the last discovery read no custom domain ("" when it did): the stage page says so."""
    return str(cache.get(DOMAINS_UNREADABLE) or "")


def _discover_at(location: Location, now: datetime.datetime) -> tuple[DiscoveryResult, str]:
    """GetRestApis + GetStages, GetDomainNames + GetBasePathMappings in one account and region."""
    with at(location):
        discovered = aws.list_stages()
        refs = [aws.StageRef(found.rest_api_id, found.stage_name) for found in discovered]
        domains = aws.custom_domains(refs) if refs else aws.CustomDomains({})
    seen: set[int] = set()
    new = 0
    with transaction.atomic():
        for found, ref in zip(discovered, refs, strict=True):
            address = domains.addresses.get(ref)
            stage, created = ApiStage.objects.update_or_create(
                connection_id=location.connection_id,
                region=location.region,
                rest_api_id=found.rest_api_id,
                stage_name=found.stage_name,
                defaults={
                    "api_name": found.api_name,
                    "description": found.description,
                    "deployment_id": found.deployment_id,
                    "custom_domain": address.domain_name if address else "",
                    "custom_domain_path": address.path if address else "",
                    "last_seen_at": now,
                    "missing_since": None,
                },
            )
            new += int(created)
            seen.add(stage.pk)
        missing = (
            ApiStage.objects.filter(
                connection_id=location.connection_id,
                region=location.region,
                missing_since__isnull=True,
            )
            .exclude(pk__in=seen)
            .update(missing_since=now)
        )
    unreadable = f"{location.label}: {domains.unreadable}" if domains.unreadable else ""
    return DiscoveryResult(len(discovered), new, missing), unreadable


def stages_discover() -> DiscoveryResult:
    """Refresh the stage list from AWS in every account and region of every connection, with
    the custom domain each stage is published at (aws.custom_domains). A place AWS refuses or
    cannot be reached keeps its stages as they were. Runs in a task or the CLI."""
    now = timezone.now()
    found = new = missing = 0
    reasons: list[str] = []
    unreachable: dict[str, str] = {}
    for location in all_locations():
        try:
            result, unreadable = _discover_at(location, now)
        except (TransientSyncError, PermanentSyncError) as exc:
            logger.warning("stage discovery in %s failed: %s", location.label, exc)
            unreachable[location.label] = str(exc)
            continue
        found, new, missing = found + result.found, new + result.new, missing + result.missing
        if unreadable:
            reasons.append(unreadable)
    reason = "; ".join(reasons)
    _say_domains_unreadable(reason)
    return DiscoveryResult(found, new, missing, domains_unreadable=reason, unreachable=unreachable)


def stage_record_operations(
    *, stage: ApiStage, operations: Iterable[str], key_operations: Iterable[str] = ()
) -> None:
    """What the stage's newest OpenAPI document says it has ("GET /forecast"), recorded by the
    catalog after an export so tiers can check per-method limits against it, and which of them
    need an API key, as calls ("GET /forecast?city=CITY": plans.calls picks the examples' one).
    A fact read from AWS, not a person's change: no audit event."""
    found = sorted(set(operations))
    protected = sorted(set(key_operations))
    if stage.operations != found or stage.key_operations != protected:
        ApiStage.objects.filter(pk=stage.pk).update(operations=found, key_operations=protected)
        stage.operations = found
        stage.key_operations = protected


DISCOVER_STAGES_TASK = "plans.tasks.discover_stages"
DISCOVERY_REQUESTED = "tollgate:stages:discovery-requested"


@transaction.atomic
def stages_refresh_requested(*, actor: Any, ip: str | None = None) -> None:
    """A person asks to look for stages in AWS now, instead of waiting for the beat job."""
    audit(actor=actor, action="stages.refresh_requested", target=None, about="API stages", ip=ip)
    cache.set(DISCOVERY_REQUESTED, timezone.now(), 300)
    enqueue_on_commit(DISCOVER_STAGES_TASK)


def stages_refresh_requested_at() -> datetime.datetime | None:
    """When someone last asked for a refresh, for five minutes (the stage page says so)."""
    value = cache.get(DISCOVERY_REQUESTED)
    return value if isinstance(value, datetime.datetime) else None


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
