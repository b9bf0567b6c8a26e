"""A customer reads their usage: quota bars, forecast and the daily chart drawn by Chart.js from
figures collected from the local API Gateway; an admin grants a key extra quota in the console."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from keys.models import ApiKey
from keys.services import key_create
from localaws.testing import LocalAwsControl
from plans.models import Plan
from plans.services import subscription_switch
from portal.accounts.models import StaffRole, User
from portal.customers.models import Customer
from portal.usage.services import collect_usage
from tests.browser.conftest import make_customer, shot, sign_in
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration]

DAILY = {"production": 3_400, "staging": 450, "nightly-batch": 0}


@pytest.fixture
def initech_with_usage(
    worker: Any, live_tiers: dict[str, Plan], settle: Any, control: LocalAwsControl
) -> Customer:
    """Initech on Premium (100,000 a month): three keys with 30 days of traffic, collected."""
    owner: User = make_customer("peter@initech.test", "Initech")
    customer = Customer.objects.get(name="Initech")
    subscription_switch(actor=None, customer=customer, plan=live_tiers["Premium"], by_staff=True)
    for name in DAILY:
        key_create(actor=owner, customer=customer, name=name)
    settle()
    today = timezone.now().date()
    items = []
    for key in ApiKey.objects.filter(customer=customer):
        for n in range(30):
            day = today - datetime.timedelta(days=n)
            used = DAILY[key.name] + (n * 37) % 300 if DAILY[key.name] else 0
            if key.name == "nightly-batch" and day.weekday() == 6:
                used = 2_500  # a weekly job on Sundays
            items.append(
                {
                    "usagePlanId": live_tiers["Premium"].aws_id,
                    "keyId": key.aws_id,
                    "date": day.isoformat(),
                    "used": used,
                }
            )
    control.set_usage_bulk(items)
    collect_usage(backfill_days=30)
    return customer


def test_the_customer_sees_bars_forecast_and_the_daily_chart(
    initech_with_usage: Customer, page: Page
) -> None:
    sign_in(page, "peter@initech.test")
    page.get_by_role("navigation").get_by_role("link", name="Usage").click()
    expect(page).to_have_url(re.compile(r"/app/usage/$"))
    expect(page.get_by_role("heading", name="Usage")).to_be_visible()

    cards = page.locator("[data-testid=usage-key]")
    expect(cards).to_have_count(3)
    production = cards.filter(has_text="production")
    expect(production.get_by_role("progressbar")).to_be_visible()
    expect(production).to_contain_text("of 100,000 requests")
    expect(production).to_contain_text("resets")
    expect(production).to_contain_text("At the pace of the last 7 complete days")

    canvas = page.locator("canvas#usage-chart")
    expect(canvas).to_be_visible()
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length > 0")
    assert page.evaluate("Object.keys(Chart.instances).length") > 0
    chart = page.evaluate(
        """() => {
            const chart = Object.values(Chart.instances)[0];
            return {
                labels: chart.data.labels.length,
                keys: chart.data.datasets.map((d) => d.label).sort(),
                stacked: chart.options.scales.y.stacked,
                yTitle: chart.options.scales.y.title.text,
                total: chart.data.datasets.reduce((s, d) => s + d.data.reduce((a, b) => a + b, 0), 0),
            };
        }"""
    )
    assert chart["labels"] == 30
    assert chart["keys"] == ["nightly-batch", "production", "staging"]
    assert chart["stacked"] is True
    assert chart["yTitle"] == "Requests"
    assert chart["total"] > 30 * 3_400
    box = canvas.bounding_box()
    assert box is not None and box["height"] > 200

    # A tooltip names the day, each key's figure and the total.
    canvas.hover(position={"x": box["width"] - 30, "y": box["height"] / 2})
    shot(page, "40-customer-usage")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "40-customer-usage-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_text("The same numbers as a table").click()
    expect(page.locator(".usage-table table")).to_be_visible()
    expect(page.locator(".usage-table tbody tr")).to_have_count(30)

    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Download CSV")).click()
    assert re.fullmatch(r"usage-initech-\d{4}-\d{2}-\d{2}\.csv", download.value.suggested_filename)


def test_an_admin_grants_extra_quota_from_the_console(
    initech_with_usage: Customer, page: Page, live_tiers: dict[str, Plan], apigw: Any
) -> None:
    make_user("admin@tollgate.test", StaffRole.ADMIN)
    sign_in(page, "admin@tollgate.test")
    page.goto(f"/console/customers/{initech_with_usage.pk}/")
    page.get_by_role("button", name="Usage and extra quota").click()
    expect(page.get_by_role("heading", name="Usage of Initech")).to_be_visible()
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length > 0")

    production = page.locator("[data-testid=usage-key]").filter(has_text="production")
    production.get_by_label("Extra requests for production").fill("20000")
    production.get_by_role("button", name="Grant extra quota").click()

    expect(page.get_by_role("status")).to_contain_text("Key “production” may make")
    expect(page.get_by_role("status")).to_contain_text("00:00 UTC")
    key = ApiKey.objects.get(customer=initech_with_usage, name="production")
    today = timezone.now().date().isoformat()
    usage = apigw.get_usage(
        usagePlanId=live_tiers["Premium"].aws_id, keyId=key.aws_id, startDate=today, endDate=today
    )
    used, remaining = usage["items"][key.aws_id][0]
    assert remaining >= 20_000
    shot(page, "41-console-usage-grant")
