"""An admin adds an AWS connection through a role in another account; the worker checks it and
the page shows the account it found, then what a refused read is missing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from localaws.demo_estate import ensure_partner_role
from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl
from portal.accounts.models import StaffRole
from portal.aws.clients import reset_clients
from portal.connections.models import AwsConnection
from tests.browser.conftest import SYNC_TIMEOUT_MS, shot, sign_in
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PARTNER_ROLE = "arn:aws:iam::222222222222:role/TollgateAccess"


def test_admin_adds_a_connection_and_checks_it(
    worker: Any, local_aws: LocalAwsServer, control: LocalAwsControl, page: Page
) -> None:
    ensure_partner_role(local_aws.endpoint_url)
    reset_clients()
    make_user("admin@tollgate.test", StaffRole.ADMIN)
    sign_in(page, "admin@tollgate.test")

    page.get_by_role("navigation").get_by_role("link", name="AWS connections").click()
    expect(page).to_have_url(re.compile(r"/console/connections/$"))
    expect(page.get_by_role("row").filter(has_text="Default")).to_be_visible()
    page.get_by_role("button", name="Add a connection").click()
    page.get_by_label("Name").fill("Partner")
    page.get_by_label("Role to assume (ARN)").fill(PARTNER_ROLE)
    page.get_by_label("External id").fill("tollgate-partner")
    page.get_by_label("Regions").fill("us-east-1, eu-west-1")
    page.get_by_role("button", name="Add and check").click()

    expect(page.get_by_role("status")).to_contain_text("Connection “Partner” added")
    report = page.locator("#connection-report")
    expect(report.get_by_test_id("check-status")).to_have_text("ready", timeout=SYNC_TIMEOUT_MS)
    expect(report.get_by_test_id("account-id")).to_have_text("222222222222")
    shot(page, "connection-ready")

    # The role loses apigateway:GET on /usageplans in the first region: Check now says so.
    control.add_fault("GetUsagePlans", status=403, code="AccessDeniedException")
    page.get_by_role("button", name="Check now").click()
    expect(report.get_by_test_id("check-status")).to_have_text(
        "permissions missing", timeout=SYNC_TIMEOUT_MS
    )
    expect(report.get_by_test_id("check-missing")).to_have_text(
        "missing apigateway:GET on /usageplans in us-east-1 "
        "(needed to keep tiers in step with their usage plans)"
    )
    shot(page, "connection-missing")
    assert AwsConnection.objects.get(name="Partner").account_id == "222222222222"
    control.clear_faults()
