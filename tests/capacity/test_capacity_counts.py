"""The pages read the capacity counts as last made (a minute at most), never a new count of
every key per view; the refusals before a write count exactly all the same."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from keys.models import ApiKey
from keys.services import key_create
from plans.models import Plan
from portal.accounts.models import User
from portal.connections.capacity import place_capacities, recent_counts
from portal.connections.models import AwsConnection
from portal.connections.services import connection_default
from portal.customers.models import Customer
from portal.reconcile.counts import count_now
from portal.reconcile.models import CapacityCount
from portal.reconcile.tasks import count_capacity
from tests.conftest import login
from tests.fixtures.api import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def default_connection(db: None) -> AwsConnection:
    return connection_default()


def keys_used(places: list[Any]) -> int:
    [home] = places
    return int(home.api_keys.used)


def counting_queries(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "keys_keycopy" in q["sql"]]


def test_a_page_reads_the_kept_counts(ops: User, acme_key: ApiKey, tiers: dict[str, Plan]) -> None:
    client = login(ops)
    count_capacity()  # as the beat job does
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/console/capacity/").content.decode()
    assert counting_queries(queries) == []
    assert "1 / 10,000" in body and 'data-testid="capacity-counted"' in body


def test_without_kept_counts_a_page_counts_and_keeps_nothing(
    ops: User, acme_key: ApiKey, tiers: dict[str, Plan]
) -> None:
    with CaptureQueriesContext(connection) as queries:
        body = login(ops).get("/console/capacity/").content.decode()
    assert counting_queries(queries) != []
    assert "1 / 10,000" in body
    assert not CapacityCount.objects.exists()


def test_counts_older_than_a_minute_are_counted_again(
    alice: User, acme: Customer, acme_key: ApiKey, tiers: dict[str, Plan]
) -> None:
    count_now()
    key_create(actor=alice, customer=acme, name="second")
    assert keys_used(place_capacities(recent_counts())) == 1  # as counted, a moment ago
    CapacityCount.objects.update(counted_at=timezone.now() - datetime.timedelta(seconds=61))
    assert keys_used(place_capacities(recent_counts())) == 2
    count_now()
    assert CapacityCount.objects.count() == 1  # the old one went
    assert keys_used(place_capacities(recent_counts())) == 2


def test_the_seconds_come_from_the_settings(
    settings: Any, alice: User, acme: Customer, acme_key: ApiKey
) -> None:
    settings.TOLLGATE = {**settings.TOLLGATE, "CAPACITY_COUNT_SECONDS": 0}
    assert keys_used(place_capacities(recent_counts())) == 1
    key_create(actor=alice, customer=acme, name="second")
    assert keys_used(place_capacities(recent_counts())) == 2


def test_a_refusal_counts_exactly_whatever_the_pages_show(
    settings: Any, alice: User, acme: Customer, acme_key: ApiKey
) -> None:
    settings.TOLLGATE = {**settings.TOLLGATE, "AWS_CAPS": {"api_keys": 2}}
    count_now()  # 1 of 2: the pages show room for one more key
    key_create(actor=alice, customer=acme, name="second")
    assert keys_used(place_capacities(recent_counts())) == 1
    with pytest.raises(ValidationError, match="API Gateway allows 2 API keys"):
        key_create(actor=alice, customer=acme, name="third")
    assert ApiKey.objects.filter(customer=acme).count() == 2


def test_the_beat_job_keeps_the_counts(acme_key: ApiKey, tiers: dict[str, Plan]) -> None:
    counted_at = count_capacity()
    kept = CapacityCount.objects.get()
    assert kept.counted_at.isoformat() == counted_at
    [home] = place_capacities(recent_counts())
    assert (int(home.api_keys.used), int(home.usage_plans.used)) == (1, len(tiers))
    assert home.top_tiers[0] == ("Free", 1)
    assert home.counted_at == kept.counted_at


def test_the_counts_read_back_equal_the_counts_made(
    acme_key: ApiKey, globex_key: ApiKey, tiers: dict[str, Plan]
) -> None:
    AwsConnection.objects.create(
        name="Partner",
        role_arn="arn:aws:iam::222222222222:role/TollgateAccess",
        regions=["eu-west-1"],
        account_id="222222222222",
    )
    made = count_now()
    read = recent_counts()
    assert read.figures == made.figures
    assert read.top_tiers == made.top_tiers


def test_the_api_and_the_connections_list_say_the_same(
    ops: User, acme_key: ApiKey, tiers: dict[str, Plan], settings: Any
) -> None:
    settings.TOLLGATE = {**settings.TOLLGATE, "AWS_CAPS": {"api_keys": 1}}
    kept = count_now()
    [home] = api_as(ops).get("/api/v1/capacity").json()
    assert home["api_keys"]["full"] is True
    assert home["counted_at"].replace("Z", "+00:00") == kept.counted_at.isoformat()
    body = login(ops).get("/console/connections/").content.decode()
    assert "has 1 API keys, API Gateway&#x27;s limit" in body


def test_a_customer_reads_no_counts(alice: User) -> None:
    assert api_as(alice).get("/api/v1/capacity").status_code in (403, 404)
    assert login(alice).get("/console/capacity/").status_code in (302, 403, 404)
