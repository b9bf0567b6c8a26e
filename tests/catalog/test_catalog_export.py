"""The API catalog: OpenAPI documents exported from the local API Gateway over HTTP by the worker,
one version per deployment, shown on public pages that never call AWS."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django.test import Client

from keys.models import ApiKey
from localaws.testing import LocalAwsControl
from plans.models import ApiStage, Plan
from plans.stages import stages_discover
from portal.catalog.models import ApiDocument
from portal.catalog.services import current_document, refresh_stage_document, strip_extensions
from portal.customers.services import customer_onboard
from portal.sync import SyncStatus
from tests.conftest import login, make_user, wait_until

pytestmark = pytest.mark.integration


def documents(stage: ApiStage) -> list[ApiDocument]:
    return list(ApiDocument.objects.filter(stage=stage).order_by("exported_at", "pk"))


def wait_for_documents(stage: ApiStage, count: int) -> list[ApiDocument]:
    wait_until(lambda: len(documents(stage)) >= count, 30, f"{count} document(s) of {stage}")
    return documents(stage)


def operation_blocks(page: str) -> dict[tuple[str, str], str]:
    """Each operation's <article> on the reference page, by (method, path)."""
    found = re.findall(
        r'<article class="operation"[^>]*data-method="(\w+)" data-path="([^"]+)">(.*?)</article>',
        page,
        re.S,
    )
    return {(method, html.unescape(path)): block for method, path, block in found}


def limit_cells(block: str) -> dict[str, tuple[str, str]]:
    """{tier slug: (throttle, quota)} from one operation's limits table."""
    rows = re.findall(r'<tr data-tier="([^"]+)"[^>]*>(.*?)</tr>', block, re.S)
    cells = {}
    for slug, row in rows:
        throttle = re.search(r'data-limit="throttle">(.*?)</td>', row, re.S)
        quota = re.search(r'data-limit="quota">(.*?)</td>', row, re.S)
        assert throttle and quota
        cells[slug] = (
            re.sub(r"<[^>]+>|\s+", " ", throttle.group(1)).strip(),
            quota.group(1).strip(),
        )
    return cells


def test_offering_a_stage_exports_its_document_over_http(
    live_stage: ApiStage, control: LocalAwsControl, apigw: Any
) -> None:
    """stage_set_available (the fixture) sends the export; the worker calls GetExport."""
    [document] = wait_for_documents(live_stage, 1)

    assert document.deployment_id == live_stage.deployment_id != ""
    assert [c["status"] for c in control.calls("GetExport")] == [200]
    assert document.raw_size > 1000
    doc = document.document
    assert doc["openapi"].startswith("3.0")
    assert doc["info"]["title"] == "Tollgate Demo API"
    assert "x-amazon-apigateway" not in json.dumps(doc)
    assert "security" not in doc["paths"]["/status"]["get"]
    assert doc["paths"]["/geocode"]["post"]["security"] == [{"api_key": []}]
    assert "GeocodeRequest" in doc["components"]["schemas"]

    # Stripping: the export with every extension, stripped, is the plain export.
    with_extensions = json.loads(
        apigw.get_export(
            restApiId=live_stage.rest_api_id,
            stageName=live_stage.stage_name,
            exportType="oas30",
            parameters={"extensions": "apigateway"},
        )["body"].read()
    )
    assert "x-amazon-apigateway-integration" in json.dumps(with_extensions)
    assert strip_extensions(with_extensions) == doc

    # The same deployment is never exported twice (the one call more is the test's own).
    assert refresh_stage_document(live_stage) == document
    assert len(control.calls("GetExport")) == 2


def test_a_new_deployment_produces_a_new_catalog_version(
    live_stage: ApiStage, control: LocalAwsControl, apigw: Any
) -> None:
    [first] = wait_for_documents(live_stage, 1)
    api_id = live_stage.rest_api_id
    root = next(r for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    alerts = apigw.create_resource(restApiId=api_id, parentId=root["id"], pathPart="alerts")
    where = {"restApiId": api_id, "resourceId": alerts["id"], "httpMethod": "GET"}
    apigw.put_method(
        **where, authorizationType="NONE", apiKeyRequired=True, operationName="ListAlerts"
    )
    apigw.put_method_response(**where, statusCode="200")
    apigw.put_integration(**where, type="MOCK")
    deployment = apigw.create_deployment(restApiId=api_id, description="alerts")
    apigw.update_stage(
        restApiId=api_id,
        stageName=live_stage.stage_name,
        patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment["id"]}],
    )

    stages_discover()  # the 10-minute discovery sees the new deployment id

    first_again, second = wait_for_documents(live_stage, 2)
    live_stage.refresh_from_db()
    assert first_again == first
    assert second.deployment_id == deployment["id"] == live_stage.deployment_id
    assert "/alerts" in second.document["paths"]
    assert "/alerts" not in first.document["paths"]
    assert current_document(live_stage) == second

    # Discovery without a new deployment exports nothing more.
    stages_discover()
    assert refresh_stage_document(live_stage) == second
    assert len(control.calls("GetExport")) == 2
    assert len(documents(live_stage)) == 2


def test_reference_page_shows_each_tier_limits_per_method(
    live_tiers: dict[str, Plan], live_stage: ApiStage, control: LocalAwsControl
) -> None:
    wait_for_documents(live_stage, 1)
    control.clear_calls()

    response = Client().get(f"/apis/{live_stage.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    blocks = operation_blocks(page)
    assert set(blocks) == {
        ("GET", "/cities"),
        ("GET", "/forecast"),
        ("GET", "/forecast/{city}"),
        ("GET", "/geocode"),
        ("POST", "/geocode"),
        ("GET", "/status"),
    }
    for key, block in blocks.items():
        if key == ("GET", "/status"):
            continue
        assert "API key required" in block, key
        assert limit_cells(block) == {
            "free": ("2 req/s, burst 5", "1,000 requests per day"),
            "premium": ("50 req/s, burst 100", "100,000 requests per month"),
        }, key
    status = blocks[("GET", "/status")]
    assert "No API key needed" in status
    assert "data-tier=" not in status and "x-api-key" not in status
    # A visitor's snippets carry the stage's custom domain (the demo's) and a placeholder key.
    invoke = "https://api.tollgate.localhost/v1"
    forecast = blocks[("GET", "/forecast/{city}")]
    assert f"curl -X GET &#x27;{invoke}/forecast/CITY&#x27;" in forecast
    assert 'x-api-key: <span class="key-slot">YOUR_API_KEY</span>' in forecast
    # The page read the database only.
    assert control.calls() == []


def test_a_customer_sees_their_key_prefix_never_a_secret(
    live_tiers: dict[str, Plan], live_stage: ApiStage, control: LocalAwsControl
) -> None:
    wait_for_documents(live_stage, 1)
    alice = make_user("alice@acme.test")
    acme = customer_onboard(owner=alice, organisation_name="Acme")
    for name, prefix in (("production", "AbCdE"), ("staging", "XyZ12")):
        ApiKey.objects.create(
            customer=acme,
            name=name,
            display_prefix=prefix,
            secret_sha256="0" * 64,
            aws_id=f"key-{name}",
            sync_status=SyncStatus.SYNCED,
        )
    client = login(alice)

    page = client.get(f"/apis/{live_stage.pk}/").content.decode()
    assert '<span class="key-slot">AbCdE…</span>' in page
    assert "YOUR_API_KEY" not in page
    assert "production (AbCdE…)" in page and "staging (XyZ12…)" in page

    chosen = client.get(f"/apis/{live_stage.pk}/?key=XyZ12").content.decode()
    assert '<span class="key-slot">XyZ12…</span>' in chosen
    assert '<span class="key-slot">AbCdE…</span>' not in chosen


def test_pricing_is_public_and_side_by_side(
    live_tiers: dict[str, Plan], live_stage: ApiStage, control: LocalAwsControl
) -> None:
    wait_for_documents(live_stage, 1)
    control.clear_calls()

    response = Client().get("/pricing/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-tier="free" data-limit="rate">2 req/s' in page
    assert 'data-tier="premium" data-limit="rate">50 req/s' in page
    assert 'data-tier="free" data-limit="quota">1,000 requests per day' in page
    assert 'data-tier="premium" data-limit="quota">100,000 requests per month' in page
    assert f'href="/apis/{live_stage.pk}/">Tollgate Demo API</a>' in page
    assert "Sign up" in page
    assert control.calls() == []
