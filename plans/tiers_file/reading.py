"""Reading a tiers file: YAML → checked TierSpecs, every problem reported with its line."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from django.utils.text import slugify

from plans.methods import MethodFormatError, parse_method
from plans.models import ApiStage, QuotaPeriod
from plans.tiers_file.document import (
    METHOD_THROTTLE_KEYS,
    TIER_KEYS,
    TiersFile,
    TiersFileError,
    TierSpec,
)

Report = Callable[[tuple[str, ...], str], None]


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


def resolve_stage(ref: Any) -> tuple[ApiStage | None, str]:
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
    entries: Any, base: tuple[str, ...], error: Report
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
        stage, problem = resolve_stage(entry["stage"])
        if stage is None:
            error((*here, "stage"), problem)
        row["stage"] = stage
        method = entry["method"]
        try:  # the tier form's and the REST API's parser: one rule for “GET /forecast”
            row["http_method"], row["resource_path"] = parse_method(
                method if isinstance(method, str) else ""
            )
        except MethodFormatError as exc:
            error((*here, "method"), exc.message)
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


def _read_tier(slug: str, tier: dict[Any, Any], base: tuple[str, ...], error: Report) -> TierSpec:
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
    for key, target, default in (
        ("self_serve", "self_serve", True),
        ("default", "is_default", False),
        ("listed", "listed", True),
    ):
        value = tier.get(key, default)
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
            error((*base, "quota"), "write {limit: <n>, period: DAY|WEEK|MONTH, offset: 0} or null")
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
            stage, problem = resolve_stage(ref)
            if stage is None:
                error((*base, "stages", str(index)), problem)
            else:
                stages.append(stage)
    throttles = _read_method_throttles(tier.get("method_throttles"), base, error)
    return TierSpec(slug=slug, data=data, stages=stages, method_throttles=throttles)


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
        tiers_file.specs.append(_read_tier(slug, tier, base, error))
    if errors:
        raise TiersFileError(errors)
    return tiers_file
