"""An owner invites a teammate, who signs up through the emailed link and works with keys but
cannot change the tier; the audit log shows it all."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from keys.models import ApiKey
from plans.models import Plan
from portal.audit.models import AuditEvent
from portal.customers.models import Membership
from tests.browser.conftest import (
    SYNC_TIMEOUT_MS,
    make_customer,
    shot,
    sign_in,
    wait_for_key_synced,
)
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration]

LINK = re.compile(r"https?://[^/\s]+(/invitations/[-\w]+/)")


def invitation_path(email: str) -> str:
    sent = [m for m in mail.outbox if email in m.to and "invited you" in m.subject]
    assert sent, [m.subject for m in mail.outbox]
    found = LINK.search(str(sent[-1].body))
    assert found is not None, sent[-1].body
    return found.group(1)


def test_owner_invites_a_member_who_signs_up_through_the_link(
    worker: Any,
    live_tiers: dict[str, Plan],
    page: Page,
    browser: Browser,
    live_server: Any,
    apigw: Any,
) -> None:
    make_customer("olivia@umbrella.test", "Umbrella")
    sign_in(page, "olivia@umbrella.test")
    page.goto("/app/members/")
    invite = page.locator("#invite form")
    invite.locator("input[name=email]").fill("max@umbrella.test")
    invite.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".flash-success")).to_contain_text("Invitation sent to max@umbrella.test")
    row = page.locator("#invitations tbody tr").first
    expect(row).to_contain_text("max@umbrella.test")
    expect(row).to_contain_text("olivia@umbrella.test")
    expect(row).to_contain_text("pending")
    shot(page, "teams-01-owner-invited")

    # The invitee, in a browser of their own, follows the emailed link.
    invitee = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    max_page = invitee.new_page()
    max_page.goto(invitation_path("max@umbrella.test"))
    expect(max_page).to_have_url(re.compile(r"/invitation/$"))  # the token left the address bar
    expect(max_page.locator("#invitation")).to_contain_text(
        "olivia@umbrella.test invited max@umbrella.test to join Umbrella as member"
    )
    shot(max_page, "teams-02-invitation-phone")
    max_page.get_by_role("button", name="Create your account").click()
    form = max_page.locator("main form")
    expect(form.locator("input[name=organisation]")).to_have_count(0)
    expect(form.locator("input[name=email]")).to_have_value("max@umbrella.test")
    form.locator("input[name=password1]").fill(PASSWORD)
    form.locator("input[name=password2]").fill(PASSWORD)
    form.get_by_role("button", name="Create account").click()
    expect(max_page).to_have_url(re.compile(r"/app/$"))  # no confirmation email: the link was one
    expect(max_page.locator(".who")).to_contain_text("member · Umbrella")

    # A member creates a key, and it reaches AWS...
    max_page.goto("/app/keys/new/")
    max_page.locator("main form input[name=name]").fill("max-laptop")
    max_page.locator("main form").get_by_role("button", name="Create key").click()
    wait_for_key_synced(max_page)
    key = ApiKey.objects.get(name="max-laptop")
    assert key.created_by is not None and key.created_by.email == "max@umbrella.test"
    assert apigw.get_api_key(apiKey=key.aws_id)["name"]

    # ...but the tier is the owner's: no switch buttons, and a forged POST is refused.
    max_page.goto("/app/tier/")
    expect(max_page.locator("main")).to_contain_text("Only an owner of Umbrella")
    shot(max_page, "teams-03-member-tier-phone")
    csrf = next(c["value"] for c in invitee.cookies() if c["name"] == "csrftoken")
    response = max_page.request.post(
        "/app/tier/switch/",
        form={"plan": "premium"},
        headers={"X-CSRFToken": csrf, "Referer": live_server.url + "/app/tier/"},
    )
    assert response.status == 403
    assert "Only an owner of Umbrella" in response.text()  # the policy's refusal, not CSRF's
    assert Membership.objects.get(user__email="max@umbrella.test").role == "member"
    invitee.close()

    # The owner sees max in, the invitation accepted, and the audit log tells the story.
    page.goto("/app/members/")
    expect(page.locator("#members")).to_contain_text("max@umbrella.test")
    expect(page.locator("#invitations")).to_contain_text("accepted")
    page.goto("/app/audit/")
    for action in ("invitation.created", "invitation.accepted", "membership.created"):
        expect(page.locator("main")).to_contain_text(action, timeout=SYNC_TIMEOUT_MS)
    shot(page, "teams-04-owner-audit")
    assert AuditEvent.objects.filter(action="key.created", actor__email="max@umbrella.test")
