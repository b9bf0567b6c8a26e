"""The catalog in a browser: a visitor compares the tiers; a customer copies a snippet."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from keys.models import ApiKey
from keys.services import key_create
from plans.models import ApiStage, Plan
from plans.services import plan_create
from portal.catalog.models import ApiDocument
from portal.customers.models import Customer
from tests.browser.conftest import make_customer, shot, sign_in
from tests.conftest import ENTERPRISE, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def wait_for_document(stage: ApiStage) -> None:
    wait_until(lambda: ApiDocument.objects.filter(stage=stage).exists(), 30, "the export")


def test_a_visitor_compares_the_tiers(
    live_tiers: dict[str, Plan], live_stage: ApiStage, page: Page
) -> None:
    plan_create(actor=None, data=dict(ENTERPRISE), stages=[live_stage])
    wait_for_document(live_stage)

    page.goto("/pricing/")
    expect(page.get_by_role("heading", name="Pricing")).to_be_visible()
    table = page.get_by_test_id("tier-compare")
    expect(table.locator("thead th[data-tier=free]")).to_contain_text("Free")
    expect(table.locator("thead th[data-tier=premium]")).to_contain_text("$49")
    expect(table.locator("td[data-tier=premium][data-limit=rate]")).to_have_text("50 req/s")
    expect(table.locator("td[data-tier=free][data-limit=quota]")).to_have_text(
        "1,000 requests per day"
    )
    expect(table.locator("thead th[data-tier=enterprise]")).to_contain_text("Approval")
    expect(page.get_by_test_id("signup-cta").get_by_role("button", name="Sign up")).to_be_visible()
    shot(page, "catalog-01-pricing-visitor")

    table.get_by_role("link", name="Tollgate Demo API").first.click()
    expect(page.get_by_role("heading", name="Tollgate Demo API", exact=True)).to_be_visible()
    status = page.locator("[data-testid=operation][data-path='/status']")
    expect(status.get_by_test_id("key-badge")).to_have_text("No API key needed")
    expect(page.locator("#openapi-viewer .swagger-ui .opblock").first).to_be_visible()
    shot(page, "catalog-02-reference-visitor")


def test_a_customer_copies_a_snippet_with_their_key_prefix(
    worker: Any, live_tiers: dict[str, Plan], live_stage: ApiStage, settle: Any, page: Page
) -> None:
    wait_for_document(live_stage)
    owner = make_customer("dana@umbrella.test", "Umbrella")
    customer = Customer.objects.get(name="Umbrella")
    key_create(actor=owner, customer=customer, name="production")
    key_create(actor=owner, customer=customer, name="staging")
    settle()
    prefixes = dict(ApiKey.objects.filter(customer=customer).values_list("name", "display_prefix"))
    assert all(prefixes.values())

    sign_in(page, "dana@umbrella.test")
    page.get_by_role("link", name="APIs").click()
    page.get_by_role("link", name="Tollgate Demo API").click()
    expect(page.locator("#openapi-viewer .swagger-ui .opblock").first).to_be_visible()

    page.get_by_label("API key in the examples").select_option(
        label=f"staging ({prefixes['staging']}…)"
    )
    geocode = page.locator("[data-testid=operation][data-method=POST][data-path='/geocode']")
    expect(geocode.get_by_test_id("key-badge")).to_have_text("API key required")
    expect(geocode.locator("tr[data-tier=free] [data-limit=throttle]")).to_have_text(
        "2 req/s, burst 5"
    )
    geocode.get_by_role("tab", name="Python (requests)").click()
    snippet = geocode.locator("[data-language=python]")
    expect(snippet).to_be_visible()
    snippet.get_by_role("button", name="Copy").click()
    expect(snippet.get_by_role("button", name="Copied ✓")).to_be_visible()

    copied = page.evaluate("navigator.clipboard.readText()")
    shown = snippet.locator("code").inner_text().strip()
    assert copied == shown
    invoke = "https://api.tollgate.localhost/v1"  # the demo stage's custom domain
    assert f'requests.post(\n    "{invoke}/geocode",' in copied
    assert f'"x-api-key": "{prefixes["staging"]}…"' in copied
    assert "json={'addresses': [" in copied
    snippet.scroll_into_view_if_needed()
    shot(page, "catalog-03-reference-customer-copied")
