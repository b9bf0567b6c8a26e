"""The console overview (portal.console.views.overview): what needs attention counted on every
visit, the totals once a minute, and the same queries however many keys there are."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keys.models import ApiKey
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.sync import SyncStatus
from tests.conftest import login


@pytest.fixture(autouse=True)
def fresh_totals() -> None:
    cache.clear()


def figures(page: str) -> list[str]:
    return re.findall(r'<p class="big">([^<]+)</p>', page)


def test_attention_is_counted_on_every_visit_and_totals_once_a_minute(
    ops: User, acme: Customer, globex: Customer
) -> None:
    ApiKey.objects.create(customer=acme, name="a", sync_status=SyncStatus.FAILED)
    ApiKey.objects.create(customer=acme, name="b", sync_status=SyncStatus.PENDING)
    ApiKey.objects.create(customer=globex, name="c", sync_status=SyncStatus.SYNCED)
    client = login(ops)
    page = client.get("/console/").content.decode()
    assert figures(page) == ["2", "3", "3"]  # customers, tiers, keys
    assert "1 pending" in page and "1 failed" in page
    assert 'href="/console/customers/?key_sync_status=failed"' in page

    ApiKey.objects.create(customer=globex, name="d", sync_status=SyncStatus.FAILED)
    Customer.objects.create(name="Initech", slug="initech")
    page = client.get("/console/").content.decode()
    assert "2 failed" in page  # at once
    assert figures(page) == ["2", "3", "3"]  # the totals: at the next minute
    cache.clear()
    assert figures(client.get("/console/").content.decode()) == ["3", "3", "4"]


def test_the_overview_asks_the_same_queries_for_3_keys_or_300(ops: User, acme: Customer) -> None:
    client = login(ops)

    def queries() -> int:
        cache.clear()
        client.get("/console/")
        with CaptureQueriesContext(connection) as captured:
            client.get("/console/")
        return len(captured)

    ApiKey.objects.bulk_create(ApiKey(customer=acme, name=f"k{n}") for n in range(3))
    small = queries()
    ApiKey.objects.bulk_create(
        ApiKey(customer=acme, name=f"f{n}", sync_status=SyncStatus.FAILED) for n in range(300)
    )
    assert queries() == small


def test_the_first_twenty_keys_in_trouble_are_listed_and_the_rest_linked(
    ops: User, acme: Customer
) -> None:
    ApiKey.objects.bulk_create(
        ApiKey(customer=acme, name=f"f{n}", sync_status=SyncStatus.FAILED) for n in range(25)
    )
    page = login(ops).get("/console/").content.decode()
    assert page.count("<td>Key f") == 20
    assert "25 failed" in page
    assert "The first 20 keys shown" in page
