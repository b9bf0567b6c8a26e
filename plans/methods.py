"""A tier's per-method throttles: how people write one method (“GET /forecast”) — in the tier
form, the REST API and tiers as code alike, one parser so the three accept and refuse exactly the
same text — and how the tier services check and save them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError

from plans.models import HTTP_METHODS, ApiStage, MethodThrottle, Plan

METHOD_FORMAT = "Write the method as API Gateway does, e.g. “GET /forecast”."


class MethodFormatError(ValueError):
    """The text is not “METHOD /path”; `message` says why, for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_method(text: str) -> tuple[str, str]:
    """“get  /forecast” → ("GET", "/forecast"): a verb API Gateway throttles, one space, a path
    from the root. The path's own characters are the model's to check (RESOURCE_PATH)."""
    parts = text.split()
    if len(parts) != 2:
        raise MethodFormatError(METHOD_FORMAT)
    verb, path = parts[0].upper(), parts[1]
    if verb not in HTTP_METHODS:
        raise MethodFormatError(
            f"{verb} is not an HTTP method API Gateway throttles: "
            f"choose one of {', '.join(HTTP_METHODS)}."
        )
    if not path.startswith("/"):
        raise MethodFormatError(METHOD_FORMAT)
    return verb, path


def method_label(http_method: str, resource_path: str) -> str:
    """The other way round: ("GET", "/forecast") → “GET /forecast”."""
    return f"{http_method} {resource_path}"


# --- checking and saving a tier's rows (plans.services) --------------------------------------


def method_throttle_error_key(index: int, field: str) -> str:
    """Where a per-method throttle's error is reported: ``method_throttles.<row>.<field>``."""
    return f"method_throttles.{index}.{field}"


def method_throttle_rows(
    plan: Plan, rows: Iterable[dict[str, Any]], stage_list: list[ApiStage]
) -> tuple[list[MethodThrottle], dict[str, list[str]]]:
    """Validate a tier's per-method throttles against the tier (`plan`, not yet saved)."""
    built: list[MethodThrottle] = []
    errors: dict[str, list[str]] = {}
    seen: set[tuple[int, str, str]] = set()
    for index, row in enumerate(rows):
        rate: Any = row.get("rate")
        burst: Any = row.get("burst")
        throttle = MethodThrottle(
            plan=plan,
            stage=row["stage"],
            resource_path=(row.get("resource_path") or "").strip(),
            http_method=(row.get("http_method") or "").strip().upper(),
            rate=rate,
            burst=burst,
        )
        row_errors: dict[str, list[str]] = {}
        try:
            throttle.full_clean(exclude=["plan"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            row_errors = dict(exc.message_dict)
        stage = row["stage"]
        if stage is None:
            pass
        elif stage not in stage_list:
            row_errors.setdefault("stage", []).append(
                "This tier does not cover that stage; tick it under API stages first."
            )
        elif not row_errors.get("resource_path") and not row_errors.get("http_method"):
            key = (stage.pk, throttle.resource_path, throttle.http_method)
            if key in seen:
                row_errors.setdefault("http_method", []).append(
                    "This method already has a limit in this tier."
                )
            seen.add(key)
            known = stage.known_methods
            if known is not None and (throttle.http_method, throttle.resource_path) not in known:
                row_errors.setdefault("resource_path", []).append(
                    f"{stage} has no method {throttle.http_method} {throttle.resource_path}."
                )
        for field, messages in row_errors.items():
            errors.setdefault(method_throttle_error_key(index, field), []).extend(messages)
        built.append(throttle)
    return built, errors


def save_method_throttles(
    plan: Plan, rows: list[MethodThrottle] | None, stage_list: list[ApiStage]
) -> None:
    if rows is None:  # unchanged, but a stage the tier no longer covers takes its limits along
        plan.method_throttles.exclude(stage__in=stage_list).delete()
        return
    plan.method_throttles.all().delete()
    for row in rows:
        row.plan = plan
    MethodThrottle.objects.bulk_create(rows)
