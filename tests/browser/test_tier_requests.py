"""A customer's owner asks for the approval-only Enterprise tier, an admin approves it in the
console, and the worker moves the customer's keys to Enterprise's usage plan in the local AWS; the
console's audit page shows the request and the approval. The new pages fit a 390 × 844 phone and
keep the Content-Security-Policy (tests/browser/test_phone_layout.py's Tour checks both)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from keys.models import ApiKey
from keys.services import key_create
from plans.models import ApiStage, Plan, TierRequest, TierRequestState
from plans.services import plan_create
from portal.accounts.models import StaffRole, User
from portal.customers.models import Customer
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, SYNC_TIMEOUT_MS, make_customer, shot, sign_in
from tests.browser.test_phone_layout import DESKTOP, PHONE, Tour
from tests.conftest import ENTERPRISE, make_user, wait_until
from tests.fixtures.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def sized(browser: Browser, live_server: Any) -> Iterator[Any]:
    """A Tour (size and CSP checks, screenshots) in a browser context of its own per person."""
    contexts: list[BrowserContext] = []

    def start(size: str) -> Tour:
        phone = size == "phone"
        context = browser.new_context(
            base_url=live_server.url,
            viewport=PHONE if phone else DESKTOP,
            is_mobile=phone,
            has_touch=phone,
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return Tour(context, size)

    yield start
    for context in contexts:
        context.close()


def sign_in_staff(page: Page, user: User) -> None:
    """Password, then (staff must use MFA) the authenticator app's code."""
    sign_in(page, user.email)
    if "/2fa/" in page.url:
        page.get_by_label("Authenticator code").fill(totp_code(user))
        page.locator("#mfa-code-form").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/$"))


def plan_key_ids(apigw: Any, plan: Plan) -> list[str]:
    return [k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=plan.aws_id)["items"]]


def test_an_owner_requests_enterprise_and_an_admin_approves_it(
    worker: Any,
    live_stage: ApiStage,
    live_tiers: dict[str, Plan],
    apigw: Any,
    settle: Any,
    sized: Any,
) -> None:
    enterprise = plan_create(actor=None, data=dict(ENTERPRISE), stages=[live_stage])
    alice = make_customer("alice@acme.test", "Acme")
    acme = Customer.objects.get(name="Acme")
    admin = make_user("admin@tollgate.test", StaffRole.ADMIN)
    key = key_create(actor=alice, customer=acme, name="production")
    settle()
    key.refresh_from_db()
    enterprise.refresh_from_db()
    free = live_tiers["Free"]
    assert plan_key_ids(apigw, free) == [key.aws_id]
    assert plan_key_ids(apigw, enterprise) == []

    # --- the owner asks, on a phone ---------------------------------------------------------
    customer = sized("phone")
    page = customer.page
    sign_in(page, "alice@acme.test")
    page = customer.visit("tier-request-before", "/app/tier/")
    card = page.locator(".tier-card").filter(has_text="Enterprise")
    expect(card).to_contain_text("Needs approval.")
    card.get_by_role("button", name="Request access").click()
    expect(page.get_by_role("heading", name="Request the Enterprise tier")).to_be_visible()
    page.get_by_label("Message for the admins").fill(
        "We launch in March and expect about two million calls a month."
    )
    customer.check("tier-request-form")
    page.get_by_role("button", name="Send request").click()

    expect(page).to_have_url(re.compile(r"/app/tier/$"))
    expect(page.get_by_role("status")).to_contain_text("Request for the Enterprise tier sent")
    state = page.get_by_test_id("tier-request")
    expect(state).to_contain_text("Your request for the Enterprise tier is waiting for approval.")
    expect(card).to_contain_text("Requested · waiting for approval")
    customer.check("tier-request-pending")
    # Nothing moved: only an approval changes AWS.
    assert plan_key_ids(apigw, free) == [key.aws_id]
    request = TierRequest.objects.get()
    assert request.state == TierRequestState.PENDING

    # Staff see the queue on a phone too (the reject form wraps under the message).
    staff_phone = sized("phone")
    sign_in_staff(staff_phone.page, admin)
    staff_phone.visit("console-tier-requests", "/console/tier-requests/")
    staff_phone.assert_clean()

    # --- the admin approves, on a desktop ---------------------------------------------------
    console = sized("desktop")
    page = console.page
    sign_in_staff(page, admin)
    nav = page.locator("#site-nav")
    expect(nav.get_by_test_id("pending-tier-requests")).to_have_text("1")
    nav.get_by_role("link", name=re.compile(r"^Tier requests")).click()
    expect(page).to_have_url(re.compile(r"/console/tier-requests/$"))
    entry = page.get_by_test_id(f"tier-request-{request.pk}")
    expect(entry).to_contain_text("Acme asks for Enterprise")
    expect(entry).to_contain_text("two million calls a month")
    expect(entry).to_contain_text("On Free now")
    console.check("console-tier-requests")
    page.once("dialog", lambda dialog: dialog.accept())
    entry.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved: Acme is on Enterprise")
    expect(page.locator("main")).to_contain_text("No pending tier requests.")
    expect(nav.get_by_test_id("pending-tier-requests")).to_have_count(0)
    console.check("console-tier-requests-approved")

    # The worker moves the key to Enterprise's usage plan in AWS.
    wait_until(
        lambda: plan_key_ids(apigw, enterprise) == [key.aws_id],
        SYNC_TIMEOUT_MS / 1000,
        "the key to move to Enterprise's usage plan",
    )
    assert plan_key_ids(apigw, free) == []
    settle()
    assert ApiKey.objects.get(pk=key.pk).sync_status == "synced"

    # The audit page shows the request and the approval (and the subscription it started).
    page = console.visit("console-audit-tier-request", "/console/audit/")
    events = page.locator("main table")
    for action in ("tier_request.created", "tier_request.approved", "subscription.started"):
        expect(events).to_contain_text(action)
    expect(events).to_contain_text("Acme asks for Enterprise")
    console.assert_clean()

    # --- the owner sees it, and leaving Enterprise asks first --------------------------------
    page = customer.visit("tier-request-approved", "/app/tier/")
    expect(page.get_by_test_id("tier-request")).to_contain_text(
        "Your request for the Enterprise tier was approved"
    )
    expect(page.locator(".tier-card.current")).to_contain_text("Enterprise")
    free_card = page.locator(".tier-card").filter(has_text="Free")
    expect(free_card).to_contain_text("Coming back to Enterprise needs approval again.")
    free_card.get_by_role("button", name="Switch to Free").click()
    expect(page.get_by_test_id("leave-warning")).to_contain_text(
        "Coming back to Enterprise needs approval again."
    )
    customer.check("tier-leave-confirm")
    page.get_by_role("link", name="Stay on Enterprise").click()
    expect(page).to_have_url(re.compile(r"/app/tier/$"))
    customer.assert_clean()
    assert plan_key_ids(apigw, enterprise) == [key.aws_id]

    # The same pages at desktop size, for the screenshots.
    desktop = sized("desktop")
    sign_in(desktop.page, "alice@acme.test")
    desktop.visit("tier-request-approved", "/app/tier/")
    desktop.assert_clean()
    shot(desktop.page, "desktop-tier-request-approved")
