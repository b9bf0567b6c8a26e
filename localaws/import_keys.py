"""ImportApiKeys (``POST /apikeys?mode=import&format=csv[&failonwarnings=]``), which moto
does not implement.

Follows the API Reference (ImportApiKeys: body = the file, ``format`` = ``csv`` only,
``failonwarnings`` "to rollback ApiKey importation (true) or not (false) when error is
encountered", answer 201 ``{"ids": [...], "warnings": [...]}``) and the Developer Guide page
"API Gateway API key file format" (api-key-file-format.html):

* The file must have ``Name`` and ``Key`` columns; header names are case-insensitive and in
  any order. ``Description``, ``Enabled`` and ``UsagePlanIds`` are optional; unrecognised
  columns are ignored. Defaults: empty string, and ``true`` for ``Enabled``.
* ``Key`` is 20..128 characters; ``Name`` at most 1024.
* ``UsagePlanIds`` is a comma-separated list of usage plan ids, enclosed in double *or
  single* quotes when there is more than one (``"c7y23b,glvrsr"``).
* "The same API key can be imported multiple times, with the most recent version
  overwriting the previous one. Two API keys are identical if they have the same key
  value." So a value that already exists (or repeats in the file) is *not* a warning: that
  key is updated (name, description, enabled) and joins the listed plans; its id is
  reported once.

Rows AWS would reject (short/long/missing key, long name, a bad ``Enabled``, an unknown usage
plan id, or joining a plan that covers an API stage the key already reaches through another
plan - the same-stage rule of ``plan_keys.check_create_usage_plan_key``) are skipped with a
warning naming the file line (the header is line 1). With ``failonwarnings=true`` any
warning fails the whole import with BadRequestException and nothing is created. A file
without a ``Name`` or ``Key`` column, an empty body, or a format other than ``csv`` is a
BadRequestException. The exact warning texts of AWS are not documented; ours say
``Line N: ...``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from localaws import strict

_COLUMNS = ("name", "key", "description", "enabled", "usageplanids")
MIN_KEY_LENGTH = 20
MAX_KEY_LENGTH = 128
MAX_NAME_LENGTH = 1024


def split_csv_line(line: str) -> list[str]:
    """Split one CSV line; a field may be quoted with ``"`` or ``'`` (a doubled quote
    inside escapes it), as the key file format allows for ``UsagePlanIds``."""
    fields: list[str] = []
    i, n = 0, len(line)
    while True:
        value = ""
        if i < n and line[i] in "\"'":
            quote = line[i]
            i += 1
            while i < n:
                if line[i] == quote:
                    if i + 1 < n and line[i + 1] == quote:
                        value += quote
                        i += 2
                        continue
                    i += 1
                    break
                value += line[i]
                i += 1
            # tolerate text between the closing quote and the next comma
            while i < n and line[i] != ",":
                value += line[i]
                i += 1
        else:
            while i < n and line[i] != ",":
                value += line[i]
                i += 1
        fields.append(value.strip())
        if i >= n:
            return fields
        i += 1  # skip the comma


@dataclass
class _Row:
    line: int
    name: str
    value: str
    description: str
    enabled: bool
    plan_ids: list[str] = field(default_factory=list)


def _bad_request(message: str) -> strict.ApiError:
    return strict.ApiError(400, "BadRequestException", message)


def _parse(body: bytes) -> tuple[list[_Row], list[str]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad_request("Invalid API key file: not UTF-8 text") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise _bad_request("Invalid API key file: the header row is missing")
    header = [h.lower() for h in split_csv_line(lines[0])]
    missing = [c for c in ("name", "key") if c not in header]
    if missing:
        raise _bad_request(
            "Invalid API key file: the header must contain the Name and Key columns "
            f"(missing {', '.join(m.capitalize() for m in missing)})"
        )
    index = {column: header.index(column) for column in _COLUMNS if column in header}
    rows: list[_Row] = []
    warnings: list[str] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = split_csv_line(line)
        if len(cells) != len(header):
            warnings.append(f"Line {number}: expected {len(header)} columns but found {len(cells)}")
            continue

        def cell(column: str, cells: list[str] = cells) -> str:
            return cells[index[column]] if column in index else ""

        value, name = cell("key"), cell("name")
        if not MIN_KEY_LENGTH <= len(value) <= MAX_KEY_LENGTH:
            warnings.append(
                f"Line {number}: Key must be between {MIN_KEY_LENGTH} and "
                f"{MAX_KEY_LENGTH} characters"
            )
            continue
        if len(name) > MAX_NAME_LENGTH:
            warnings.append(f"Line {number}: Name must not exceed {MAX_NAME_LENGTH} characters")
            continue
        enabled_raw = cell("enabled").lower()
        if enabled_raw not in ("", "true", "false"):
            warnings.append(
                f"Line {number}: Enabled must be true or false, not '{cell('enabled')}'"
            )
            continue
        plan_ids = [p.strip() for p in cell("usageplanids").split(",") if p.strip()]
        rows.append(
            _Row(number, name, value, cell("description"), enabled_raw != "false", plan_ids)
        )
    return rows, warnings


def _stages(plan: Any) -> set[tuple[str, str]]:
    return {(stage["apiId"], stage["stage"]) for stage in plan.api_stages}


def _check_plans(backend: Any, row: _Row, current: set[str]) -> str | None:
    """Why ``row`` cannot join its plans (unknown id, same-stage conflict), or None."""
    for plan_id in row.plan_ids:
        if plan_id not in backend.usage_plans:
            return f"Line {row.line}: Invalid Usage Plan ID specified: {plan_id}"
    joined = set(current)
    for plan_id in row.plan_ids:
        if plan_id in joined:
            continue
        wanted = _stages(backend.usage_plans[plan_id])
        for other in sorted(joined):
            shared = sorted(wanted & _stages(backend.usage_plans[other]))
            if shared:
                api_id, stage = shared[0]
                return (
                    f"Line {row.line}: Usage Plan {plan_id} cannot be added because API Key "
                    f"{row.name or row.value[:4] + '...'} cannot reference multiple Usage "
                    f"Plans with the same API Stage: {api_id}:{stage}"
                )
        joined.add(plan_id)
    return None


def import_api_keys(
    account: str, region: str, body: bytes, params: dict[str, str]
) -> dict[str, Any]:
    """Validate the whole file first, then (unless refused) create/update keys and join
    them to their usage plans. Caller holds the server's write lock."""
    if params.get("format") != "csv":
        raise _bad_request(f"Invalid format '{params.get('format', '')}': only 'csv' is supported")
    fail_on_warnings = params.get("failonwarnings", "false").lower() == "true"
    if not body.strip():
        raise _bad_request("Invalid API key file: the body is empty")
    rows, warnings = _parse(body)

    backend = strict.apigateway_backend(account, region)
    by_value = {key.value: key for key in backend.keys.values()}
    # Plan memberships (live plans only) as they will be after the rows accepted so far.
    membership: dict[str, set[str]] = {}
    for value, key in by_value.items():
        membership[value] = {
            plan_id
            for plan_id, plan_keys in backend.usage_plan_keys.items()
            if plan_id in backend.usage_plans and key.id in plan_keys
        }
    accepted: list[_Row] = []
    for row in rows:
        current = membership.get(row.value, set())
        problem = _check_plans(backend, row, current)
        if problem:
            warnings.append(problem)
            continue
        membership[row.value] = current | set(row.plan_ids)
        accepted.append(row)
    warnings.sort(key=lambda w: int(w.split(":", 1)[0].removeprefix("Line ")))

    if warnings and fail_on_warnings:
        raise _bad_request("API key import failed: " + "; ".join(warnings))

    ids: list[str] = []
    for row in accepted:
        key = by_value.get(row.value)
        if key is None:
            key = backend.create_api_key(
                {
                    "name": row.name,
                    "description": row.description,
                    "enabled": row.enabled,
                    "value": row.value,
                }
            )
            by_value[row.value] = key
        else:  # "the most recent version overwriting the previous one"
            key.name, key.description, key.enabled = row.name, row.description, row.enabled
            key.last_updated_date = int(time.time())
        for plan_id in row.plan_ids:
            if key.id not in backend.usage_plan_keys.get(plan_id, {}):
                backend.create_usage_plan_key(plan_id, {"keyId": key.id, "keyType": "API_KEY"})
        if key.id not in ids:
            ids.append(key.id)
    result: dict[str, Any] = {"ids": ids}
    if warnings:
        result["warnings"] = warnings
    return result
