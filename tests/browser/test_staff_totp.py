"""Staff log in with TOTP: email and password, then the code page, then the console; a new staff
member is sent to set an authenticator app up first. allauth's MFA pages in Tollgate's layout, on
a desktop and on a 390 x 844 phone, with no Content-Security-Policy violation and nothing wider
than the screen."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from portal.accounts.models import StaffRole, User
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, MFA_STEP, shot
from tests.browser.test_phone_layout import CSP_LISTENER, DESKTOP, PHONE, TOO_WIDE
from tests.conftest import PASSWORD, make_user
from tests.fixtures.mfa import add_recovery_codes, totp_code

pytestmark = [pytest.mark.browser]


@pytest.fixture
def open_page(browser: Browser, live_server: Any) -> Iterator[Any]:
    contexts: list[BrowserContext] = []

    def start(size: str) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            viewport=PHONE if size == "phone" else DESKTOP,
            is_mobile=size == "phone",
            has_touch=size == "phone",
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.add_init_script(CSP_LISTENER)
        contexts.append(context)
        page = context.new_page()
        refused: list[str] = []
        page.csp_console = refused  # type: ignore[attr-defined]

        def on_console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                refused.append(message.text)

        page.on("console", on_console)
        return page

    yield start
    for context in contexts:
        context.close()


def look(page: Page, name: str) -> None:
    """Fits the screen, no CSP violation, and a screenshot to look at."""
    page.wait_for_timeout(200)
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size or PHONE
    assert width <= viewport["width"], (name, width, page.evaluate(TOO_WIDE))
    violations = page.evaluate("window.__cspViolations || []") + page.csp_console  # type: ignore[attr-defined]
    assert violations == [], (name, violations)
    shot(page, name)


def password_step(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    page.locator("main form input[name=login]").fill(email)
    page.locator("main form input[name=password]").fill(PASSWORD)
    page.locator("main form").get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_staff_log_in_with_totp(admin: User, open_page: Any, size: str, settings: Any) -> None:
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True  # the live server is http://localhost
    page = open_page(size)
    password_step(page, admin.email)
    expect(page).to_have_url(MFA_STEP)
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    expect(page.get_by_role("button", name="Use a security key")).to_be_visible()
    look(page, f"{size}-mfa-01-code-page")

    page.get_by_label("Authenticator code").fill("000000")
    page.locator("#mfa-code-form").get_by_role("button", name="Sign in").click()
    expect(page.locator(".error-text")).to_have_text("Incorrect code.")
    look(page, f"{size}-mfa-02-wrong-code")

    page.get_by_label("Authenticator code").fill(totp_code(admin))
    page.locator("#mfa-code-form").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    look(page, f"{size}-mfa-03-console")

    add_recovery_codes(admin)
    if size == "phone":
        page.get_by_role("button", name="Menu").click()
    page.locator(".account-menu summary").click()
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/$"))
    expect(page.locator("#mfa-totp")).to_contain_text("Active")
    look(page, f"{size}-mfa-04-index")
    # allauth asks for the password again before showing codes or changing a factor.
    page.get_by_role("button", name="View", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    look(page, f"{size}-mfa-04b-confirm")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    for name, path in [
        ("05-recovery-codes", "/accounts/2fa/recovery-codes/"),
        ("06-generate-codes", "/accounts/2fa/recovery-codes/generate/"),
        ("07-add-security-key", "/accounts/2fa/webauthn/add/"),
        ("08-security-keys", "/accounts/2fa/webauthn/"),
        ("09-deactivate-refused", "/accounts/2fa/totp/deactivate/"),
    ]:
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        look(page, f"{size}-mfa-{name}")
    expect(page.locator("#mfa-refusal")).to_contain_text("required for your account")

    # A security key: Chromium's virtual authenticator (DevTools), through allauth's own scripts.
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": False,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    page.goto("/accounts/2fa/webauthn/add/")
    page.get_by_label("Name").fill("Virtual key")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/$"))
    expect(page.locator("#mfa-webauthn")).to_contain_text("1 key")
    look(page, f"{size}-mfa-10-security-key-added")
    page.goto("/accounts/2fa/webauthn/")
    expect(page.get_by_role("row").filter(has_text="Virtual key")).to_be_visible()
    look(page, f"{size}-mfa-11-security-key-list")


def test_a_new_staff_member_sets_up_an_authenticator_app_first(db: None, open_page: Any) -> None:
    make_user("new-ops@tollgate.test", StaffRole.OPS, mfa=False)
    page = open_page("phone")
    password_step(page, "new-ops@tollgate.test")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/$"))
    expect(page.get_by_role("status")).to_contain_text("Tollgate staff must use two-factor")
    look(page, "phone-mfa-12-set-up-first")

    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))  # allauth: password again
    look(page, "phone-mfa-13-confirm-password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    look(page, "phone-mfa-14-activate")

    secret = page.locator("#authenticator_secret").input_value()
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    page.get_by_label("Code from the app").fill(code)
    page.get_by_role("button", name="Activate").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    expect(page.locator("#recovery_codes")).to_be_visible()
    look(page, "phone-mfa-15-recovery-codes")

    page.goto("/console/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
