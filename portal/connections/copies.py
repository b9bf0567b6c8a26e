"""Converge an object's AWS copies, one per account and region, each on its own.

A tier is one usage plan per account and region it covers, a key one copy in each (portal/
connections/models.AwsCopy). `converge_copies` brings every wanted copy to the object's desired
version and removes the copies no longer wanted. A copy that fails records where and why and
does not stop the others; a copy already at the version is skipped, so the retry of a change
that failed in one region calls AWS only there.

A call AWS left unanswered (AnswerLost) may still land after any read made now: AWS would then
hold that call's state while the row says synced. So the copy records when it happened, and
its next push or removal waits (AnswerAwaited) until the call must have landed, then reads.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.db import IntegrityError
from django.utils import timezone

from portal.aws.clients import unanswered_call_lands_within
from portal.aws.limiter import RateBudgetWait
from portal.aws.location import Location, at
from portal.connections.locations import Locations
from portal.connections.models import AwsCopy
from portal.errors import AnswerLost, PermanentSyncError, TransientSyncError

logger = logging.getLogger(__name__)

Copy = TypeVar("Copy", bound=AwsCopy)
Payload = TypeVar("Payload")
LocationKey = tuple[int | None, str]


@dataclass
class CopiesOutcome(Generic[Copy]):
    """What a convergence left: every wanted copy (synced or not), in the wanted order, and
    whether the set of places changed (a copy made or removed)."""

    copies: list[Copy] = field(default_factory=list)
    places_changed: bool = False

    @property
    def first_aws_id(self) -> str:
        return self.copies[0].aws_id if self.copies else ""


class AnswerAwaited(RateBudgetWait):
    """This copy's last call went unanswered and may still land: wait `retry_after` seconds
    before reading AWS for it again (a wait, like the rate budget's: never a failed attempt)."""

    def __init__(self, operation: str, retry_after: float, budget: str = "") -> None:
        super().__init__(operation, retry_after, budget)
        self.args = (
            f"AWS did not answer a call in time and may still apply it; "
            f"looking again in {retry_after:.0f} s",
        )


def _answer_awaited(copy: AwsCopy, now: datetime.datetime) -> AnswerAwaited | None:
    if copy.answer_lost_at is None:
        return None
    landed_by = copy.answer_lost_at + datetime.timedelta(seconds=unanswered_call_lands_within())
    if landed_by <= now:
        return None
    return AnswerAwaited("unanswered call", (landed_by - now).total_seconds())


def _answer_lost_fields(exc: Exception) -> dict[str, datetime.datetime]:
    """The copy's fields to save with a failed call: when its answer was lost, if it was."""
    return {"answer_lost_at": timezone.now()} if isinstance(exc, AnswerLost) else {}


def keep_first_copy_id(obj: Any, first: Location | None) -> None:
    """`obj.aws_id` (a tier's or key's) names its copy in its first place; an object in no
    place any more (archived, revoked) keeps the id it had, for the record."""
    if first is None:
        return
    copy = (
        obj.copies.filter(connection_id=first.connection_id, region=first.region)
        .exclude(aws_id="")
        .first()
    )
    aws_id = copy.aws_id if copy is not None else ""
    if aws_id != obj.aws_id:
        type(obj)._default_manager.filter(pk=obj.pk).update(aws_id=aws_id)
        obj.aws_id = aws_id


def first_attempt(copy: AwsCopy) -> bool:
    """No push has ever been tried for this copy, so AWS holds no orphan of it to look for
    before creating it (recorded now: a crash from here on makes the next try look)."""
    if copy.aws_id or copy.attempted_at is not None:
        return False
    copy.attempted_at = timezone.now()
    type(copy)._default_manager.filter(pk=copy.pk).update(attempted_at=copy.attempted_at)
    return True


def _failure_summary(failures: list[tuple[str, Exception]], total: int) -> str:
    done = total - len(failures)
    parts = "; ".join(f"{where}: {exc}" for where, exc in failures)
    if total == 1:
        return parts.split(": ", 1)[1] if ": " in parts else parts
    return f"{done} of {total} regions synced. {parts}"


def converge_copies(
    *,
    copies: Any,  # the parent's related manager (plan.copies, key.copies)
    version: int,
    wanted: Sequence[tuple[Location, Payload]],
    push: Callable[[Copy, Location, Payload], None],
    remove: Callable[[Copy, Location], None],
    legacy: tuple[str, Location] | None = None,
    on_places_changed: Callable[[], None] | None = None,
) -> CopiesOutcome[Copy]:
    """Push `version` to the copy in each wanted location, remove the others.

    `push(copy, location, payload)` runs inside `at(location)` and saves the copy's `aws_id`
    the moment AWS gives one (a crash after must not forget it). `remove(copy, location)`
    deletes it from AWS. `legacy`: the object's id in AWS from before copies existed and the
    place it is in, taken as its copy there when it has none yet.
    `on_places_changed` is called once a copy was made or removed, even if another failed.
    """
    model = copies.model
    existing: dict[LocationKey, Copy] = {c.location_key: c for c in copies.all()}
    if not existing and legacy is not None and legacy[0]:
        aws_id, place = legacy
        made = copies.create(connection_id=place.connection_id, region=place.region, aws_id=aws_id)
        existing[made.location_key] = made
    resolver = Locations([key[0] for key in existing] + [loc.connection_id for loc, _ in wanted])
    outcome: CopiesOutcome[Copy] = CopiesOutcome()
    failures: list[tuple[str, Exception]] = []
    waits: list[RateBudgetWait] = []
    wanted_keys = {location.key for location, _ in wanted}

    for location, payload in wanted:
        copy = existing.get(location.key)
        if copy is None:
            try:
                copy = copies.create(connection_id=location.connection_id, region=location.region)
            except IntegrityError:  # made by a late duplicate delivery a moment ago
                copy = copies.get(connection_id=location.connection_id, region=location.region)
            outcome.places_changed = True
        outcome.copies.append(copy)
        if copy.synced_version >= version and copy.aws_id:
            continue
        now = timezone.now()
        awaited = _answer_awaited(copy, now)
        if awaited is not None:
            waits.append(awaited)
            model.objects.filter(pk=copy.pk).update(error=str(awaited))
            continue
        if copy.pushed is not None:
            # From here AWS may hold either state (a write applied whose answer was lost, a
            # worker killed mid-call): the push works from `copy.pushed` in memory, and only a
            # push that succeeds records it again; any other outcome makes the next one read.
            model.objects.filter(pk=copy.pk).update(pushed=None)
        try:
            with at(location):
                push(copy, location, payload)
        except RateBudgetWait as exc:
            waits.append(exc)
            model.objects.filter(pk=copy.pk).update(error=str(exc), attempted_at=now)
            continue
        except (TransientSyncError, PermanentSyncError) as exc:
            failures.append((location.label, exc))
            copy.error = str(exc)[:2000]
            model.objects.filter(pk=copy.pk).update(
                error=copy.error, attempted_at=now, **_answer_lost_fields(exc)
            )
            continue
        copy.synced_version, copy.error, copy.synced_at = version, "", timezone.now()
        model.objects.filter(pk=copy.pk).update(
            synced_version=version, error="", attempted_at=now, synced_at=copy.synced_at
        )

    for key, copy in existing.items():
        if key in wanted_keys:
            continue
        location = resolver.at(copy.connection_id, copy.region)
        awaited = _answer_awaited(copy, timezone.now())
        if awaited is not None:
            waits.append(awaited)
            continue
        try:
            with at(location):
                remove(copy, location)
        except RateBudgetWait as exc:
            waits.append(exc)
            continue
        except (TransientSyncError, PermanentSyncError) as exc:
            failures.append((location.label, exc))
            model.objects.filter(pk=copy.pk).update(
                error=f"Removing: {exc}"[:2000], **_answer_lost_fields(exc)
            )
            continue
        model.objects.filter(pk=copy.pk).delete()
        outcome.places_changed = True

    if outcome.places_changed and on_places_changed is not None:
        on_places_changed()
    total = len(wanted) + sum(1 for key in existing if key not in wanted_keys)
    if failures:
        message = _failure_summary(failures, total)
        logger.warning("copies behind: %s", message)
        if all(isinstance(exc, PermanentSyncError) for _, exc in failures) and not waits:
            raise PermanentSyncError(message)
        raise TransientSyncError(message)
    if waits:
        raise min(waits, key=lambda wait: wait.retry_after)
    return outcome
