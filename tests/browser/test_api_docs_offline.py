"""The API docs (/api/redoc/ and /api/docs/) load every asset from Tollgate itself.

Every request the page makes is recorded. One that would leave the live server is aborted (so
it never does) and fails the test; ReDoc's page used to pull its fonts from Google Fonts. The
only other kind allowed is one the page's own Content-Security-Policy stopped in the browser:
the Redoc bundle's sidebar logo, which it would fetch from cdn.redoc.ly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, Route, expect

pytestmark = pytest.mark.browser

# drf-spectacular builds the schema on each request: seconds on a busy 2-core machine.
SCHEMA_TIMEOUT_MS = 30_000
LOCAL_SCHEMES = {"data", "blob"}  # made in the page: nothing is fetched


class Traffic:
    """What a page asks for: every request, those sent elsewhere, those its CSP blocked."""

    def __init__(self, page: Page, origin: str) -> None:
        self.origin = origin
        self.requested: list[str] = []
        self.sent_elsewhere: list[str] = []
        self.blocked_by_csp: list[str] = []
        page.on("request", lambda request: self.requested.append(request.url))
        page.on("requestfailed", self._failed)
        page.route("**/*", self._route)

    def is_local(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in LOCAL_SCHEMES or f"{parts.scheme}://{parts.netloc}" == self.origin

    def _route(self, route: Route) -> None:
        if self.is_local(route.request.url):
            route.continue_()
        else:
            self.sent_elsewhere.append(route.request.url)
            route.abort()

    def _failed(self, request: Request) -> None:
        if request.failure in {"csp", "net::ERR_BLOCKED_BY_CSP"}:  # Playwright's word, Chromium's
            self.blocked_by_csp.append(request.url)


@pytest.mark.parametrize(
    ("path", "title", "name"),
    [
        ("/api/redoc/", ".api-info h1", "redoc"),
        ("/api/docs/", ".swagger-ui .info .title", "swagger-ui"),
    ],
)
def test_the_api_docs_load_nothing_from_outside_tollgate(
    live_server: Any, page: Page, path: str, title: str, name: str
) -> None:
    traffic = Traffic(page, live_server.url.rstrip("/"))

    page.goto(path)
    expect(page.locator(title)).to_contain_text("Tollgate REST API", timeout=SCHEMA_TIMEOUT_MS)
    expect(page.get_by_text("/api/v1/tiers").first).to_be_attached()  # the schema was read
    page.wait_for_load_state("networkidle")
    folder = Path(os.environ.get("SCREENSHOT_DIR", "test-artifacts/screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    # The first screen only: the whole of either page is tens of thousands of pixels tall.
    page.screenshot(path=str(folder / f"api-docs-offline-{name}.png"), animations="disabled")

    assert traffic.sent_elsewhere == []
    assert [url for url in traffic.requested if not traffic.is_local(url)] == (
        traffic.blocked_by_csp
    )
    assert f"{traffic.origin}/api/schema/" in traffic.requested
    assert any("/static/drf_spectacular_sidecar/" in url for url in traffic.requested)
    families = page.evaluate("() => [...document.fonts].map((font) => font.family)")
    assert not [family for family in families if "Montserrat" in family or "Roboto" in family]
