"""The console's customer list (portal.console.views.customer_list): paging from a position,
search, filters, the per-row key figures, and the same number of queries however many customers."""

from __future__ import annotations

import base64
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from keys.models import ApiKey
from plans.models import Plan, Subscription, SubscriptionStatus
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.sync import SyncStatus
from tests.conftest import login

URL = "/console/customers/"
NAME = re.compile(r'<a href="/console/customers/\d+/"><strong>([^<]+)</strong>')
NEXT = re.compile(r'href="\?([^"]*)" rel="next"')
PREVIOUS = re.compile(r'href="\?([^"]*)" rel="prev"')


@pytest.fixture(autouse=True)
def fresh_totals() -> None:
    cache.clear()  # the totals are cached a minute; each test counts its own customers


def names(page: str) -> list[str]:
    return NAME.findall(page)


def many(count: int, prefix: str = "Zed") -> list[Customer]:
    return Customer.objects.bulk_create(
        Customer(name=f"{prefix} {n:03d}", slug=f"{prefix.lower()}-{n:03d}") for n in range(count)
    )


def follow(client: Client, query: str) -> str:
    return client.get(f"{URL}?{query.replace('&amp;', '&')}").content.decode()


def test_every_customer_is_reached_by_next_and_back_by_previous(
    ops: User, acme: Customer, globex: Customer
) -> None:
    many(120)
    client = login(ops)
    first = client.get(URL).content.decode()
    pages = [names(first)]
    page = first
    while found := NEXT.search(page):
        page = follow(client, found.group(1))
        pages.append(names(page))
    everyone = [name for shown in pages for name in shown]
    assert [len(shown) for shown in pages] == [50, 50, 22]
    assert everyone == sorted(Customer.objects.values_list("name", flat=True))
    assert 'aria-current="page"' in first and 'rel="prev"' not in first
    # Back from the last page: the same pages, in reverse.
    back = []
    while found := PREVIOUS.search(page):
        page = follow(client, found.group(1))
        back.append(names(page))
    assert back == pages[-2::-1]


def test_customers_with_the_same_name_are_each_on_one_page(ops: User) -> None:
    Customer.objects.bulk_create(Customer(name="Same", slug=f"same-{n}") for n in range(75))
    client = login(ops)
    first = client.get(URL).content.decode()
    second = follow(client, NEXT.search(first).group(1))  # type: ignore[union-attr]
    slugs = re.findall(r'<small class="muted">(same-\d+)</small>', first + second)
    assert len(slugs) == len(set(slugs)) == 75


def test_a_new_customer_shifts_no_row_onto_the_next_page(ops: User) -> None:
    many(60)
    client = login(ops)
    first = client.get(URL).content.decode()
    after = NEXT.search(first).group(1)  # type: ignore[union-attr]
    Customer.objects.create(name="Aaa first", slug="aaa")  # lands on page 1, not page 2
    assert names(follow(client, after))[0] == "Zed 050"


@pytest.mark.parametrize(
    "query",
    [
        "after=garbage!!",
        "before=%%%",
        "after=" + base64.urlsafe_b64encode(b'{"name": 1}').decode(),
        "after=" + base64.urlsafe_b64encode(b'["x", "1"]').decode(),
        "after=" + base64.urlsafe_b64encode(b'["x", 99999999999999999999]').decode(),
        "after=" + base64.urlsafe_b64encode(b'["x", -3]').decode(),
    ],
)
def test_a_damaged_page_link_is_a_400_showing_the_first_page(
    ops: User, acme: Customer, query: str
) -> None:
    response = login(ops).get(f"{URL}?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert "That page link is damaged" in page
    assert names(page) == ["Acme"]


def test_a_position_past_the_end_offers_the_first_page(ops: User, acme: Customer) -> None:
    client = login(ops)
    after = base64.urlsafe_b64encode(b'["zzzz", 5]').decode()
    page = client.get(f"{URL}?after={after}").content.decode()
    assert names(page) == []
    assert "start from the first page" in page


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("glob", ["Globex"]),  # part of a name
        ("ACME", ["Acme"]),  # any case
        ("globex", ["Globex"]),  # the slug
        ("maria@acme.test", ["Acme"]),  # a member's whole address
        ("MARIA@ACME.TEST", ["Acme"]),
        ("@globex.test", ["Globex"]),  # a domain
        ("globex.test", ["Globex"]),
        ("bob@", ["Globex"]),
        ("nobody@nowhere.test", []),
        ("initech", []),
    ],
)
def test_search_finds_names_slugs_and_peoples_addresses(
    ops: User, maria: User, globex: Customer, typed: str, found: list[str]
) -> None:
    page = login(ops).get(URL, {"search": typed}).content.decode()
    assert names(page) == found
    if not found:
        assert "No customer matches" in page


def test_a_search_too_long_is_a_400_with_a_message(ops: User, acme: Customer) -> None:
    response = login(ops).get(URL, {"search": "x" * 101})
    assert response.status_code == 400
    assert "at most 100 characters" in response.content.decode()


def test_filters_by_tier_no_tier_and_keys_in_trouble(
    ops: User, alice: User, acme: Customer, globex: Customer, tiers: dict[str, Plan]
) -> None:
    Subscription.objects.filter(customer=globex).update(plan=tiers["Premium"])
    initech = Customer.objects.create(name="Initech", slug="initech")  # on no tier
    ApiKey.objects.create(customer=acme, name="stuck", sync_status=SyncStatus.FAILED)
    ApiKey.objects.create(customer=globex, name="waiting", sync_status=SyncStatus.PENDING)
    ApiKey.objects.create(
        customer=initech, name="gone", sync_status=SyncStatus.FAILED, revoked_at=timezone.now()
    )
    client = login(ops)

    def shown(**query: str) -> list[str]:
        return names(client.get(URL, query).content.decode())

    assert shown(tier="premium") == ["Globex"]
    assert shown(tier="free") == ["Acme"]
    assert shown(tier="none") == ["Initech"]
    assert shown(has_tier="false") == ["Initech"]
    assert shown(tier="platinum") == []
    assert shown(key_sync_status="failed") == ["Acme"]  # a revoked key is no trouble
    assert shown(key_sync_status="pending") == ["Globex"]
    assert shown(key_sync_status="pending", tier="free") == []
    assert shown(search="i", tier="none") == ["Initech"]
    page = client.get(URL, {"tier": "premium"}).content.decode()
    assert '<option value="premium" selected>' in page
    assert "1 customer found" in page


def test_an_unknown_key_status_is_a_400(ops: User, acme: Customer) -> None:
    response = login(ops).get(URL, {"key_sync_status": "exploded"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_each_row_counts_its_live_failed_and_pending_keys(
    ops: User, acme: Customer, globex: Customer
) -> None:
    for n, status in enumerate([SyncStatus.SYNCED, SyncStatus.FAILED, SyncStatus.PENDING] * 2):
        ApiKey.objects.create(customer=acme, name=f"k{n}", sync_status=status)
    ApiKey.objects.create(customer=acme, name="old", revoked_at=timezone.now())
    page = login(ops).get(URL).content.decode()
    acme_row, globex_row = re.findall(r"<tr>\s*<td><a href=.*?</tr>", page, re.S)
    assert re.search(r"<td>6</td>", acme_row)
    assert "2 failed" in acme_row and "2 pending" in acme_row
    assert "<td>0</td>" in globex_row and "all synced" in globex_row
    assert "Free" in globex_row


def test_the_total_counts_everyone_and_a_search_counts_its_matches(
    ops: User, acme: Customer, globex: Customer
) -> None:
    many(3)
    client = login(ops)
    assert "5 customers." in client.get(URL).content.decode()
    assert "3 customers found" in client.get(URL, {"search": "zed"}).content.decode()


def test_the_page_asks_the_same_queries_for_5_or_60_customers(
    ops: User, alice: User, acme: Customer, globex: Customer, tiers: dict[str, Plan]
) -> None:
    client = login(ops)

    def queries(query: str = "") -> int:
        client.get(f"{URL}{query}")  # warm: session, totals
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"{URL}{query}").status_code == 200
        return len(captured)

    def grow(prefix: str, count: int) -> None:
        for customer in many(count, prefix):
            Subscription.objects.create(
                customer=customer,
                plan=tiers["Free"],
                status=SubscriptionStatus.ACTIVE,
                started_at=timezone.now(),
            )
            ApiKey.objects.bulk_create(
                ApiKey(customer=customer, name=f"k{n}", sync_status=SyncStatus.FAILED)
                for n in range(3)
            )

    grow("Few", 3)
    small = [queries(), queries("?search=few"), queries("?key_sync_status=failed")]
    grow("More", 55)
    large = [queries(), queries("?search=more"), queries("?key_sync_status=failed")]
    assert small == large
    page = client.get(URL).content.decode()
    later = client.get(f"{URL}?{NEXT.search(page).group(1).replace('&amp;', '&')}")  # type: ignore[union-attr]
    assert later.status_code == 200


def test_search_and_filters_update_in_place_with_htmx(ops: User, globex: Customer) -> None:
    page = login(ops).get(URL, {"search": "glob"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="customer-results"' in page
    assert 'hx-push-url="true"' in page
    assert names(page) == ["Globex"]


def test_a_search_keeps_its_words_in_the_page_links(ops: User) -> None:
    many(60)
    page = login(ops).get(URL, {"search": "zed"}).content.decode()
    link = NEXT.search(page).group(1)  # type: ignore[union-attr]
    assert link.startswith("search=zed&amp;after=")


def test_customers_may_not_read_the_list(alice: User, client: Client) -> None:
    assert login(alice).get(URL).status_code == 403
    assert client.get(URL).status_code == 302


def test_matches_are_counted_up_to_a_thousand_everyone_exactly(ops: User) -> None:
    many(1001, "Big")
    client = login(ops)
    assert "More than 1,000 customers found" in client.get(URL, {"search": "big"}).content.decode()
    assert "1,001 customers; this page: Big 000 – Big 049" in client.get(URL).content.decode()
