"""What the catalog pages show, computed from stored documents and tiers (no AWS calls)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from plans.models import ApiStage, Plan
from portal.wording import throttle_in_words

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
KEY_PLACEHOLDER = "YOUR_API_KEY"


# --- per-method limits ------------------------------------------------------------------------


@dataclass(frozen=True)
class TierLimit:
    """What one tier allows on one method (usage plans meter only key-protected methods)."""

    plan: Plan
    rate: Decimal | None
    burst: int | None
    quota: str
    per_method: bool = False

    @property
    def throttle(self) -> str:
        if self.rate is None:
            return "no rate limit"
        return throttle_in_words(self.rate, self.burst)


def quota_words(plan: Plan) -> str:
    return plan.quota_words


def tier_limits(
    plans: list[Plan], stage: ApiStage | None = None, method: str = "", path: str = ""
) -> list[TierLimit]:
    """Each tier's limits for one method: the tier's own per-method throttle on it where it has
    one (apiStages[].throttle), else the tier's throttle. The quota is shared by the stage's
    methods (API Gateway counts a key's requests per usage plan)."""
    found = []
    for plan in plans:
        own = next(
            (
                t
                for t in plan.method_throttles.all()
                if stage is not None
                and t.stage_id == stage.pk
                and t.http_method == method
                and t.resource_path == path
            ),
            None,
        )
        if own is not None:
            found.append(
                TierLimit(
                    plan=plan,
                    rate=own.rate,
                    burst=own.burst,
                    quota=quota_words(plan),
                    per_method=True,
                )
            )
        else:
            found.append(
                TierLimit(
                    plan=plan,
                    rate=plan.throttle_rate,
                    burst=plan.throttle_burst,
                    quota=quota_words(plan),
                )
            )
    return found


def method_limit_words(plan: Plan) -> list[str]:
    """A tier's per-method limits for the pricing table, e.g. "GET /forecast: 5 req/s, burst 10"."""
    return [
        f"{t.http_method} {t.resource_path}: {t.throttle_words}"
        for t in plan.method_throttles.all()
    ]


# --- operations and snippets ------------------------------------------------------------------


@dataclass(frozen=True)
class Snippet:
    language: str
    label: str
    # (text, is the API key): the key is a separate piece so the page can swap the prefix.
    parts: tuple[tuple[str, bool], ...]

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.parts)


@dataclass
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    description: str
    key_required: bool
    parameters: list[dict[str, Any]]
    body_example: Any
    slug: str
    limits: list[TierLimit] = field(default_factory=list)
    snippets: list[Snippet] = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.summary:
            return self.summary
        if self.operation_id:
            return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", self.operation_id).capitalize()
        return f"{self.method} {self.path}"


def _resolve(schema: Any, components: dict[str, Any], depth: int = 0) -> Any:
    if not isinstance(schema, dict) or depth > 6:
        return {}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return _resolve(components.get(ref.rsplit("/", 1)[-1], {}), components, depth + 1)
    return schema


def example_for(schema: Any, components: dict[str, Any], depth: int = 0) -> Any:
    """A small example value for a JSON schema: its examples where given, else by type."""
    schema = _resolve(schema, components, depth)
    if depth > 6:
        return None
    if "example" in schema:
        return schema["example"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: example_for(prop, components, depth + 1)
            for name, prop in (schema.get("properties") or {}).items()
        }
    if kind == "array":
        return [example_for(schema.get("items") or {}, components, depth + 1)]
    if kind in ("number", "integer"):
        return 0
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return "2024-01-31"
    return "string"


def _placeholder(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).upper() or "VALUE"


def _slug(method: str, path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-")


def operations(document: dict[str, Any]) -> list[Operation]:
    components = (document.get("components") or {}).get("schemas") or {}
    found = []
    for path, item in sorted((document.get("paths") or {}).items()):
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") or []
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            security = op.get("security", document.get("security")) or []
            key_required = any("api_key" in requirement for requirement in security)
            body_example = None
            content = ((op.get("requestBody") or {}).get("content")) or {}
            if "application/json" in content:
                body_example = example_for(content["application/json"].get("schema"), components)
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=str(op.get("operationId") or ""),
                    summary=str(op.get("summary") or ""),
                    description=str(op.get("description") or ""),
                    key_required=key_required,
                    parameters=[p for p in [*shared, *(op.get("parameters") or [])] if "name" in p],
                    body_example=body_example,
                    slug=_slug(method, path),
                )
            )
    return found


def _url_for(base: str, op: Operation) -> tuple[str, list[tuple[str, str]]]:
    path = op.path
    for param in op.parameters:
        if param.get("in") == "path":
            path = path.replace("{" + param["name"] + "}", _placeholder(param["name"]))
    query = [
        (p["name"], _placeholder(p["name"]))
        for p in op.parameters
        if p.get("in") == "query" and p.get("required")
    ]
    return base + path, query


def call_target(op: Operation) -> str:
    """ "GET /forecast?city=CITY": the method and path (path parameters kept in braces) with the
    required query parameters as placeholders - how a stage records its key-protected calls."""
    query = [
        f"{p['name']}={_placeholder(p['name'])}"
        for p in op.parameters
        if p.get("in") == "query" and p.get("required")
    ]
    return f"{op.method} {op.path}" + ("?" + "&".join(query) if query else "")


def snippets(base: str, op: Operation, key: str) -> list[Snippet]:
    url, query = _url_for(base, op)
    full_url = url + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
    body = json.dumps(op.body_example, indent=2) if op.body_example is not None else None
    headers = [p["name"] for p in op.parameters if p.get("in") == "header"]

    def key_part() -> tuple[str, bool]:
        return (key, True)

    # curl
    curl: list[tuple[str, bool]] = [(f"curl -X {op.method} '{full_url}'", False)]
    if op.key_required:
        curl += [(" \\\n  -H 'x-api-key: ", False), key_part(), ("'", False)]
    for name in headers:
        curl.append((f" \\\n  -H '{name}: {_placeholder(name)}'", False))
    if body is not None:
        curl.append((" \\\n  -H 'Content-Type: application/json'", False))
        curl.append((f" \\\n  -d '{json.dumps(op.body_example)}'", False))

    # Python (requests)
    py: list[tuple[str, bool]] = [
        (f'import requests\n\nresponse = requests.{op.method.lower()}(\n    "{url}",\n', False)
    ]
    header_items: list[list[tuple[str, bool]]] = []
    if op.key_required:
        header_items.append([('"x-api-key": "', False), key_part(), ('"', False)])
    for name in headers:
        header_items.append([(f'"{name}": "{_placeholder(name)}"', False)])
    if header_items:
        py.append(("    headers={", False))
        for i, item in enumerate(header_items):
            py += item
            if i < len(header_items) - 1:
                py.append((", ", False))
        py.append(("},\n", False))
    if query:
        params = ", ".join(f'"{k}": "{v}"' for k, v in query)
        py.append((f"    params={{{params}}},\n", False))
    if body is not None:
        py.append((f"    json={_python_literal(op.body_example)},\n", False))
    py.append(("    timeout=10,\n)\nresponse.raise_for_status()\nprint(response.json())", False))

    # JavaScript (fetch)
    js: list[tuple[str, bool]] = [
        (f'const response = await fetch("{full_url}", {{\n  method: "{op.method}",\n', False)
    ]
    js_headers: list[list[tuple[str, bool]]] = []
    if op.key_required:
        js_headers.append([('"x-api-key": "', False), key_part(), ('"', False)])
    for name in headers:
        js_headers.append([(f'"{name}": "{_placeholder(name)}"', False)])
    if body is not None:
        js_headers.append([('"Content-Type": "application/json"', False)])
    if js_headers:
        js.append(("  headers: { ", False))
        for i, item in enumerate(js_headers):
            js += item
            if i < len(js_headers) - 1:
                js.append((", ", False))
        js.append((" },\n", False))
    if body is not None:
        js.append((f"  body: JSON.stringify({json.dumps(op.body_example)}),\n", False))
    js.append(("});\nconsole.log(await response.json());", False))

    return [
        Snippet("curl", "curl", _merge(curl)),
        Snippet("python", "Python (requests)", _merge(py)),
        Snippet("javascript", "JavaScript (fetch)", _merge(js)),
    ]


def _python_literal(value: Any) -> str:
    """JSON as a Python literal (True/False/None instead of true/false/null)."""
    return repr(value)


def _merge(parts: list[tuple[str, bool]]) -> tuple[tuple[str, bool], ...]:
    merged: list[tuple[str, bool]] = []
    for text, is_key in parts:
        if merged and not is_key and not merged[-1][1]:
            merged[-1] = (merged[-1][0] + text, False)
        else:
            merged.append((text, is_key))
    return tuple(merged)
