"""What a method's integration answers: MOCK evaluated as API Gateway does, the rest stood in.

MOCK (Developer Guide, "Mock integrations for REST APIs in API Gateway"): the integration
request template for the request's content type (``application/json`` when it has none or
no template is set for it) must produce ``{"statusCode": N}``, which is the integration's
status; the integration response whose ``selectionPattern`` (a regular expression, matched
against that status code as a whole) matches is chosen, else the default one (no pattern).
Its ``statusCode`` is the method response status, its ``application/json`` response
template the body (rendered by ``localaws.gateway.templates``; no template: an empty body)
and its ``method.response.header.*`` parameters the headers (quoted literals and request
values; ``integration.response.*`` have nothing to map from a mock). No integration
response matching and no default one is API Gateway's 500 API_CONFIGURATION_ERROR
("Internal server error"), and so is a method without an integration.

HTTP, HTTP_PROXY, AWS and AWS_PROXY integrations are not invoked locally (no backend, no
Lambda): they answer 200 with a fixed JSON body saying so and ``x-localaws-stand-in:
true``, so nobody mistakes it for the backend's answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from localaws.gateway.resources import MethodSpec
from localaws.gateway.responses import JSON, mapped_headers, pick_template
from localaws.gateway.templates import TemplateInput, render

STAND_IN_HEADER = "x-localaws-stand-in"


@dataclass(frozen=True)
class IntegrationAnswer:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


def _request_template(integration: Mapping[str, Any], content_type: str) -> str | None:
    templates: Mapping[str, Any] = integration.get("requestTemplates") or {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    chosen = templates.get(media_type) if media_type else None
    return str(chosen) if chosen is not None else pick_template(templates)


def _mock_status(integration: Mapping[str, Any], values: TemplateInput, content_type: str) -> int:
    template = _request_template(integration, content_type)
    if not template:
        return 200
    try:
        produced = json.loads(render(template, values))
        return int(produced.get("statusCode", 200))
    except (ValueError, TypeError, AttributeError):
        return 200


def _select(responses: Mapping[str, Any], status: int) -> Mapping[str, Any] | None:
    default = None
    for code in sorted(responses):
        response = responses[code]
        pattern = response.get("selectionPattern")
        if not pattern:
            default = default or response
            continue
        try:
            if re.fullmatch(str(pattern), str(status)):
                return dict(response)
        except re.error:
            continue
    return default


def _mock(
    integration: Mapping[str, Any], values: TemplateInput, content_type: str
) -> IntegrationAnswer | None:
    status = _mock_status(integration, values, content_type)
    chosen = _select(integration.get("integrationResponses") or {}, status)
    if chosen is None:
        return None
    template = pick_template(chosen.get("responseTemplates"))
    return IntegrationAnswer(
        status=int(chosen.get("statusCode") or 200),
        body=render(template, values) if template else "",
        headers=mapped_headers(chosen.get("responseParameters"), "method.response.header.", values),
    )


def _stand_in(integration: Mapping[str, Any], method: MethodSpec) -> IntegrationAnswer:
    kind = str(integration.get("type") or "UNKNOWN")
    body = {
        "localaws": f"stand-in answer: integration type {kind} is not invoked locally",
        "integrationType": kind,
        "uri": integration.get("uri"),
        "resourcePath": method.resource_path,
        "httpMethod": method.http_method,
    }
    return IntegrationAnswer(200, json.dumps(body), {STAND_IN_HEADER: "true", "Content-Type": JSON})


def integrate(
    method: MethodSpec, values: TemplateInput, content_type: str
) -> IntegrationAnswer | None:
    """The integration's answer, or None for API Gateway's API_CONFIGURATION_ERROR."""
    integration = method.integration
    if not integration:
        return None
    if str(integration.get("type") or "").upper() == "MOCK":
        return _mock(integration, values, content_type)
    return _stand_in(integration, method)
