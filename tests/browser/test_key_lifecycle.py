"""The key list and key page with 30-day sparklines, an expiring key, an expired one and an idle
one, on a desktop and a 390 × 844 phone: nothing scrolls sideways, no CSP violation (the
sparklines are server-drawn SVG, no script, no style attribute), screenshots in $SCREENSHOT_DIR
(``desktop-key-lifecycle-*.png``, ``phone-key-lifecycle-*.png``)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from keys.models import ApiKey
from keys.services import key_create
from plans.models import Plan
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.usage.models import UsageDay
from tests.browser import test_phone_layout
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

# The phone tour's fixture: the same CSP listener, width check and screenshots.
tour = test_phone_layout.tour


@pytest.fixture
def lifecycle_keys(
    sent_tasks: list[Any], alice: User, acme: Customer, tiers: dict[str, Plan]
) -> dict[str, ApiKey]:
    now = timezone.now()
    today = now.date()
    busy = key_create(actor=alice, customer=acme, name="production")
    expiring = key_create(
        actor=alice,
        customer=acme,
        name="partner-integration-sandbox",
        expires_at=now + datetime.timedelta(days=5, hours=2),
    )
    expired = key_create(actor=alice, customer=acme, name="old-ci")
    idle = key_create(actor=alice, customer=acme, name="legacy-mobile-app")
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=now - datetime.timedelta(days=2))
    ApiKey.objects.filter(pk=idle.pk).update(created_at=now - datetime.timedelta(days=200))
    for n, key in enumerate((busy, expiring, expired, idle)):
        ApiKey.objects.filter(pk=key.pk).update(display_prefix=f"tgk{n}Xa9")
    rows = []
    for d in range(30):
        day = today - datetime.timedelta(days=d)
        rows.append(
            UsageDay(key=busy, plan=tiers["Free"], date=day, used=300 + (d * 37) % 250, remaining=0)
        )
        if d % 4 == 0:
            rows.append(
                UsageDay(key=expiring, plan=tiers["Free"], date=day, used=40 + d, remaining=0)
            )
        if d > 2:
            rows.append(UsageDay(key=expired, plan=tiers["Free"], date=day, used=90, remaining=0))
    UsageDay.objects.bulk_create(rows)
    ApiKey.objects.filter(pk=busy.pk).update(last_used_on=today)
    ApiKey.objects.filter(pk=expiring.pk).update(last_used_on=today)
    ApiKey.objects.filter(pk=expired.pk).update(last_used_on=today - datetime.timedelta(days=3))
    return {"busy": busy, "expiring": expiring, "expired": expired, "idle": idle}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_key_list_and_page_with_sparklines_and_expiry(
    lifecycle_keys: dict[str, ApiKey], alice: User, tour: Any, size: str
) -> None:
    visit = tour(size)
    sign_in(visit.page, alice.email)
    page = visit.visit("key-lifecycle-list", "/app/")
    rows = page.locator("#key-table tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("svg.sparkline")).to_have_count(4)
    expiring = rows.filter(has_text="partner-integration-sandbox")
    expect(expiring.locator(".expiry-soon")).to_have_text("in 5\xa0days")
    expect(rows.filter(has_text="old-ci").locator(".badge-state-expired")).to_have_text("expired")
    expect(rows.filter(has_text="legacy-mobile-app").locator(".badge-state-idle")).to_be_visible()
    expect(rows.filter(has_text="legacy-mobile-app")).to_contain_text("never used")
    # The bars are drawn: the busiest key has one per day.
    assert rows.filter(has_text="production").locator("svg.sparkline rect").count() == 30

    page = visit.visit(
        "key-lifecycle-expiring", f"/app/keys/{lifecycle_keys['expiring'].public_id}/"
    )
    expect(page.locator("#key-expiry")).to_contain_text("Expires in 5\xa0days")
    expect(page.locator("#key-traffic svg.sparkline")).to_be_visible()
    expect(page.locator("#expiry input[name=expires_at]")).to_be_visible()
    page = visit.visit("key-lifecycle-expired", f"/app/keys/{lifecycle_keys['expired'].public_id}/")
    expect(page.locator("#key-expiry")).to_contain_text("Expired")
    visit.assert_clean()
