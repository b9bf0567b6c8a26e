"""Which events a filter asks for, and how a page shows an event's before and after."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from portal.audit.models import AuditEvent
from portal.forms import parse_id

FILTERS = ("organisation", "person", "type", "object", "action")


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def filters_from(params: Any, *, organisation: bool) -> dict[str, str]:
    """The filters typed in the form (GET parameters), stripped; `organisation` only for staff."""
    names = FILTERS if organisation else FILTERS[1:]
    return {name: str(params.get(name, "")).strip()[:254] for name in names}


def filtered(events: QuerySet[AuditEvent], filters: dict[str, str]) -> QuerySet[AuditEvent]:
    """Organisation (its id, slug or exact name), person (an email: who acted, or whose account
    it was about), object type (`keys.apikey`), object id and action (`key.created`, or a
    prefix: `account.`)."""
    if filters.get("organisation"):
        wanted = filters["organisation"]
        organisation = parse_id(wanted)
        events = (
            events.filter(customer_id=organisation)
            if organisation
            else events.filter(Q(customer__slug__iexact=wanted) | Q(customer__name__iexact=wanted))
        )
    if filters.get("person"):
        person = filters["person"]
        events = events.filter(
            Q(actor_email__iexact=person)
            | Q(target_type__in=("accounts.user", ""), target_repr__iexact=person)
        )
    if filters.get("type"):
        events = events.filter(target_type=filters["type"].lower())
    if filters.get("object"):
        events = events.filter(target_id=filters["object"])
    if filters.get("action"):
        action = filters["action"]
        events = (
            events.filter(action__startswith=action)
            if action.endswith(".")
            else events.filter(action=action)
        )
    return events


def shown(value: Any) -> str:
    """One value as a person reads it: text as it is, anything else as compact JSON."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes(event: AuditEvent) -> list[Change]:
    """Field by field: what it was and what it became (fields that did not change are left
    out when the event has both sides)."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    rows = []
    for name in sorted(set(before) | set(after)):
        if before and after and before.get(name) == after.get(name):
            continue
        rows.append(
            Change(
                name,
                shown(before.get(name)) if name in before else "",
                shown(after.get(name)) if name in after else "",
            )
        )
    return rows


def cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a key named "=HYPERLINK(…)")."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_row(event: AuditEvent) -> list[str]:
    return [
        event.created_at.isoformat(),
        str(event.customer_id or ""),
        cell(event.actor_email),
        event.action,
        event.target_type,
        cell(event.target_id),
        cell(event.target_repr),
        "" if event.before is None else json.dumps(event.before, sort_keys=True),
        "" if event.after is None else json.dumps(event.after, sort_keys=True),
        event.ip or "",
    ]


CSV_HEADER = [
    "when",
    "organisation_id",
    "person",
    "action",
    "object_type",
    "object_id",
    "object",
    "before",
    "after",
    "ip",
]
