"""The key lists of one customer in pages: the customer's own (/app/) and the console's customer
page. Live keys first, newest first; 50 a page; the same queries for 3 keys or 120."""

from __future__ import annotations

import datetime
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from keys.models import ApiKey
from portal.accounts.models import User
from portal.customers.models import Customer
from tests.conftest import login

KEY = re.compile(r'<a href="/app/keys/[0-9a-f-]+/"><strong>([^<]+)</strong>')


def keys_of(customer: Customer, count: int, *, start: int = 0, revoked: bool = False) -> None:
    base = timezone.now() - datetime.timedelta(days=1)
    made = ApiKey.objects.bulk_create(
        ApiKey(
            customer=customer,
            name=f"key {n:03d}",
            revoked_at=timezone.now() if revoked else None,
        )
        for n in range(start, start + count)
    )
    for n, key in enumerate(made):  # created_at is auto_now_add: spread it out by hand
        ApiKey.objects.filter(pk=key.pk).update(created_at=base + datetime.timedelta(minutes=n))


def test_a_customer_pages_through_its_keys(alice: User, acme: Customer) -> None:
    keys_of(acme, 60)
    client = login(alice)
    first = client.get("/app/").content.decode()
    assert KEY.findall(first) == [f"key {n:03d}" for n in range(59, 9, -1)]
    assert "Keys 1–50 of 60" in first and 'rel="next"' in first
    second = client.get("/app/?page=2").content.decode()
    assert KEY.findall(second) == [f"key {n:03d}" for n in range(9, -1, -1)]
    assert 'rel="prev"' in second and 'rel="next"' not in second
    # Not a page number: the first page; past the end: the last.
    assert KEY.findall(client.get("/app/?page=x").content.decode())[0] == "key 059"
    assert KEY.findall(client.get("/app/?page=99").content.decode())[0] == "key 009"


def test_revoked_keys_come_after_the_live_ones_and_keep_the_filter(
    alice: User, acme: Customer
) -> None:
    keys_of(acme, 45)
    keys_of(acme, 10, start=100, revoked=True)
    client = login(alice)
    assert "Keys 1–" not in client.get("/app/").content.decode()  # 45 live keys: one page
    first = client.get("/app/?revoked=1").content.decode()
    assert 'href="?revoked=1&amp;page=2"' in first
    second = client.get("/app/?revoked=1&page=2").content.decode()
    assert KEY.findall(second) == [f"key {n:03d}" for n in range(104, 99, -1)]


def test_an_old_key_names_its_successor_on_another_page(alice: User, acme: Customer) -> None:
    keys_of(acme, 55)
    old = ApiKey.objects.get(name="key 000")  # the oldest: page 2
    new = ApiKey.objects.get(name="key 054")  # the newest: page 1
    ApiKey.objects.filter(pk=new.pk).update(rotated_from=old)
    page = login(alice).get("/app/?page=2").content.decode()
    assert "replaced by" in page and "key 054" in page


def test_the_key_list_asks_the_same_queries_for_3_keys_or_120(
    alice: User, acme: Customer, globex: Customer
) -> None:
    client = login(alice)

    def queries(path: str) -> int:
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    keys_of(acme, 3)
    small = queries("/app/")
    keys_of(acme, 117, start=3)
    assert queries("/app/") == small
    assert queries("/app/?page=2") == small


def test_another_organisations_keys_are_never_listed(
    alice: User, acme: Customer, globex: Customer
) -> None:
    keys_of(globex, 5)
    page = login(alice).get("/app/").content.decode()
    assert KEY.findall(page) == []


def test_the_console_customer_page_pages_its_keys(
    ops: User, acme: Customer, globex: Customer
) -> None:
    keys_of(acme, 70)
    keys_of(globex, 3)
    client = login(ops)
    url = f"/console/customers/{acme.pk}/"
    first = client.get(url).content.decode()
    assert "Keys 1–50 of 70" in first
    assert first.count("<td>key ") == 50
    assert "<td>key 069</td>" in first
    second = client.get(url, {"keys_page": 2}).content.decode()
    assert second.count("<td>key ") == 20 and "<td>key 000</td>" in second

    def queries(path: str) -> int:
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        return len(captured)

    assert queries(url) == queries(f"/console/customers/{globex.pk}/")
