"""The console's customer list in a browser: typing a search updates the results in place (htmx)
and the address bar (a bookmark shows the same), the page links walk the list, and at phone size
only the table scrolls sideways."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from portal.accounts.models import User
from portal.customers.models import Customer
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, shot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def customers(db: None) -> None:
    Customer.objects.bulk_create(
        Customer(name=f"Customer {n:03d}", slug=f"customer-{n:03d}") for n in range(120)
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_search_pages_and_phone_size(
    browser: Browser, live_server: Any, admin: User, customers: None, width: int
) -> None:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, "admin@tollgate.test")
    page.goto("/console/customers/")
    rows = page.locator("#customer-results tbody tr")
    expect(rows).to_have_count(50)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"console-customer-list-{width}")

    page.get_by_role("link", name="Next →").click()
    expect(rows.first).to_contain_text("Customer 050")
    page.get_by_role("link", name="← Previous").click()
    expect(rows.first).to_contain_text("Customer 000")

    page.get_by_label("Search").fill("customer 11")  # no button pressed: htmx asks as one types
    expect(rows).to_have_count(10)
    expect(page).to_have_url(re.compile(r"search=customer(\+|%20)11"))
    expect(page.get_by_role("status")).to_contain_text("10 customers found")
    page.reload()  # the address bar is a bookmark of the same results
    expect(rows).to_have_count(10)
    context.close()
