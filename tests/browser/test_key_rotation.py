"""A customer rolls a key from its page with a 1 hour grace period: both keys are listed and
linked, the old one with its time left, and the new secret is shown once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from keys.models import ApiKey
from keys.services import key_create
from plans.models import Plan
from portal.customers.models import Customer
from tests.browser.conftest import SYNC_TIMEOUT_MS, make_customer, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_a_customer_rolls_a_key_with_an_hour_of_overlap(
    worker: Any, live_tiers: dict[str, Plan], apigw: Any, settle: Any, page: Page
) -> None:
    alice = make_customer("alice@acme.test", "Acme")
    acme = Customer.objects.get(name="Acme")
    old = key_create(actor=alice, customer=acme, name="production")
    settle()
    ApiKey.objects.filter(pk=old.pk).update(secret_revealed_at=timezone.now())

    sign_in(page, "alice@acme.test")
    page.goto(f"/app/keys/{old.public_id}/")
    roll = page.locator("#roll")
    roll.get_by_label("Grace period").select_option("1h")
    roll.get_by_role("button", name="Roll key").click()

    # The new key's page: rotated from the old one, its secret shown once.
    new = ApiKey.objects.get(rotated_from=old)
    expect(page).to_have_url(re.compile(rf"/app/keys/{new.public_id}/$"))
    expect(page.get_by_role("status")).to_contain_text("keeps working until its grace period")
    expect(page.locator("#key-rotation")).to_contain_text("Rotated from production")
    secret_box = page.locator("[data-testid=secret]")
    expect(secret_box).to_be_visible(timeout=SYNC_TIMEOUT_MS)
    secret = secret_box.inner_text().strip()
    new.refresh_from_db()
    assert secret == apigw.get_api_key(apiKey=new.aws_id, includeValue=True)["value"]
    shot(page, "rotation-01-new-key-secret")

    # Both keys are listed and linked; the old one says until when it works.
    page.goto("/app/")
    table = page.locator("#key-table")
    expect(table.get_by_role("link", name="production", exact=True).first).to_be_visible()
    expect(table.get_by_role("link", name=new.name).first).to_be_visible()
    expect(table).to_contain_text(f"replaced by {new.name}, works until")
    expect(table).to_contain_text("left)")
    expect(table).to_contain_text("rotated from production")
    shot(page, "rotation-02-key-list")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "rotation-03-key-list-phone")

    # The old key's page links to the new one, with the time left; the secret is not shown again.
    page.goto(f"/app/keys/{old.public_id}/")
    expect(page.locator("#key-rotation")).to_contain_text(f"Replaced by {new.name}")
    expect(page.locator("#key-rotation")).to_contain_text("left), then it is deleted")
    expect(page.locator("#roll")).to_have_count(0)
    shot(page, "rotation-04-old-key-phone")
    page.goto(f"/app/keys/{new.public_id}/")
    expect(page.locator("[data-testid=secret]")).to_have_count(0)
    assert secret not in page.content()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/app/keys/{old.public_id}/")
    shot(page, "rotation-05-old-key-desktop")
    old.refresh_from_db()
    assert not old.is_revoked and old.grace_ends_at is not None
