"""An admin manages tiers in the console; the worker turns them into API Gateway usage plans."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from localaws.testing import LocalAwsControl
from plans.models import ApiStage, Plan
from portal.accounts.models import StaffRole
from portal.sync import SyncStatus
from tests.browser.conftest import SYNC_TIMEOUT_MS, shot, sign_in
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def stage_label(stage: ApiStage) -> str:
    return f"{stage.api_name} · {stage.stage_name} in {stage.where} ({stage.rest_api_id})"


def open_new_tier_form(page: Page) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Tiers").click()
    expect(page).to_have_url(re.compile(r"/console/tiers/$"))
    page.get_by_role("button", name="New tier").click()
    expect(page.get_by_role("heading", name="New tier")).to_be_visible()


def test_admin_creates_a_tier(
    worker: Any, live_stage: ApiStage, apigw: Any, control: LocalAwsControl, page: Page
) -> None:
    make_user("admin@tollgate.test", StaffRole.ADMIN)
    sign_in(page, "admin@tollgate.test")
    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    open_new_tier_form(page)
    page.get_by_label("Name").fill("Startup")
    page.get_by_label("Description").fill("For small teams shipping their first product")
    page.get_by_label("Rate (requests per second)").fill("12.5")
    page.get_by_label("Burst (requests)").fill("40")
    page.get_by_label("Quota (requests)").fill("25000")
    page.get_by_label("Quota period").select_option("WEEK")
    page.get_by_label("Monthly price").fill("19")
    page.get_by_label(stage_label(live_stage)).check()
    shot(page, "01-tier-form")

    # API Gateway answers slowly, so the list shows the tier while it is still being sent.
    control.add_fault("CreateUsagePlan", status=None, delay_seconds=3.0)
    page.get_by_role("button", name="Create tier").click()

    expect(page).to_have_url(re.compile(r"/console/tiers/$"))
    expect(page.get_by_role("status")).to_contain_text("Tier “Startup” created")
    plan = Plan.objects.get(name="Startup")
    row = page.get_by_role("row").filter(has_text="Startup")
    badge = row.locator(f"#sync-tier-{plan.pk} .badge")
    expect(badge).to_have_text("Pending")
    shot(page, "02-tiers-pending")
    page.evaluate("window.__sameDocument = true")

    expect(badge).to_have_text("Synced", timeout=SYNC_TIMEOUT_MS)
    # htmx swapped the badge in place: the page was never reloaded.
    assert page.evaluate("window.__sameDocument") is True
    expect(row).to_contain_text("12.5 req/s, burst 40")
    expect(row).to_contain_text("25,000 requests per week")
    # The archive action is a red link: readable, not red text on a red button.
    archive = row.get_by_role("button", name="Archive")
    expect(archive).to_be_visible()
    expect(archive).to_have_css("background-color", "rgba(0, 0, 0, 0)")
    shot(page, "03-tiers-synced")

    plan.refresh_from_db()
    assert plan.sync_status == SyncStatus.SYNCED
    assert plan.aws_id
    # Only the badge polls; a fresh load also shows the usage plan id.
    page.reload()
    expect(row).to_contain_text(plan.aws_id)
    assert list(plan.stages.all()) == [live_stage]
    usage_plans = [p for p in apigw.get_usage_plans()["items"] if p["name"] == "Startup"]
    assert len(usage_plans) == 1
    usage_plan = usage_plans[0]
    assert usage_plan["id"] == plan.aws_id
    assert usage_plan["description"] == "For small teams shipping their first product"
    assert usage_plan["throttle"] == {"rateLimit": 12.5, "burstLimit": 40}
    assert usage_plan["quota"] == {"limit": 25000, "period": "WEEK", "offset": 0}
    assert usage_plan["apiStages"] == [
        {"apiId": live_stage.rest_api_id, "stage": live_stage.stage_name}
    ]


def test_admin_sees_clear_messages_for_bad_tier_input(
    worker: Any, live_stage: ApiStage, apigw: Any, page: Page
) -> None:
    make_user("admin@tollgate.test", StaffRole.ADMIN)
    sign_in(page, "admin@tollgate.test")
    open_new_tier_form(page)

    def error_for(field: str) -> Any:
        return page.locator(f"small.error-text[data-field={field}]")

    # A burst above API Gateway's account limit, and a quota without its period.
    page.get_by_label("Name").fill("Too big")
    page.get_by_label("Rate (requests per second)").fill("100")
    page.get_by_label("Burst (requests)").fill("6000")
    page.get_by_label("Quota (requests)").fill("1000")
    page.get_by_label(stage_label(live_stage)).check()
    page.get_by_role("button", name="Create tier").click()

    expect(page.get_by_role("heading", name="New tier")).to_be_visible()
    expect(error_for("throttle_burst")).to_have_text(
        "API Gateway allows a burst of at most 5,000 requests."
    )
    expect(error_for("quota_period")).to_have_text(
        "Set both the quota and its period, or leave both empty for no quota."
    )
    # What the admin typed is kept.
    expect(page.get_by_label("Name")).to_have_value("Too big")
    expect(page.get_by_label("Burst (requests)")).to_have_value("6000")
    shot(page, "04-tier-form-errors-burst")

    # A rate without a burst, and a rate above the account limit in a second attempt.
    page.get_by_label("Rate (requests per second)").fill("20")
    page.get_by_label("Burst (requests)").fill("")
    page.get_by_label("Quota (requests)").fill("")
    page.get_by_role("button", name="Create tier").click()
    expect(error_for("throttle_burst")).to_have_text(
        "Set both the rate and the burst, or leave both empty for no throttle."
    )
    expect(error_for("quota_period")).to_have_count(0)

    page.get_by_label("Rate (requests per second)").fill("20000")
    page.get_by_label("Burst (requests)").fill("10")
    page.get_by_label("Quota (requests)").fill("500")
    page.get_by_label("Quota period").select_option("DAY")
    page.get_by_label("First-period offset (requests)").fill("500")
    page.get_by_role("button", name="Create tier").click()
    expect(error_for("throttle_rate")).to_have_text(
        "API Gateway allows at most 10,000 requests per second per account."
    )
    expect(error_for("throttle_burst")).to_have_count(0)
    shot(page, "05-tier-form-errors-rate")

    page.get_by_label("Rate (requests per second)").fill("20")
    page.get_by_role("button", name="Create tier").click()
    expect(error_for("quota_offset")).to_have_text(
        "The offset must be smaller than the quota, or the first period allows nothing."
    )

    # Nothing was created, here or in AWS.
    assert not Plan.objects.exists()
    assert apigw.get_usage_plans()["items"] == []
