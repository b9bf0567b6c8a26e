"""What one tier or key's copies add up to, and what the pass does about it.

- a copy missing where it belongs, or left behind where it no longer does → the object's sync;
- every copy deleted in AWS → drift: an admin recreates it or accepts the deletion (a key
  recreated everywhere gets a new value, a tier deleted everywhere may have been retired);
- some copies deleted while others remain → the sync recreates them there (a key's copy takes
  the value of a remaining one);
- copies that differ → drift, saying where;
- every copy equal → confirmed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from portal.connections.models import AwsCopy
from portal.reconcile.places import Estate, PlaceInAws
from portal.reconcile.report import (
    LocationKey,
    ReconcileReport,
    deleted_there,
    mark_drifted,
    place_drift,
    resync,
)
from portal.sync import SyncState, SyncStatus

Copy = TypeVar("Copy", bound=AwsCopy)


@dataclass
class Checked(Generic[Copy]):
    """One tier or key against the places read."""

    label: str
    kind: str  # "usage plan" or "API key": what a deleted copy is called
    missing: list[str] = field(default_factory=list)  # places it has no copy in yet
    stray: list[str] = field(default_factory=list)  # places it left, its copy still there
    deleted: list[tuple[str, LocationKey, Copy]] = field(default_factory=list)
    drifts: list[dict[str, Any]] = field(default_factory=list)  # report.place_drift entries
    found: int = 0  # copies found in AWS
    unread: int = 0  # places it belongs in that could not be read this time

    def found_in(
        self,
        estate: Estate,
        place_key: LocationKey,
        here: Copy | None,
        listing: Callable[[PlaceInAws], Mapping[str, Any]],
    ) -> tuple[PlaceInAws, Copy, Any] | None:
        """The place, the copy and AWS's object for it (from `listing` of the place: its usage
        plans or keys), or None, counted as unread, missing (no copy yet) or deleted in AWS."""
        place = estate.read.get(place_key)
        if place is None:
            self.unread += 1
            return None
        if here is None or not here.aws_id:
            self.missing.append(place.where)
            place.figures.missing += 1
            return None
        current = listing(place).get(here.aws_id)
        if current is None:
            self.deleted.append((place.where, place_key, here))
            place.figures.missing += 1
            return None
        self.found += 1
        return place, here, current


def _words(entry: dict[str, Any], several: bool) -> str:
    where = f" in {entry['where']}" if several else ""
    return "; ".join(
        f"{d['field']} is {d['aws']} in AWS{where}, {d['ours']} here" for d in entry["differences"]
    )


def settle(
    report: ReconcileReport,
    obj: SyncState,
    checked: Checked[Copy],
    *,
    dry_run: bool,
    several: bool,
    confirmed: list[int],
    recreate: Callable[[list[Copy]], None],
) -> None:
    """Act on what `checked` found; `recreate(copies)` sends the object's sync to make the
    deleted `copies` again."""
    label = checked.label
    if checked.missing or checked.stray:
        parts = []
        if checked.missing:
            where = f" in {', '.join(checked.missing)}" if several else ""
            parts.append(f"not yet in AWS{where} → sync it")
        if checked.stray:
            parts.append(
                f"still in {', '.join(checked.stray)}, which it no longer covers → delete it there"
            )
        report.resync.append(f"{label}: " + "; ".join(parts))
        if not dry_run:
            resync(obj)
        return
    if checked.deleted and not checked.found and checked.unread:
        return  # its other copies could not be read: the next pass decides
    if checked.deleted and checked.found and not checked.drifts:
        where = ", ".join(where for where, _, _ in checked.deleted)
        report.resync.append(f"{label}: deleted in AWS in {where} → recreate it there")
        if not dry_run:
            recreate([copy for _, _, copy in checked.deleted])
        return
    entries = [
        place_drift(where, key, [deleted_there(copy.aws_id, checked.kind)], None)
        for where, key, copy in checked.deleted
    ] + checked.drifts
    if entries:
        report.drifted.append(f"{label}: " + "; ".join(_words(e, several) for e in entries))
        if not dry_run:
            mark_drifted(obj, entries)
        return
    if checked.unread:
        return  # equal where read; a drift found earlier elsewhere stays until read again
    report.in_sync += 1
    if obj.sync_status == SyncStatus.DRIFTED:
        # Only a drift that went away changes the row. One already in sync stays as it is: a
        # pass over 10,000 keys in sync writes no row but its run's (which says when it ran).
        confirmed.append(obj.pk)
