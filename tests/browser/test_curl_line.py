"""The `curl` line shown with a new key's secret works as shown: copied with the page's Copy
button, run as it is, it reaches the stage through its custom domain and gets 200."""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from localaws.server import LocalAwsServer
from plans.models import ApiStage, Plan
from tests.browser.conftest import SYNC_TIMEOUT_MS, make_customer, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def demo_domain_url(settings: Any, local_aws: LocalAwsServer) -> None:
    """What `make demo` sets: the custom domain is served over plain HTTP on the local AWS port
    (`*.localhost` names resolve to this machine in curl and Chromium)."""
    port = local_aws.endpoint_url.rsplit(":", 1)[1]
    settings.TOLLGATE = {**settings.TOLLGATE, "CUSTOM_DOMAIN_URL": f"http://{{domain}}:{port}"}


def test_the_copied_curl_line_returns_200(
    worker: Any,
    live_tiers: dict[str, Plan],
    live_stage: ApiStage,
    demo_domain_url: None,
    page: Page,
) -> None:
    assert live_stage.custom_domain == "api.tollgate.localhost"
    make_customer("peter@initech.test", "Initech")
    sign_in(page, "peter@initech.test")
    page.get_by_role("button", name="New key").click()
    page.get_by_label("Name").fill("production")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("[data-testid=secret]")).to_be_visible(timeout=SYNC_TIMEOUT_MS)

    page.locator('[data-copy="#curl-line"]').click()
    copied = page.evaluate("navigator.clipboard.readText()")
    shot(page, "15-curl-line")

    assert copied.startswith("curl ") and "http://api.tollgate.localhost:" in copied
    # Run exactly what was copied; only ask curl to print the status code as well.
    command = [*shlex.split(copied), "--silent", "--show-error", "--write-out", "\n%{http_code}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    body, _, status = result.stdout.rpartition("\n")
    assert result.returncode == 0, result.stderr
    assert status == "200", body
    assert body.startswith(("{", "["))  # the stage's MOCK answer
