"""Tiers as code: `manage.py tiers export` writes every live tier as YAML; `tiers apply` makes the
database match a file, through the same services as the console (plans.services).

The file, by slug:

    tiers:
      premium:
        name: Premium
        description: For production
        self_serve: true
        default: false
        throttle: {rate: 50, burst: 100}        # or null for no throttle
        quota: {limit: 100000, period: MONTH, offset: 0}   # or null for no quota
        price: 49                               # per month, shown to customers; null = free
        stages: ["Weather API/prod"]            # "API name/stage" or "rest_api_id:stage"
        method_throttles:                       # optional: per-method limits, on covered stages
          - {stage: "Weather API/prod", method: "GET /forecast", rate: 5, burst: 10}

`apply` validates the whole file first (errors name their line) and changes nothing unless all
of it is valid; then, in one transaction, creates new tiers, updates only tiers that differ (a
tier that already matches is not touched: no version bump, no AWS call) and, with `--prune`,
archives live tiers the file leaves out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from plans import services as plan_services
from plans.models import ApiStage, Plan, QuotaPeriod

TIER_KEYS = {
    "name",
    "description",
    "self_serve",
    "default",
    "throttle",
    "quota",
    "price",
    "stages",
    "method_throttles",
}
METHOD_THROTTLE_KEYS = {"stage", "method", "rate", "burst"}
# Where a service's field error points in the file.
FIELD_PATHS = {
    "name": ("name",),
    "description": ("description",),
    "self_serve": ("self_serve",),
    "is_default": ("default",),
    "throttle_rate": ("throttle", "rate"),
    "throttle_burst": ("throttle", "burst"),
    "quota_limit": ("quota", "limit"),
    "quota_period": ("quota", "period"),
    "quota_offset": ("quota", "offset"),
    "monthly_price": ("price",),
    "stages": ("stages",),
}


class TiersFileError(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def stage_ref(stage: ApiStage) -> str:
    same_name = ApiStage.objects.filter(api_name=stage.api_name, stage_name=stage.stage_name)
    if same_name.count() > 1 or "/" in stage.stage_name:
        return f"{stage.rest_api_id}:{stage.stage_name}"
    return f"{stage.api_name}/{stage.stage_name}"


def tier_document(plan: Plan) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": plan.name,
        "description": plan.description,
        "self_serve": plan.self_serve,
        "default": plan.is_default,
        "throttle": None
        if plan.throttle_rate is None
        else {"rate": _number(plan.throttle_rate), "burst": plan.throttle_burst},
        "quota": None
        if plan.quota_limit is None
        else {"limit": plan.quota_limit, "period": plan.quota_period, "offset": plan.quota_offset},
        "price": _number(plan.monthly_price),
        "stages": sorted(stage_ref(s) for s in plan.stages.all()),
    }
    throttles = [
        {
            "stage": stage_ref(t.stage),
            "method": f"{t.http_method} {t.resource_path}",
            "rate": _number(t.rate),
            "burst": t.burst,
        }
        for t in plan.method_throttles.all()
    ]
    if throttles:
        document["method_throttles"] = throttles
    return document


def export_tiers() -> str:
    tiers = {
        plan.slug: tier_document(plan)
        for plan in Plan.objects.live()
        .prefetch_related("stages", "method_throttles__stage")
        .order_by("slug")
    }
    return yaml.safe_dump({"tiers": tiers}, sort_keys=False, allow_unicode=True)


# --- reading a file, with line numbers ----------------------------------------------------------


def _lines(node: yaml.Node, path: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            out[(*path, name)] = key.start_mark.line + 1
            _lines(value, (*path, name), out)
            out[(*path, name)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, str(index)), out)


@dataclass
class TierSpec:
    slug: str
    data: dict[str, Any]  # plans.services.PLAN_FIELDS
    stages: list[ApiStage]
    # plan_create/plan_update's rows: stage, resource_path, http_method, rate, burst
    method_throttles: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Change:
    kind: str  # "+", "~", "-"
    slug: str
    diffs: list[str] = field(default_factory=list)

    def line(self) -> str:
        verb = {"+": "create", "~": "update", "-": "archive"}[self.kind]
        text = f"{self.kind} {verb} {self.slug}"
        return text + "".join(f"\n    {d}" for d in self.diffs)


@dataclass
class TiersFile:
    name: str
    specs: list[TierSpec]
    lines: dict[tuple[str, ...], int]

    def where(self, *path: str) -> str:
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return f"{self.name}:{line}"
        return self.name


def _resolve_stage(ref: Any) -> tuple[ApiStage | None, str]:
    if not isinstance(ref, str) or not ref.strip():
        return None, "a stage is written “API name/stage” or “rest_api_id:stage”"
    if ":" in ref and "/" not in ref:
        rest_api_id, _, stage_name = ref.partition(":")
        found = list(ApiStage.objects.filter(rest_api_id=rest_api_id, stage_name=stage_name))
    else:
        api_name, _, stage_name = ref.rpartition("/")
        found = list(ApiStage.objects.filter(api_name=api_name, stage_name=stage_name))
    if not found:
        return None, f"no discovered API stage “{ref}” (refresh the stages on the console)"
    if len(found) > 1:
        return None, f"“{ref}” names {len(found)} stages; write it as rest_api_id:stage"
    return found[0], ""


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError from exc
    if not number.is_finite():
        raise ValueError
    return number


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError
    return value


def _read_method_throttles(
    entries: Any, base: tuple[str, ...], error: Callable[[tuple[str, ...], str], None]
) -> list[dict[str, Any]]:
    if entries is None:
        return []
    path = (*base, "method_throttles")
    if not isinstance(entries, list):
        error(path, "list the per-method throttles, or leave the setting out")
        return []
    rows: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        here = (*path, str(index))
        if not isinstance(entry, dict) or set(entry) != METHOD_THROTTLE_KEYS:
            error(
                here, 'write {stage: "API name/stage", method: "GET /path", rate: <n>, burst: <n>}'
            )
            continue
        row: dict[str, Any] = {}
        stage, problem = _resolve_stage(entry["stage"])
        if stage is None:
            error((*here, "stage"), problem)
        row["stage"] = stage
        method = entry["method"]
        parts = method.split() if isinstance(method, str) else []
        if len(parts) != 2 or not parts[1].startswith("/"):
            error((*here, "method"), "write the method as API Gateway does, e.g. “GET /forecast”")
        else:
            row["http_method"], row["resource_path"] = parts[0].upper(), parts[1]
        try:
            row["rate"] = _decimal(entry["rate"])
            if row["rate"] is None:
                raise ValueError
        except ValueError:
            error((*here, "rate"), "must be a number (requests per second)")
        try:
            row["burst"] = _integer(entry["burst"])
        except ValueError:
            error((*here, "burst"), "must be a whole number of requests")
        rows.append(row)
    return rows


def read_tiers_file(text: str, name: str = "tiers.yaml") -> TiersFile:
    """Parse and check a file's shape; raise TiersFileError listing every problem by line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise TiersFileError([f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    lines: dict[tuple[str, ...], int] = {}
    if root is not None:
        _lines(root, (), lines)
    tiers_file = TiersFile(name=name, specs=[], lines=lines)
    errors: list[str] = []

    def error(path: tuple[str, ...], message: str) -> None:
        errors.append(f"{tiers_file.where(*path)}: {'.'.join(path) or 'file'}: {message}")

    if not isinstance(document, dict) or set(document) != {"tiers"}:
        error((), "the file must have one top-level key, `tiers`")
        raise TiersFileError(errors)
    tiers = document["tiers"]
    if not isinstance(tiers, dict):
        error(("tiers",), "`tiers` maps each tier's slug to its settings")
        raise TiersFileError(errors)
    defaults = [slug for slug, t in tiers.items() if isinstance(t, dict) and t.get("default")]
    if len(defaults) > 1:
        for slug in defaults[1:]:
            error(
                ("tiers", str(slug), "default"),
                f"only one tier can be the default ({defaults[0]} is)",
            )
    for slug, tier in tiers.items():
        base = ("tiers", str(slug))
        if not isinstance(slug, str) or slugify(slug) != slug or len(slug) > 64:
            error(base, "a slug is lowercase letters, digits and hyphens (at most 64)")
            continue
        if not isinstance(tier, dict):
            error(base, "a tier is a mapping of settings")
            continue
        for unknown in sorted(set(map(str, tier)) - TIER_KEYS):
            error((*base, unknown), f"unknown setting; expected {', '.join(sorted(TIER_KEYS))}")
        data: dict[str, Any] = {}
        if not isinstance(tier.get("name"), str) or not tier["name"].strip():
            error((*base, "name"), "every tier needs a name")
        else:
            data["name"] = tier["name"]
        description = tier.get("description", "")
        if not isinstance(description, str):
            error((*base, "description"), "must be text")
        data["description"] = description if isinstance(description, str) else ""
        for key, target in (("self_serve", "self_serve"), ("default", "is_default")):
            value = tier.get(key, key == "self_serve")
            if not isinstance(value, bool):
                error((*base, key), "must be true or false")
            data[target] = bool(value)
        throttle = tier.get("throttle")
        data["throttle_rate"] = data["throttle_burst"] = None
        if throttle is not None:
            if not isinstance(throttle, dict) or set(throttle) != {"rate", "burst"}:
                error((*base, "throttle"), "write {rate: <requests/s>, burst: <requests>} or null")
            else:
                try:
                    data["throttle_rate"] = _decimal(throttle["rate"])
                except ValueError:
                    error((*base, "throttle", "rate"), "must be a number (requests per second)")
                try:
                    data["throttle_burst"] = _integer(throttle["burst"])
                except ValueError:
                    error((*base, "throttle", "burst"), "must be a whole number of requests")
        quota = tier.get("quota")
        data["quota_limit"], data["quota_period"], data["quota_offset"] = None, "", 0
        if quota is not None:
            if (
                not isinstance(quota, dict)
                or not {"limit", "period"} <= set(quota)
                or (set(quota) - {"limit", "period", "offset"})
            ):
                error(
                    (*base, "quota"),
                    "write {limit: <n>, period: DAY|WEEK|MONTH, offset: 0} or null",
                )
            else:
                try:
                    data["quota_limit"] = _integer(quota["limit"])
                except ValueError:
                    error((*base, "quota", "limit"), "must be a whole number of requests")
                if quota["period"] not in QuotaPeriod.values:
                    error((*base, "quota", "period"), "must be DAY, WEEK or MONTH")
                else:
                    data["quota_period"] = quota["period"]
                try:
                    data["quota_offset"] = _integer(quota.get("offset", 0))
                except ValueError:
                    error((*base, "quota", "offset"), "must be a whole number of requests")
        try:
            data["monthly_price"] = _decimal(tier.get("price"))
        except ValueError:
            error((*base, "price"), "must be a number, or null for free")
        stages: list[ApiStage] = []
        refs = tier.get("stages")
        if not isinstance(refs, list) or not refs:
            error((*base, "stages"), "list at least one API stage")
        else:
            for index, ref in enumerate(refs):
                stage, problem = _resolve_stage(ref)
                if stage is None:
                    error((*base, "stages", str(index)), problem)
                else:
                    stages.append(stage)
        throttles = _read_method_throttles(tier.get("method_throttles"), base, error)
        tiers_file.specs.append(
            TierSpec(slug=slug, data=data, stages=stages, method_throttles=throttles)
        )
    if errors:
        raise TiersFileError(errors)
    return tiers_file


# --- planning and applying ----------------------------------------------------------------------


def _show(value: Any) -> str:
    if value is None or value == "":
        return "none"
    return str(_number(value)) if isinstance(value, Decimal) else str(value)


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
                created = plan_services.plan_create(
                    actor=actor,
                    data=spec.data,
                    stages=spec.stages,
                    method_throttles=spec.method_throttles,
                )
                if created.slug != spec.slug:
                    Plan.objects.filter(pk=created.pk).update(slug=spec.slug)
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
