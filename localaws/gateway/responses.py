"""Gateway responses: what API Gateway answers when it refuses a request itself.

Each refusal has a gateway response type with a default status (Developer Guide, "Gateway
response types for API Gateway", supported-gateway-response-types.html) and AWS's default
body template ``{"message":$context.error.messageString}``; the error type travels in the
``x-amzn-ErrorType`` header:

* MISSING_AUTHENTICATION_TOKEN: 403 "Missing Authentication Token",
  MissingAuthenticationTokenException;
* INVALID_API_KEY: 403 "Forbidden", ForbiddenException;
* THROTTLED: 429 "Too Many Requests", TooManyRequestsException;
* QUOTA_EXCEEDED: 429 "Limit Exceeded", LimitExceededException;
* API_CONFIGURATION_ERROR: 500 "Internal server error", InternalServerErrorException.

PutGatewayResponse customisations (moto keeps them on the API) are honoured: a type's own
customisation wins, else the API's DEFAULT_4XX / DEFAULT_5XX one ("If the response type is
unspecified, this response defaults to the DEFAULT_4XX type"), else AWS's default. Status
code, ``gatewayresponse.header.*`` parameters (a quoted literal, or a
``method.request.header|querystring|path.*`` / ``stageVariables.*`` / ``context.*``
value) and the ``application/json`` template (rendered by ``localaws.gateway.templates``)
are applied.

Every gateway answer, refusal or not, carries ``x-amzn-RequestId`` and ``x-amz-apigw-id``.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from localaws.gateway.templates import TemplateInput, render

DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
JSON = "application/json"


@dataclass(frozen=True)
class ResponseType:
    name: str
    status: int
    message: str
    error_type: str


MISSING_AUTHENTICATION_TOKEN = ResponseType(
    "MISSING_AUTHENTICATION_TOKEN",
    403,
    "Missing Authentication Token",
    "MissingAuthenticationTokenException",
)
INVALID_API_KEY = ResponseType("INVALID_API_KEY", 403, "Forbidden", "ForbiddenException")
THROTTLED = ResponseType("THROTTLED", 429, "Too Many Requests", "TooManyRequestsException")
QUOTA_EXCEEDED = ResponseType("QUOTA_EXCEEDED", 429, "Limit Exceeded", "LimitExceededException")
API_CONFIGURATION_ERROR = ResponseType(
    "API_CONFIGURATION_ERROR", 500, "Internal server error", "InternalServerErrorException"
)


@dataclass(frozen=True)
class RequestIds:
    """``x-amzn-RequestId`` (a UUID) and ``x-amz-apigw-id`` (API Gateway's extended
    request id: 16 base64 characters)."""

    request_id: str
    extended_id: str

    @classmethod
    def new(cls) -> RequestIds:
        return cls(str(uuid.uuid4()), base64.b64encode(os.urandom(11)).decode())

    def headers(self) -> dict[str, str]:
        return {"x-amzn-RequestId": self.request_id, "x-amz-apigw-id": self.extended_id}


def parameter_value(expression: str, values: TemplateInput) -> str | None:
    """The value of a response-parameter mapping expression, or None if unsupported."""
    if len(expression) >= 2 and expression.startswith("'") and expression.endswith("'"):
        return expression[1:-1]
    for prefix, source in (
        ("method.request.header.", None),
        ("method.request.querystring.", values.query),
        ("method.request.path.", values.path_parameters),
        ("stageVariables.", values.stage_variables),
        ("context.", values.context),
    ):
        if expression.startswith(prefix):
            name = expression[len(prefix) :]
            if source is None:
                return values.headers.get(name.lower())
            return source.get(name)
    return None


def mapped_headers(
    parameters: Mapping[str, Any] | None, prefix: str, values: TemplateInput
) -> dict[str, str]:
    """Headers from ``{prefix}{Name}: expression`` response parameters."""
    headers = {}
    for target, expression in (parameters or {}).items():
        if str(target).startswith(prefix):
            value = parameter_value(str(expression), values)
            if value is not None:
                headers[str(target)[len(prefix) :]] = value
    return headers


def pick_template(templates: Mapping[str, Any] | None) -> str | None:
    """The ``application/json`` template (else the first one), None when there is none."""
    if not templates:
        return None
    chosen = templates.get(JSON)
    if chosen is None:
        chosen = next(iter(templates.values()), None)
    return None if chosen is None else str(chosen)


def gateway_response(
    api: Any | None, kind: ResponseType, values: TemplateInput, ids: RequestIds
) -> Response:
    """The gateway response of ``kind`` for a request to ``api`` (None: no API found)."""
    customised: Mapping[str, Any] = getattr(api, "gateway_responses", None) or {}
    own = customised.get(kind.name)
    fallback = customised.get("DEFAULT_4XX" if kind.status < 500 else "DEFAULT_5XX")
    status = kind.status
    for custom in (fallback, own):
        if custom is not None and custom.status_code:
            status = int(custom.status_code)
    parameters: dict[str, Any] = {}
    template: str | None = None
    for custom in (fallback, own):
        if custom is not None:
            parameters.update(custom.response_parameters or {})
            template = pick_template(custom.response_templates) or template
    error_values = values.with_error(kind.message, kind.name)
    body = render(template or DEFAULT_TEMPLATE, error_values)
    headers = {"x-amzn-ErrorType": kind.error_type, **ids.headers()}
    headers.update(mapped_headers(parameters, "gatewayresponse.header.", error_values))
    return Response(body, status=status, content_type=JSON, headers=headers)
