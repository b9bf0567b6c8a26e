"""Every API error is one JSON shape (problem details, RFC 9457 in spirit):

    {"type": "validation_error", "title": "Invalid input", "detail": "…", "errors": {field: [msg]}}

`errors` is empty unless the request had field errors. A body over DATA_UPLOAD_MAX_MEMORY_SIZE is
a 413 and one nested too deep a 400 (portal/rest/parsers.py), never a 500. A service's Django ValidationError becomes
a 400 with its field errors; a service's refusal (`portal.errors.Refused` or a subclass) becomes
its `status` with `type` set to its `code` (409 not yet, 410 no longer, 403 not allowed); anything
unexpected becomes a logged 500 with the same shape.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from portal.errors import Refused

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is not in a state that allows this, yet."
    default_code = "conflict"


class Gone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "This is no longer available."
    default_code = "gone"


class ServiceUnavailable(exceptions.APIException):
    """An upstream AWS service did not answer; `wait` (seconds) becomes Retry-After."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "An AWS service Tollgate depends on did not answer; try again shortly."
    default_code = "service_unavailable"

    def __init__(self, detail: str | None = None, wait: int | None = None) -> None:
        super().__init__(detail)
        self.wait = wait


class PayloadTooLarge(exceptions.APIException):
    """A request body over DATA_UPLOAD_MAX_MEMORY_SIZE bytes: refused before it is parsed."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"

    def __init__(self, limit: int | None = None) -> None:
        detail = (
            f"The request body is larger than {limit:,} bytes; send less at a time."
            if limit
            else None
        )
        super().__init__(detail)


class Refusal(exceptions.APIException):
    """A service's refusal (portal.errors.Refused) as DRF sees it: its status, code and message."""

    def __init__(self, refused: Refused) -> None:
        self.status_code = refused.status
        super().__init__(refused.message, code=refused.code)


TITLES = {
    400: "Invalid input",
    401: "Not authenticated",
    403: "Permission denied",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Content too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}
CODES = {"invalid": "validation_error", "error": "server_error"}


def problem(
    status_code: int, detail: str, *, code: str, errors: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    return {
        "type": code,
        "title": TITLES.get(status_code, "Error"),
        "detail": detail,
        "errors": errors or {},
    }


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field": [...], "stages.0": [...]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "non_field_errors" if key == NON_FIELD_ERRORS else str(key)
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        out = {}
        for index, item in enumerate(detail):
            out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    return {prefix or "non_field_errors": [str(detail)]}


def _from_django(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(
            {
                ("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
                for field, messages in exc.message_dict.items()
            }
        )
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = _from_django(exc)
    elif isinstance(exc, Refused):
        exc = Refusal(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):  # read outside the parser (e.g. request.body)
        exc = PayloadTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if not isinstance(exc, exceptions.APIException):
        view = context.get("view")
        logger.exception("unexpected error in %s", type(view).__name__ if view else "the API")
        return Response(
            problem(
                500, "Something went wrong on our side; it has been logged.", code="server_error"
            ),
            status=500,
        )
    response = exception_handler(exc, context)  # sets WWW-Authenticate, Retry-After, …
    if response is None:  # pragma: no cover - DRF handles every APIException
        return None
    codes = exc.get_codes()
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        detail = " ".join(
            message if field == "non_field_errors" else f"{field}: {message}"
            for field, messages in errors.items()
            for message in messages
        )
        response.data = problem(400, detail, code="validation_error", errors=errors)
    else:
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = problem(response.status_code, str(exc.detail), code=CODES.get(code, code))
    return response


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any /api/ path no endpoint answers: the same shape, not an HTML page."""
    return JsonResponse(
        problem(404, f"No API endpoint at {request.path}.", code="not_found"), status=404
    )
