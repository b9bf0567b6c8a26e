"""Ops open the metrics page: Chart.js draws the CloudWatch series the simulator published."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from demo.simulator import simulate
from localaws.testing import LocalAwsControl
from plans.models import Plan
from portal.accounts.models import StaffRole
from tests.browser.conftest import shot, sign_in
from tests.conftest import make_user
from tests.fixtures.traffic import make_traffic_customers

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_ops_see_charts_tables_and_the_honest_note(
    live_tiers: dict[str, Plan],
    settle: Callable[..., None],
    control: LocalAwsControl,
    page: Page,
) -> None:
    traffic = make_traffic_customers(live_tiers, settle)
    simulate(days=30, seed=4, force_over_quota=[traffic.keys["Initech/billing"].pk])
    cache.clear()
    make_user("ops@tollgate.test", StaffRole.OPS)
    sign_in(page, "ops@tollgate.test")

    page.get_by_role("navigation").get_by_role("link", name="Metrics").click()
    expect(page).to_have_url(re.compile(r"/console/metrics/$"))
    expect(page.get_by_role("heading", name="Metrics", exact=True)).to_be_visible()
    expect(page.locator("canvas[data-ops-chart]")).to_have_count(4)
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 4")
    assert page.evaluate("Object.keys(Chart.instances).length") == 4
    points = page.evaluate(
        "Object.values(Chart.instances).find(c => c.canvas.dataset.opsChart === 'requests')"
        ".data.datasets[0].data.filter(v => v > 0).length"
    )
    assert points > 200  # 24 h of 5-minute periods
    expect(page.locator("#metrics-note")).to_contain_text(
        "CloudWatch counts throttled requests (HTTP 429) inside 4XXError"
    )
    top = page.locator("section").filter(
        has=page.get_by_role("heading", name="Top customers this month")
    )
    expect(top.get_by_role("link", name="Initech")).to_be_visible()
    shot(page, "ops-metrics-24h")

    # The local CloudWatch scans every stored datapoint for each of the 720 hours: allow it time.
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name="30 days").click(no_wait_after=True)
    expect(page).to_have_url(re.compile(r"range=30d"))
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 4")
    page.get_by_text("The same numbers as a table").click()
    expect(page.locator("#metrics-table tbody tr")).to_have_count(720)
    shot(page, "ops-metrics-30d")
    assert len(control.calls("GetMetricData")) == 2
