"""Applying a checked tiers file through plans.services: the plan (+ ~ -) and the changes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from plans import services as plan_services
from plans.models import Plan
from plans.tiers_file.document import (
    FIELD_PATHS,
    TiersFile,
    TiersFileError,
    TierSpec,
    number,
    stage_ref,
)


@dataclass
class Change:
    kind: str  # "+", "~", "-"
    slug: str
    diffs: list[str] = field(default_factory=list)

    def line(self) -> str:
        verb = {"+": "create", "~": "update", "-": "archive"}[self.kind]
        text = f"{self.kind} {verb} {self.slug}"
        return text + "".join(f"\n    {d}" for d in self.diffs)


def _show(value: Any) -> str:
    if value is None or value == "":
        return "none"
    return str(number(value)) if isinstance(value, Decimal) else str(value)


def _throttle_lines(rows: Any) -> list[str]:
    return sorted(
        f"{stage_ref(r['stage'])} {r['http_method']} {r['resource_path']} "
        f"{_show(Decimal(r['rate']))}/{r['burst']}"
        for r in rows
    )


def _differences(plan: Plan, spec: TierSpec) -> list[str]:
    diffs = []
    for field_name, path in FIELD_PATHS.items():
        if field_name == "stages":
            ours = sorted(stage_ref(s) for s in plan.stages.all())
            theirs = sorted(stage_ref(s) for s in spec.stages)
            if ours != theirs:
                diffs.append(f"stages: {', '.join(ours) or 'none'} → {', '.join(theirs)}")
            continue
        current, wanted = getattr(plan, field_name), spec.data.get(field_name)
        if isinstance(current, Decimal) or isinstance(wanted, Decimal):
            same = (current is None and wanted is None) or (
                current is not None and wanted is not None and Decimal(current) == Decimal(wanted)
            )
        else:
            same = (
                (current or None) == (wanted or None)
                if field_name == "quota_period"
                else current == wanted
            )
        if not same:
            diffs.append(f"{'.'.join(path)}: {_show(current)} → {_show(wanted)}")
    current_rows = _throttle_lines(
        {
            "stage": t.stage,
            "http_method": t.http_method,
            "resource_path": t.resource_path,
            "rate": t.rate,
            "burst": t.burst,
        }
        for t in plan.method_throttles.all()
    )
    wanted_rows = _throttle_lines(spec.method_throttles)
    if current_rows != wanted_rows:
        diffs.append(
            f"method_throttles: {'; '.join(current_rows) or 'none'} → "
            f"{'; '.join(wanted_rows) or 'none'}"
        )
    return diffs


def _field_path(field_name: str) -> tuple[str, ...]:
    """Where a service error points: ``method_throttles.<row>.<field>`` at its entry's key."""
    match = re.fullmatch(r"method_throttles\.(\d+)\.(\w+)", field_name)
    if match is not None:
        key = {"resource_path": "method", "http_method": "method"}.get(match[2], match[2])
        return ("method_throttles", match[1], key)
    return FIELD_PATHS.get(field_name, ())


class _DryRun(Exception):
    pass


def apply_tiers(
    tiers_file: TiersFile, *, actor: Any = None, dry_run: bool = False, prune: bool = False
) -> list[Change]:
    """Make the live tiers match the file. Returns the changes (made, or that would be made)."""
    changes: list[Change] = []
    try:
        with transaction.atomic():
            changes = _apply(tiers_file, actor=actor, prune=prune)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass  # rolled back: nothing saved, no task sent
    return changes


def _apply(tiers_file: TiersFile, *, actor: Any, prune: bool) -> list[Change]:
    changes: list[Change] = []
    errors: list[str] = []
    # A tier that becomes the default goes first, so the old default may then stop being it.
    ordered = sorted(tiers_file.specs, key=lambda spec: not spec.data["is_default"])
    for spec in ordered:
        base = ("tiers", spec.slug)
        plan = (
            Plan.objects.prefetch_related("stages", "method_throttles__stage")
            .filter(slug=spec.slug)
            .first()
        )
        try:
            if plan is None:
                plan_services.plan_create(
                    actor=actor,
                    data=spec.data,
                    stages=spec.stages,
                    method_throttles=spec.method_throttles,
                    slug=spec.slug,
                )
                changes.append(Change("+", spec.slug, [f"name: {spec.data['name']}"]))
                continue
            if plan.is_archived:
                errors.append(
                    f"{tiers_file.where(*base)}: {'.'.join(base)}: this tier is archived; "
                    "give the tier another slug"
                )
                continue
            diffs = _differences(plan, spec)
            if diffs:
                plan_services.plan_update(
                    actor=actor,
                    plan=plan,
                    data=spec.data,
                    stages=spec.stages,
                    method_throttles=spec.method_throttles,
                )
                changes.append(Change("~", spec.slug, diffs))
        except ValidationError as exc:
            messages = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            for field_name, field_messages in messages.items():
                path = (*base, *_field_path(field_name))
                for message in field_messages:
                    errors.append(f"{tiers_file.where(*path)}: {'.'.join(path)}: {message}")
    if prune:
        in_file = {spec.slug for spec in tiers_file.specs}
        for plan in Plan.objects.live().exclude(slug__in=in_file).order_by("slug"):
            try:
                plan_services.plan_archive(actor=actor, plan=plan)
            except ValidationError as exc:
                errors.append(
                    f"{tiers_file.name}: cannot archive {plan.slug}: {' '.join(exc.messages)}"
                )
            else:
                changes.append(Change("-", plan.slug))
    if errors:
        raise TiersFileError(errors)  # rolls the whole transaction back
    return changes


def tiers_left_out(tiers_file: TiersFile) -> list[str]:
    in_file = {spec.slug for spec in tiers_file.specs}
    return list(
        Plan.objects.live()
        .exclude(slug__in=in_file)
        .order_by("slug")
        .values_list("slug", flat=True)
    )
