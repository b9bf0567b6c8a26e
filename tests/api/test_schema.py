"""The OpenAPI schema and its docs, and a property-based run of the whole API from its schema
(schemathesis), as an admin with a token: no 5xx, and every answer as the schema says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from keys.models import ApiKey
from localaws.testing import LocalAwsControl
from plans.models import Plan
from portal.accounts.models import User
from tests.fixtures.api import token_for


def test_the_schema_is_valid_openapi_and_documents_errors(db: None) -> None:
    from django.test import Client
    from openapi_spec_validator import validate

    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert "personalAccessToken" in schema["components"]["securitySchemes"]
    assert "shown once" in schema["info"]["description"]
    reveal = schema["paths"]["/api/v1/keys/{id}/reveal"]["post"]
    assert {"200", "401", "403", "404", "409", "410", "429"} <= set(reveal["responses"])
    assert schema["components"]["schemas"]["Problem"]["required"] == [
        "detail",
        "errors",
        "title",
        "type",
    ]


def test_the_docs_are_served_by_tollgate_not_a_cdn(db: None) -> None:
    from django.test import Client

    page = Client().get("/api/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert Client().get("/api/redoc/").status_code == 200


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    """Requests run inside the test's transaction, as Django's test client does it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(
    db: None,
    in_process_requests: None,
    control: LocalAwsControl,
    admin: User,
    tiers: dict[str, Plan],
    acme_key: ApiKey,
    globex_key: ApiKey,
) -> str:
    """An admin's write token, with tiers, customers and keys for the run to find.

    AWS is the local one (GET /api/v1/metrics reads CloudWatch): never the real AWS.
    """
    return token_for(admin)


def _load_schema() -> Any:
    from portal.wsgi import application

    # Generating the schema reads no database row, so it can happen at collection.
    loaded = schemathesis.openapi.from_wsgi("/api/schema/", application)
    loaded.config.generation.update(modes=[GenerationMode.POSITIVE], max_examples=5)
    loaded.config.phases.update(phases=["examples", "fuzzing"])
    return loaded


schema = _load_schema()


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_schema(case: Any, admin_token: str) -> None:
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
    assert response.status_code != 401  # the token reached the API
