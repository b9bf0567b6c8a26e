"""Browser fixtures: headless Debian Chromium driven by Playwright against pytest-django's live server.

The pages talk to the same database as the test (``live_server`` is transactional), a real Celery
worker thread applies the changes to the local AWS, and the tests read AWS back through ``apigw``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from portal.accounts.models import User
from portal.customers.services import customer_onboard
from tests.conftest import PASSWORD, make_user
from tests.fixtures.mfa import totp_code

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEFAULT_TIMEOUT_MS = 10_000
# How long a test waits for the worker to bring AWS in line and htmx to show it.
SYNC_TIMEOUT_MS = 20_000


@pytest.fixture(scope="package")
def playwright_instance() -> Iterator[Playwright]:
    """Playwright's sync API, for the browser tests only.

    It runs an asyncio loop in the main thread, so Django's ORM refuses to run from test code
    unless DJANGO_ALLOW_ASYNC_UNSAFE says this is deliberate. Both last as long as this package's
    tests (package scope, one browser for all of them), not the whole session: later tests must
    not inherit the loop, and subprocesses (`manage.py check --deploy`) not the variable.
    """
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            yield pw
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(executable).is_file():
        pytest.fail(
            f"Chromium not found at {executable}: install it with `apt-get install -y chromium` "
            "(`make test` does) or point CHROMIUM_PATH at a Chromium binary.",
            pytrace=False,
        )
    browser = playwright_instance.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, live_server: Any) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    page = context.new_page()
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    return page


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot in $SCREENSHOT_DIR (test-artifacts/screenshots by default)."""
    folder = Path(os.environ.get("SCREENSHOT_DIR", "test-artifacts/screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    # Finished transitions (Pico animates checkboxes and switches), so the picture shows the state.
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Through the real allauth login form, as a person would; someone with an authenticator
    app (staff) then types the code it shows (tests/fixtures/mfa.py computes it)."""
    page.goto("/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    if MFA_STEP.search(page.url):
        enter_totp_code(page, User.objects.get(email=email))


MFA_STEP = re.compile(r"/accounts/2fa/authenticate/")


def enter_totp_code(page: Page, user: User) -> None:
    page.get_by_label("Authenticator code").fill(totp_code(user))
    page.locator("#mfa-code-form").get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(MFA_STEP)


def make_customer(email: str, organisation: str) -> User:
    """A person owning an organisation on the default tier (the tiers must exist already)."""
    user = make_user(email)
    customer_onboard(owner=user, organisation_name=organisation)
    return user


def wait_for_key_synced(page: Page) -> None:
    """The key page's status block polls (htmx) until the worker has applied the change."""
    expect(page.locator("#key-status .badge")).to_have_text("Synced", timeout=SYNC_TIMEOUT_MS)
