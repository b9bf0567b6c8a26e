"""Customers sign up, issue keys (their secret is shown once), manage them and switch tier."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from django.apps import apps
from playwright.sync_api import Page, expect

from keys.models import ApiKey
from keys.services import key_create
from localaws.testing import LocalAwsControl
from plans.models import Plan
from plans.selectors import active_subscription
from portal.customers.models import Customer
from portal.sync import SyncStatus
from tests.browser.conftest import (
    SYNC_TIMEOUT_MS,
    make_customer,
    shot,
    sign_in,
    wait_for_key_synced,
)
from tests.conftest import PASSWORD
from tests.customers.test_signup_page import confirmation_link

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def rows_holding(value: str) -> list[str]:
    """Every database row, in every table, whose values contain `value`."""
    found = []
    for model in apps.get_models():
        for row in model._default_manager.values():
            if value in repr(row):
                found.append(f"{model._meta.label} {row.get('id')}")
    return found


def test_new_customer_signs_up_and_sees_the_secret_once(
    worker: Any, live_tiers: dict[str, Plan], apigw: Any, control: LocalAwsControl, page: Page
) -> None:
    page.goto("/accounts/signup/")
    form = page.locator("main form")
    form.locator("input[name=organisation]").fill("Initech")
    form.locator("input[name=email]").fill("peter@initech.test")
    form.locator("input[name=password1]").fill(PASSWORD)
    form.locator("input[name=password2]").fill(PASSWORD)
    shot(page, "10-signup")
    form.get_by_role("button", name="Create account").click()

    # Email verification is mandatory: the link arrives by email (the demo prints it).
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    page.goto(confirmation_link("peter@initech.test"))
    page.locator("main form").get_by_role("button", name="Confirm").click()
    sign_in(page, "peter@initech.test")

    expect(page).to_have_url(re.compile(r"/app/$"))
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    expect(page.locator("main hgroup")).to_contain_text("Initech · Free tier")
    expect(page.locator(".tier-line")).to_contain_text("Free")
    customer = Customer.objects.get(name="Initech")
    subscription = active_subscription(customer)
    assert subscription is not None and subscription.plan == live_tiers["Free"]

    page.get_by_role("button", name="New key").click()
    page.get_by_label("Name").fill("production")
    # API Gateway takes a moment to issue the key, so the page shows it being issued first.
    control.add_fault("CreateApiKey", status=None, delay_seconds=2.0)
    page.get_by_role("button", name="Create key").click()

    expect(page.get_by_role("heading", name="production")).to_be_visible()
    status = page.locator("#key-status")
    expect(status.locator(".badge")).to_have_text("Pending")
    expect(status).to_contain_text("issuing your key…")
    expect(status).to_contain_text("The secret appears here, once")

    secret_box = page.locator("[data-testid=secret]")
    expect(secret_box).to_be_visible(timeout=SYNC_TIMEOUT_MS)
    secret = secret_box.inner_text().strip()
    expect(status.locator(".badge")).to_have_text("Synced")
    panel = page.locator("#secret-panel")
    expect(panel).to_contain_text("copy it now")
    expect(page.locator("#curl-line")).to_contain_text(f'curl -H "x-api-key: {secret}"')
    # One of the API's key-protected operations (the catalog exported it), not the stage root.
    expect(page.locator("#curl-line")).to_contain_text("/cities'")
    shot(page, "11-key-secret")

    key = ApiKey.objects.get(customer=customer)
    assert key.sync_status == SyncStatus.SYNCED
    assert secret == apigw.get_api_key(apiKey=key.aws_id, includeValue=True)["value"]
    assert key.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert key.display_prefix and secret.startswith(key.display_prefix)
    # The prefix people recognise the key by arrived with the status block, without a reload.
    expect(status).to_contain_text(f"Key {key.display_prefix}…")
    assert key.secret_revealed_at is not None
    assert rows_holding(secret) == [], "the secret itself must not be stored anywhere"
    plan_keys = apigw.get_usage_plan_keys(usagePlanId=live_tiers["Free"].aws_id)["items"]
    assert [k["id"] for k in plan_keys] == [key.aws_id]

    copy = panel.locator("button[data-copy='#secret-value']")
    copy.click()
    expect(copy).to_have_text("Copied ✓")
    assert page.evaluate("navigator.clipboard.readText()") == secret

    page.reload()
    expect(page.locator(".secret-gone")).to_contain_text("The secret was shown once")
    expect(page.locator("[data-testid=secret]")).to_have_count(0)
    assert secret not in page.content()
    shot(page, "12-key-after-reload")


def test_customer_renames_disables_switches_tier_and_revokes_a_key(
    worker: Any, live_tiers: dict[str, Plan], apigw: Any, settle: Any, page: Page
) -> None:
    free, premium = live_tiers["Free"], live_tiers["Premium"]
    alice = make_customer("alice@acme.test", "Acme")
    acme = Customer.objects.get(name="Acme")
    key = key_create(actor=alice, customer=acme, name="ci")
    settle()
    key.refresh_from_db()
    assert [k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=free.aws_id)["items"]] == [
        key.aws_id
    ]

    sign_in(page, "alice@acme.test")
    expect(page).to_have_url(re.compile(r"/app/$"))
    page.get_by_role("link", name="ci", exact=True).click()
    expect(page.get_by_role("heading", name="ci", exact=True)).to_be_visible()

    # Rename: the key's description in API Gateway follows.
    page.get_by_label("Key name").fill("ci-runner")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("status")).to_have_text("Key renamed.")
    expect(page.get_by_role("heading", name="ci-runner")).to_be_visible()
    wait_for_key_synced(page)
    key.refresh_from_db()
    assert key.name == "ci-runner"
    assert apigw.get_api_key(apiKey=key.aws_id)["description"] == "Acme: ci-runner"

    # Disable: API Gateway refuses the key.
    page.get_by_role("button", name="Disable key").click()
    expect(page.get_by_role("status")).to_contain_text("Key disabled")
    expect(page.locator("main hgroup .badge")).to_have_text("disabled")
    expect(page.get_by_role("button", name="Enable key")).to_be_visible()
    wait_for_key_synced(page)
    assert apigw.get_api_key(apiKey=key.aws_id)["enabled"] is False
    shot(page, "13-key-disabled")

    # Switch to Premium, confirming the dialog: the key moves to Premium's usage plan.
    page.get_by_role("navigation").get_by_role("link", name="Tier").click()
    expect(page.get_by_role("heading", name="Your tier")).to_be_visible()
    expect(page.locator(".tier-card.current")).to_contain_text("Free")
    shot(page, "14-tier-page")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Switch to Premium").click()
    expect(page).to_have_url(re.compile(r"/app/$"))
    expect(page.get_by_role("status")).to_contain_text("You are now on the Premium tier")
    expect(page.locator("main hgroup")).to_contain_text("Premium tier")
    page.get_by_role("link", name="ci-runner").click()
    wait_for_key_synced(page)
    subscription = active_subscription(acme)
    assert subscription is not None and subscription.plan == premium
    assert [k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=premium.aws_id)["items"]] == [
        key.aws_id
    ]
    assert apigw.get_usage_plan_keys(usagePlanId=free.aws_id)["items"] == []

    # Revoke, confirming the dialog: the key is deleted from API Gateway.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke key").click()
    expect(page).to_have_url(re.compile(r"/app/$"))
    expect(page.get_by_role("status")).to_contain_text("Key “ci-runner” revoked")
    expect(page.get_by_role("link", name="ci-runner")).to_have_count(0)
    shot(page, "15-keys-after-revoke")
    settle()
    key.refresh_from_db()
    assert key.is_revoked and key.sync_status == SyncStatus.SYNCED
    assert key.aws_id not in [k["id"] for k in apigw.get_api_keys()["items"]]
    assert apigw.get_usage_plan_keys(usagePlanId=premium.aws_id)["items"] == []


def test_a_customer_cannot_open_another_customers_key(
    worker: Any, live_tiers: dict[str, Plan], settle: Any, page: Page
) -> None:
    make_customer("alice@acme.test", "Acme")
    bob = make_customer("bob@globex.test", "Globex")
    bobs_key = key_create(
        actor=bob, customer=Customer.objects.get(name="Globex"), name="globex-prod"
    )
    settle()

    sign_in(page, "alice@acme.test")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("globex-prod")

    url = f"/app/keys/{bobs_key.public_id}/"
    response = page.goto(url)
    assert response is not None and response.status == 404
    assert "globex-prod" not in page.content()
    shot(page, "16-other-customers-key")

    # Nor its status, nor (with a valid CSRF token) can alice rename it.
    assert page.request.get(url + "status/").status == 404
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    renamed = page.request.post(
        url + "rename/", form={"name": "pwned"}, headers={"X-CSRFToken": csrf, "Referer": page.url}
    )
    assert renamed.status == 404
    bobs_key.refresh_from_db()
    assert bobs_key.name == "globex-prod"
