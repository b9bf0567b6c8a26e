"""The tiers file's format: its keys, where each tier field lives in it, and the export."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

from plans.methods import method_label
from plans.models import ApiStage, Plan

TIER_KEYS = {
    "name",
    "description",
    "self_serve",
    "default",
    "listed",
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
    "listed": ("listed",),
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


@dataclass
class TierSpec:
    slug: str
    data: dict[str, Any]  # plans.services.PLAN_FIELDS
    stages: list[ApiStage]
    # plan_create/plan_update's rows: stage, resource_path, http_method, rate, burst
    method_throttles: list[dict[str, Any]] = field(default_factory=list)


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


def number(value: Decimal | None) -> int | float | None:
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
    }
    if not plan.listed:
        document["listed"] = False  # the default (true) is left out
    document.update(
        {
            "throttle": None
            if plan.throttle_rate is None
            else {"rate": number(plan.throttle_rate), "burst": plan.throttle_burst},
            "quota": None
            if plan.quota_limit is None
            else {
                "limit": plan.quota_limit,
                "period": plan.quota_period,
                "offset": plan.quota_offset,
            },
            "price": number(plan.monthly_price),
            "stages": sorted(stage_ref(s) for s in plan.stages.all()),
        }
    )
    throttles = [
        {
            "stage": stage_ref(t.stage),
            "method": method_label(t.http_method, t.resource_path),
            "rate": number(t.rate),
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
