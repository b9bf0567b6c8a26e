"""The capacity page fits a 390 px phone: cards stack, figures wrap, nothing scrolls sideways."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from keys.models import ApiKey
from plans.models import Plan
from portal.accounts.models import User
from portal.connections.models import AwsConnection
from portal.connections.services import connection_default
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, shot, sign_in

pytestmark = pytest.mark.browser


def test_the_capacity_page_fits_a_phone(
    browser: Browser,
    live_server: Any,
    ops: User,
    tiers: dict[str, Plan],
    acme_key: ApiKey,
    sent_tasks: list[Any],
    settings: Any,
) -> None:
    connection_default()
    AwsConnection.objects.create(
        name="Partner account with a rather long name for Europe",
        role_arn="arn:aws:iam::222222222222:role/TollgateAccess",
        regions=["eu-west-1", "ap-southeast-2"],
        account_id="222222222222",
        check_report={"account_throttle": {"eu-west-1": {"rateLimit": 2.0, "burstLimit": 4}}},
    )
    settings.TOLLGATE = {**settings.TOLLGATE, "AWS_CAPS": {"api_keys": 1}}  # a warning shows
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, ops.email)
        page.goto("/console/capacity/")
        expect(page.locator("[data-testid=capacity-place]")).to_have_count(3)
        expect(page.locator("[data-testid=capacity-warnings]")).to_contain_text("API keys")
        width = page.evaluate("document.documentElement.scrollWidth")
        shot(page, "phone-capacity")
        assert width <= 390, f"the capacity page is {width}px wide on a 390px phone"
    finally:
        context.close()
