"""The ready `curl` line of the one-time secret panel calls one of the stage's key-protected
operations (plans/calls.py, from what the catalog recorded), preferring a GET without path
parameters, and says so when it can only call the stage root."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.urls import reverse

from keys import services as key_services
from keys.models import ApiKey
from keys.selectors import sample_call_for
from plans.calls import choose_operation, sample_call, stage_url
from plans.models import ApiStage
from plans.stages import stage_record_operations
from portal.accounts.models import User
from portal.catalog.models import ApiDocument
from portal.catalog.services import record_operations
from portal.customers.models import Customer
from tests.conftest import login
from tests.fixtures.api import api_as

SECRET = "Xk2p9s3cr3tVALUEfromAwsForTests01"
ROOT = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"

# What the catalog records from the demo API's export (GET /status needs no key).
DEMO = {
    "openapi": "3.0.1",
    "components": {"securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key"}}},
    "paths": {
        "/status": {"get": {"operationId": "GetStatus"}},
        "/forecast": {
            "get": {
                "security": [{"api_key": []}],
                "parameters": [
                    {"name": "city", "in": "query", "required": True},
                    {"name": "days", "in": "query"},
                ],
            }
        },
        "/forecast/{city}": {
            "get": {
                "security": [{"api_key": []}],
                "parameters": [{"name": "city", "in": "path", "required": True}],
            }
        },
        "/cities": {"get": {"security": [{"api_key": []}]}},
        "/geocode": {"post": {"security": [{"api_key": []}]}},
    },
}


@pytest.mark.parametrize(
    ("recorded", "chosen"),
    [
        (
            ["GET /forecast/{city}", "GET /forecast?city=CITY", "GET /cities", "POST /geocode"],
            "GET /cities",
        ),
        (["GET /forecast/{city}", "GET /forecast?city=CITY"], "GET /forecast?city=CITY"),
        (["POST /geocode", "GET /forecast/{city}"], "GET /forecast/{city}"),
        (["POST /geocode", "DELETE /things"], "POST /geocode"),
        (["DELETE /things", "PUT /things/{id}"], "PUT /things/{id}"),
        (["GET /v1/weather/today", "GET /weather"], "GET /weather"),
        ([], None),
        (None, None),
    ],
)
def test_it_prefers_a_get_without_path_parameters(
    recorded: list[str] | None, chosen: str | None
) -> None:
    assert choose_operation(recorded) == chosen


def test_path_parameters_become_placeholders(stage: ApiStage) -> None:
    stage.key_operations = ["GET /forecast/{city}"]
    call = sample_call(stage)
    assert (call.method, call.url, call.documented) == ("GET", f"{ROOT}/forecast/CITY", True)


def test_without_a_known_operation_it_is_the_stage_root(stage: ApiStage) -> None:
    nothing: tuple[list[str] | None, ...] = (None, [])
    for recorded in nothing:
        stage.key_operations = recorded
        call = sample_call(stage)
        assert (call.url, call.documented, call.operation) == (f"{ROOT}/", False, "")


def test_the_catalog_records_the_key_protected_calls(stage: ApiStage) -> None:
    document = ApiDocument.objects.create(
        stage=stage, deployment_id="d1", document=DEMO, raw_size=1
    )
    record_operations(stage, document)
    stage.refresh_from_db()
    assert stage.key_operations == [
        "GET /cities",
        "GET /forecast/{city}",
        "GET /forecast?city=CITY",
        "POST /geocode",
    ]
    assert "GET /status" in (stage.operations or [])  # known, but not key-protected
    assert sample_call(stage).url == f"{ROOT}/cities"


def test_a_customer_off_tier_has_no_call(acme: Customer) -> None:
    acme.subscriptions.all().delete()
    assert sample_call_for(acme) is None


def issued(key: ApiKey, monkeypatch: pytest.MonkeyPatch) -> ApiKey:
    """The key as API Gateway issued it, without asking AWS for the value."""
    ApiKey.objects.filter(pk=key.pk).update(
        aws_id="k123", secret_sha256=hashlib.sha256(SECRET.encode()).hexdigest()
    )
    monkeypatch.setattr(key_services.aws, "get_api_key_secret", lambda aws_id: SECRET)
    key.refresh_from_db()
    return key


def reveal(user: User, key: ApiKey) -> str:
    response = login(user).post(reverse("app:key-secret", args=[key.public_id]))
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def test_the_secret_panel_calls_a_key_protected_operation(
    alice: User, acme_key: ApiKey, stage: ApiStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_record_operations(
        stage=stage,
        operations=["GET /cities", "GET /status"],
        key_operations=["GET /cities", "POST /geocode"],
    )
    panel = reveal(alice, issued(acme_key, monkeypatch))
    assert f"curl -H \"x-api-key: {SECRET}\" '{ROOT}/cities'" in panel
    assert "(<code>GET /cities</code>)" in panel
    assert 'data-testid="curl-root"' not in panel


def test_the_secret_panel_says_when_it_can_only_call_the_stage_root(
    alice: User, acme_key: ApiKey, stage: ApiStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stage.key_operations is None  # never exported
    panel = reveal(alice, issued(acme_key, monkeypatch))
    assert f"curl -H \"x-api-key: {SECRET}\" '{ROOT}/'" in panel
    assert "No operation of this API is known yet" in panel
    assert "so this calls the stage root" in panel


def test_a_call_with_placeholders_says_to_replace_them(
    alice: User, acme_key: ApiKey, stage: ApiStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_record_operations(
        stage=stage, operations=["GET /forecast"], key_operations=["GET /forecast?city=CITY"]
    )
    panel = reveal(alice, issued(acme_key, monkeypatch))
    assert f"'{ROOT}/forecast?city=CITY'" in panel
    assert "(<code>GET /forecast?city=CITY</code>: replace the capitals)" in panel


def at_custom_domain(stage: ApiStage, settings: Any, path: str = "v1") -> ApiStage:
    """The stage as discovery leaves it when a custom domain maps it (tests/plans/
    test_stage_discovery.py reads them from AWS), behind a gateway on port 5000."""
    settings.TOLLGATE = {**settings.TOLLGATE, "CUSTOM_DOMAIN_URL": "http://{domain}:5000"}
    ApiStage.objects.filter(pk=stage.pk).update(
        custom_domain="api.weather.example", custom_domain_path=path
    )
    stage.refresh_from_db()
    return stage


def test_a_custom_domain_is_the_address_with_or_without_a_base_path(
    stage: ApiStage, settings: Any
) -> None:
    stage.key_operations = ["GET /cities"]
    assert sample_call(stage).url == f"{ROOT}/cities"
    assert stage_url(at_custom_domain(stage, settings)) == "http://api.weather.example:5000/v1"
    at_custom_domain(stage, settings, path="")
    stage.key_operations = ["GET /cities"]
    assert sample_call(stage).url == "http://api.weather.example:5000/cities"
    settings.TOLLGATE = {**settings.TOLLGATE, "CUSTOM_DOMAIN_URL": "https://{domain}/"}
    assert stage_url(stage) == "https://api.weather.example"


def test_the_secret_panel_calls_the_custom_domain(
    alice: User, acme_key: ApiKey, stage: ApiStage, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    stage = at_custom_domain(stage, settings)
    stage_record_operations(stage=stage, operations=["GET /cities"], key_operations=["GET /cities"])
    panel = reveal(alice, issued(acme_key, monkeypatch))
    assert f"curl -H \"x-api-key: {SECRET}\" 'http://api.weather.example:5000/v1/cities'" in panel
    assert "execute-api" not in panel


def test_the_api_reveal_answers_the_custom_domain(
    alice: User, acme_key: ApiKey, stage: ApiStage, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    at_custom_domain(stage, settings)
    issued(acme_key, monkeypatch)
    response = api_as(alice).post(f"/api/v1/keys/{acme_key.public_id}/reveal")
    assert response.status_code == 200
    assert response.json()["invoke_urls"] == ["http://api.weather.example:5000/v1"]
