"""Every page people see fits a 390 × 844 phone and breaks no Content-Security-Policy rule.

Each page is opened at phone size: the page itself must not scroll sideways (a wide table scrolls
inside its own box instead), and a full-page screenshot is saved in $SCREENSHOT_DIR as
``phone-<page>.png``. A few are opened at 1280 × 800 too (``desktop-<page>.png``). On every page the
browser reports any CSP violation (``securitypolicyviolation`` events and console errors); there
must be none, and what the pages do with JavaScript still works: htmx polling, the copy button,
the charts, Swagger UI on the API reference, the collapsed navigation.

The data is the database's only (the `sent_tasks` fixture swallows the sync tasks, so keys and
tiers stay pending); the metrics page reads the local AWS, empty for the test's stage.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from keys.models import ApiKey
from keys.services import key_create
from plans.models import ApiStage, Plan
from portal.accounts.models import User
from portal.catalog.models import ApiDocument
from portal.connections.models import AwsConnection
from portal.customers.models import Customer
from portal.usage.models import UsageDay
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, shot, sign_in

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}

# Collects what the page's CSP refused, before any of the page's own scripts run.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` (${e.sourceFile || ""}:${e.lineNumber || ""}) ${e.sample || ""}`);
});
"""

# The elements sticking out past the viewport's right edge, outermost first, that no scrolling
# box of their own contains: what makes the page scroll sideways.
TOO_WIDE = """
() => {
  const vw = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden" || o === "clip") return true;
    }
    return false;
  };
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 1 || clipped(el)) continue;
    if (found.some((outer) => outer.el.contains(el))) continue;
    const id = el.id ? `#${el.id}` : "";
    const cls = el.classList.length ? `.${[...el.classList].join(".")}` : "";
    found.push({ el, text: `<${el.tagName.toLowerCase()}${id}${cls}> right edge ${Math.round(r.right)}px` });
  }
  return found.slice(0, 12).map((f) => f.text);
}
"""


@dataclass
class Tour:
    """Opens pages in one browser context and gathers every problem, reported together."""

    context: BrowserContext
    size: str
    problems: list[str] = field(default_factory=list)
    console_csp: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.context.add_init_script(CSP_LISTENER)
        self.page = self.context.new_page()
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.console_csp.append(message.text)

    def visit(self, name: str, path: str, ready: str = "main") -> Page:
        page = self.page
        self.console_csp.clear()
        page.goto(path)
        expect(page.locator(ready).first).to_be_visible()
        page.wait_for_timeout(300)  # deferred scripts, first htmx round, chart drawing
        self.check(name)
        return page

    def check(self, name: str) -> None:
        page = self.page
        width = page.evaluate("document.documentElement.scrollWidth")
        viewport = page.viewport_size or PHONE
        if width > viewport["width"]:
            wide = "; ".join(page.evaluate(TOO_WIDE)) or "no single element found"
            self.problems.append(
                f"{name}: the page is {width}px wide on a {viewport['width']}px screen ({wide})"
            )
        violations = page.evaluate("window.__cspViolations || []") + self.console_csp
        if violations:
            self.problems.append(f"{name}: CSP violations: {violations}")
        shot(page, f"{self.size}-{name}")

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def tour(browser: Browser, live_server: Any) -> Iterator[Any]:
    contexts: list[BrowserContext] = []

    def start(size: str = "phone") -> Tour:
        context = browser.new_context(
            base_url=live_server.url,
            viewport=PHONE if size == "phone" else DESKTOP,
            is_mobile=size == "phone",
            has_touch=size == "phone",
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return Tour(context, size)

    yield start
    for context in contexts:
        context.close()


OPENAPI = {
    "openapi": "3.0.1",
    "info": {"title": "Weather API", "version": "2025-01-01"},
    "servers": [{"url": "https://abc123.execute-api.us-east-1.amazonaws.com/{basePath}"}],
    "paths": {
        "/forecasts/{city}/daily-with-a-rather-long-path-segment": {
            "get": {
                "summary": "Daily forecast for a city",
                "parameters": [{"name": "city", "in": "path", "required": True}],
                "security": [{"api_key": []}],
                "responses": {"200": {"description": "The forecast"}},
            }
        },
        "/status": {"get": {"responses": {"200": {"description": "Up"}}}},
    },
    "components": {
        "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
    },
}


@pytest.fixture
def acme_with_usage(
    sent_tasks: list[Any], alice: User, acme: Customer, stage: ApiStage, tiers: dict[str, Plan]
) -> dict[str, Any]:
    """Acme with two keys (one with a long name and a prefix), 14 days of usage, a document."""
    ApiDocument.objects.create(stage=stage, deployment_id="d1", document=OPENAPI, raw_size=900)
    production = key_create(actor=alice, customer=acme, name="production")
    batch = key_create(actor=alice, customer=acme, name="nightly-batch-reporting-integration")
    ApiKey.objects.filter(pk=production.pk).update(display_prefix="Xk3vQ9a2")
    today = timezone.now().date()
    for n in range(14):
        day = today - datetime.timedelta(days=n)
        for key, used in ((production, 40 + n * 7), (batch, 15 if n % 3 else 0)):
            UsageDay.objects.create(
                key=key, plan=tiers["Free"], date=day, used=used, remaining=1000 - used
            )
    return {"production": production, "stage": stage, "customer": acme}


def test_public_pages_fit_a_phone_and_keep_the_csp(
    acme_with_usage: dict[str, Any], tour: Any
) -> None:
    stage = acme_with_usage["stage"]
    phone = tour("phone")
    phone.visit("pricing", "/pricing/")
    phone.visit("apis", "/apis/")
    page = phone.visit("reference", f"/apis/{stage.pk}/")
    expect(page.locator("#openapi-viewer .swagger-ui .opblock").first).to_be_visible()
    phone.check("reference")
    page = phone.visit("sign-in", "/accounts/login/")
    main = page.locator("main")
    expect(main.get_by_text("Forgot your password?")).to_have_count(1)
    expect(main.get_by_role("link", name="Create an account")).to_be_visible()
    expect(main).to_contain_text("AWS API Gateway")
    phone.visit("sign-up", "/accounts/signup/")

    # The navigation is collapsed behind a menu button on a phone and opens on a tap.
    nav_link = page.locator("#site-nav").get_by_role("link", name="Pricing")
    expect(nav_link).to_be_hidden()
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav_link).to_be_visible()
    phone.check("sign-up-menu-open")
    nav_link.click()
    expect(page).to_have_url(re.compile(r"/pricing/$"))
    phone.assert_clean()

    desktop = tour("desktop")
    page = desktop.visit("pricing", "/pricing/")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.locator("#site-nav").get_by_role("link", name="Pricing")).to_be_visible()
    desktop.visit("reference", f"/apis/{stage.pk}/")
    desktop.visit("sign-in", "/accounts/login/")
    desktop.assert_clean()


def test_customer_pages_fit_a_phone_and_keep_the_csp(
    acme_with_usage: dict[str, Any], tour: Any
) -> None:
    key = acme_with_usage["production"]
    phone = tour("phone")
    sign_in(phone.page, "alice@acme.test")
    phone.visit("keys", "/app/")

    # A pending key's page polls its status with htmx.
    page = phone.page
    with page.expect_request(lambda r: r.url.endswith(f"/app/keys/{key.public_id}/status/")):
        phone.visit("key-detail", f"/app/keys/{key.public_id}/")
    phone.visit("key-new", "/app/keys/new/")
    phone.visit("tier", "/app/tier/")
    page = phone.visit("usage", "/app/usage/")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 1")
    expect(page.get_by_role("progressbar").first).to_be_visible()
    phone.check("usage")
    phone.visit("tokens", "/settings/tokens/")
    phone.visit("members", "/app/members/")
    phone.visit("settings", "/app/settings/")
    phone.visit("audit", "/app/audit/")

    # The copy button on the API reference (a snippet with the key prefix).
    page = phone.visit("reference-customer", f"/apis/{acme_with_usage['stage'].pk}/")
    page.locator("[data-copy='#invoke-url']").click()
    expect(page.locator("[data-copy='#invoke-url']")).to_have_text("Copied ✓")
    clipboard = page.evaluate("navigator.clipboard.readText()")
    assert "execute-api" in clipboard
    phone.assert_clean()

    desktop = tour("desktop")
    sign_in(desktop.page, "alice@acme.test")
    desktop.visit("keys", "/app/")
    page = desktop.visit("usage", "/app/usage/")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 1")
    desktop.check("usage")
    desktop.assert_clean()


def partner_connection_checked() -> AwsConnection:
    """A connection through a role, checked, with one permission missing in one region."""
    return AwsConnection.objects.create(
        name="Partner account in Europe",
        role_arn="arn:aws:iam::222222222222:role/TollgateAccessWithALongerNameThanMost",
        external_id="tollgate-demo",
        regions=["eu-west-1", "ap-southeast-2"],
        account_id="222222222222",
        identity_arn="arn:aws:sts::222222222222:assumed-role/TollgateAccessWithALongerNameThanMost/tollgate",
        check_status="missing",
        checked_at=timezone.now(),
        check_report={
            "problem": "",
            "regions": {
                "eu-west-1": [
                    {
                        "operation": "GetUsagePlans",
                        "ok": False,
                        "words": "missing apigateway:GET on /usageplans in eu-west-1 "
                        "(needed to keep tiers in step with their usage plans)",
                    }
                ],
                "ap-southeast-2": [
                    {
                        "operation": "GetAccount",
                        "ok": True,
                        "words": "apigateway:GET on /account in ap-southeast-2: allowed",
                    }
                ],
            },
        },
    )


def test_console_pages_fit_a_phone_and_keep_the_csp(
    acme_with_usage: dict[str, Any], admin: User, local_aws: Any, tour: Any
) -> None:
    customer = acme_with_usage["customer"]
    tier = Plan.objects.get(name="Premium")
    phone = tour("phone")
    sign_in(phone.page, "admin@tollgate.test")
    phone.visit("console-overview", "/console/")
    phone.visit("console-stages", "/console/stages/")
    connection = partner_connection_checked()
    phone.visit("console-connections", "/console/connections/")
    phone.visit("console-connection", f"/console/connections/{connection.pk}/")
    phone.visit("console-connection-form", f"/console/connections/{connection.pk}/edit/")
    phone.visit("console-tiers", "/console/tiers/")
    phone.visit("console-tier-form", f"/console/tiers/{tier.pk}/edit/")
    phone.visit("console-tier-new", "/console/tiers/new/")
    phone.visit("console-customers", "/console/customers/")
    phone.visit("console-customer", f"/console/customers/{customer.pk}/")
    page = phone.visit("console-customer-usage", f"/console/customers/{customer.pk}/usage/")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 1")
    phone.check("console-customer-usage")
    phone.visit("console-key-import", "/console/keys/import/")
    page = phone.visit("console-metrics", "/console/metrics/")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 4")
    phone.check("console-metrics")
    phone.visit("console-import", "/console/import/")
    phone.visit("console-drift", "/console/sync/")
    phone.visit("console-tier-requests", "/console/tier-requests/")
    phone.visit("console-audit", "/console/audit/")
    phone.visit("console-everyones-tokens", "/console/tokens/")
    phone.visit("console-tokens", "/settings/tokens/")
    phone.assert_clean()

    desktop = tour("desktop")
    sign_in(desktop.page, "admin@tollgate.test")
    desktop.visit("console-overview", "/console/")
    desktop.visit("console-customer", f"/console/customers/{customer.pk}/")
    page = desktop.visit("console-metrics", "/console/metrics/")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 4")
    desktop.check("console-metrics")
    desktop.assert_clean()


@pytest.mark.parametrize(
    ("path", "ready"), [("/api/docs/", ".swagger-ui .info .title"), ("/api/redoc/", ".api-info h1")]
)
def test_the_api_docs_keep_their_own_csp(path: str, ready: str, tour: Any) -> None:
    """Their relaxed policy (portal/api/urls.py) is still enough for the bundles: nothing but
    ReDoc's sidebar logo from cdn.redoc.ly is refused, and no inline script runs."""
    phone = tour("phone")
    page = phone.page
    page.goto(path)
    expect(page.locator(ready)).to_be_visible(timeout=30_000)
    page.wait_for_timeout(500)
    violations = [
        v
        for v in page.evaluate("window.__cspViolations")
        if not v.startswith("img-src blocked https://cdn.redoc.ly/")
    ]
    assert not violations
    header = page.request.get(path).headers["content-security-policy"]
    policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["frame-ancestors"] == "'none'"


def test_the_welcome_page_fits_a_phone(charlie: User, dave: User, tour: Any) -> None:
    """Someone in no organisation: the invitation waiting for their address, or a new one."""
    phone = tour("phone")
    sign_in(phone.page, "dave@invited.test")
    page = phone.visit("welcome", "/welcome/")
    expect(page.get_by_role("button", name="Join Acme")).to_be_visible()
    phone.assert_clean()
