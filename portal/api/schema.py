"""OpenAPI: the bearer scheme, the long description, and the error responses of every operation."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from portal.rest.serializers import ProblemSerializer

API_DESCRIPTION = """
Tollgate's own REST API: the same tiers, customers, keys, usage and sync health as the pages,
through the same service functions — so the web UI, the API and the CLI never disagree.

## Authentication

* **Personal access token**: `Authorization: Bearer tg_<prefix>_<secret>`. Create one at
  `/settings/tokens/` (shown once; Tollgate keeps only its SHA-256). A *read* token is refused
  (403) on every method that changes something. Personal access tokens are **not** the API
  Gateway keys your applications send in `x-api-key`.
* **Session**: a signed-in browser (send the CSRF token on unsafe methods).

## Who sees what

The pages' rules: no credentials → 401; admins may do everything; ops read everything and change
nothing (403); a customer sees only its own organisation — another organisation's object is a
**404**, never a 403 — and may manage its keys and switch between self-serve tiers.

## API key secrets are shown once

The worker generates a key's secret (`tgk` + 38 letters and digits, with a checksum) as the key
reaches API Gateway, after `POST /api/v1/keys` has answered (201, `secret: null`, sync status `pending`). Tollgate never stores the secret. Poll the
key until `secret_state` is `ready`, then `POST /api/v1/keys/{id}/reveal`: the key's creator gets
the secret exactly once (403 to anyone else, 409 before it is issued, 410 afterwards).

## Lists, caching, errors

* Lists are cursor-paginated (`next`/`previous` links, `?limit=` up to 200), filtered by query
  parameters and ordered with `?ordering=` (`-` for descending).
* Reads carry an `ETag`; send it back in `If-None-Match` to get `304 Not Modified`.
* Every error has one shape:
  `{"type": "validation_error", "title": "Invalid input", "detail": "…", "errors": {"name": ["…"]}}`
  — for 400, 401, 403, 404, 409, 410, 429, 500 and 503. A service's refusal keeps its own
  status and `type` (e.g. `conflict` 409, `gone` 410, `refused` 400).
"""

ERRORS: dict[str, tuple[str, dict[str, Any]]] = {
    "400": (
        "Invalid input; `errors` names each field.",
        {
            "type": "validation_error",
            "title": "Invalid input",
            "detail": "name: You already have a key named “CI”.",
            "errors": {"name": ["You already have a key named “CI”."]},
        },
    ),
    "401": (
        "No credentials, or a token that is unknown, revoked or expired.",
        {
            "type": "not_authenticated",
            "title": "Not authenticated",
            "detail": "Authentication credentials were not provided.",
            "errors": {},
        },
    ),
    "403": (
        "Signed in, but not allowed: ops writing, a read-only token writing, a customer on a "
        "staff endpoint.",
        {
            "type": "permission_denied",
            "title": "Permission denied",
            "detail": "Ops can read everything but change nothing.",
            "errors": {},
        },
    ),
    "404": (
        "No such object — or another organisation's.",
        {"type": "not_found", "title": "Not found", "detail": "Not found.", "errors": {}},
    ),
    "429": (
        "Too many requests; `Retry-After` says when to try again.",
        {
            "type": "throttled",
            "title": "Too many requests",
            "detail": "Request was throttled. Expected available in 12 seconds.",
            "errors": {},
        },
    ),
    "500": (
        "Our fault; it has been logged.",
        {
            "type": "server_error",
            "title": "Server error",
            "detail": "Something went wrong on our side; it has been logged.",
            "errors": {},
        },
    ),
}


class TollgateAutoSchema(AutoSchema):
    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, (description, example) in ERRORS.items():
            if code in responses:
                continue
            responses[code] = self._get_response_for_code(
                OpenApiResponse(
                    ProblemSerializer,
                    description=description,
                    examples=[OpenApiExample(f"{code} example", value=example)],
                ),
                code,
                direction=direction,
            )
        return responses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.tokens.authentication.BearerTokenAuthentication"
    name = "personalAccessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tg_<prefix>_<secret>",
            "description": "A personal access token from /settings/tokens/.",
        }
