"""API Gateway's ceilings per account and region: the figures, the warnings at 80%, and the
refusals of a key, a tier switch or a tier change that would pass a limit, before anything is
saved or sent (the limits are lowered through TOLLGATE["AWS_CAPS"] instead of making 10,000
rows)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from keys.capacity import capacity_report
from keys.models import ApiKey, KeyCopy
from keys.services import key_create, key_revoke
from plans.models import ApiStage, Plan, PlanCopy, Subscription
from plans.services import plan_create, plan_update, subscription_switch
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.connections.capacity import place_capacities
from portal.connections.models import AwsConnection
from portal.connections.services import connection_default
from portal.customers.models import Customer
from portal.reconcile.capacity import capacity_with_foreign
from portal.reconcile.models import ReconcileRun
from tests.conftest import FREE, login
from tests.fixtures.api import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def default_connection(db: None) -> AwsConnection:
    """As the first console page makes it: places are named after their connection."""
    return connection_default()


def lower_caps(settings: Any, **caps: int) -> None:
    settings.TOLLGATE = {**settings.TOLLGATE, "AWS_CAPS": caps}


@pytest.fixture
def europe(db: None) -> ApiStage:
    """A stage of the default account in another region: a tier on it is a second place."""
    return ApiStage.objects.create(
        region="eu-west-1",
        rest_api_id="eu1234",
        stage_name="prod",
        api_name="Weather API",
        available=True,
    )


def place(region: str) -> Any:
    """The figures as the capacity page reads them; the kernel's census (the connections list's
    warnings) must agree."""
    found = next(p for p in capacity_report() if p.location.region == region)
    counted = next(p for p in place_capacities() if p.location.region == region)
    assert (counted.api_keys, counted.usage_plans, counted.throttle) == (
        found.api_keys,
        found.usage_plans,
        found.throttle,
    )
    return found


def nothing_happened(sent_tasks: list[Any], audits_before: int) -> None:
    assert sent_tasks == []
    assert AuditEvent.objects.count() == audits_before


# --- figures ------------------------------------------------------------------------------------


def test_a_place_counts_the_keys_and_tiers_it_will_hold(
    acme_key: ApiKey, globex_key: ApiKey, tiers: dict[str, Plan]
) -> None:
    home = place("us-east-1")
    assert home.api_keys.used == 2  # not synced yet: they count as soon as they are wanted
    assert home.usage_plans.used == len(tiers)
    # Both customers are on Free: every key there may ask for Free's rate at once.
    assert home.throttle.used == 2 * Decimal(str(tiers["Free"].throttle_rate))
    assert home.throttle.cap is None  # no connection check has read GetAccount yet
    assert home.top_tiers[0] == ("Free", 2)
    assert not home.warnings


def test_a_copy_still_in_aws_counts_until_the_worker_deletes_it(
    admin: User, acme_key: ApiKey, globex_key: ApiKey
) -> None:
    KeyCopy.objects.create(key=acme_key, region="us-east-1", aws_id="k1")
    key_revoke(actor=admin, key=globex_key)  # never reached AWS: nothing to delete
    KeyCopy.objects.create(key=ApiKey.objects.get(pk=acme_key.pk), region="eu-west-1", aws_id="k2")
    assert place("us-east-1").api_keys.used == 1
    # Acme's tier left eu-west-1 (or never covered it): the copy there is on its way out.
    connection = connection_default()
    connection.regions = ["us-east-1", "eu-west-1"]
    connection.save()
    assert place("eu-west-1").api_keys.used == 1


def test_an_archived_tiers_usage_plan_counts_until_it_is_deleted(tiers: dict[str, Plan]) -> None:
    enterprise = tiers["Enterprise"]
    PlanCopy.objects.create(plan=enterprise, region="us-east-1", aws_id="p1")
    Plan.objects.filter(pk=enterprise.pk).update(archived_at="2026-01-01T00:00Z")
    assert place("us-east-1").usage_plans.used == len(tiers)


def test_rows_without_a_connection_are_the_default_connections(acme_key: ApiKey) -> None:
    default = connection_default()
    places = place_capacities()
    assert [p.location.connection_id for p in places] == [default.pk]
    assert places[0].api_keys.used == 1


def test_warnings_start_at_80_percent(
    settings: Any, admin: User, acme_key: ApiKey, tiers: dict[str, Plan], stage: ApiStage
) -> None:
    lower_caps(settings, usage_plans=4)  # 3 tiers of 4: 75%
    assert not place("us-east-1").warnings
    plan_create(actor=admin, data={**FREE, "name": "Gold", "is_default": False}, stages=[stage])
    lower_caps(settings, usage_plans=5)  # 4 of 5: 80%
    home = place("us-east-1")
    assert (home.usage_plans.warn, home.usage_plans.full) == (True, False)
    assert home.warnings == ["us-east-1 uses 4 of 5 usage plans (80%)."]
    lower_caps(settings, usage_plans=4)
    assert place("us-east-1").warnings == [
        "us-east-1 has 4 usage plans, API Gateway's limit: Tollgate refuses changes "
        "that would add more there."
    ]
    body = login(admin).get("/console/connections/").content.decode()
    assert "has 4 usage plans, API Gateway&#x27;s limit" in body
    lower_caps(settings)
    assert "capacity-warnings" not in login(admin).get("/console/connections/").content.decode()


def test_the_throttle_warns_when_the_keys_could_ask_for_80_percent(acme_key: ApiKey) -> None:
    connection = connection_default()
    connection.check_report = {"account_throttle": {"us-east-1": {"rateLimit": 2.4}}}
    connection.save()
    home = place("us-east-1")  # Acme's one key on Free may ask for 2 of 2.4 req/s
    assert home.throttle.cap is not None and home.throttle.warn
    assert "would ask for 2 of 2.4 requests per second (83%)" in home.warnings[0]


# --- refusals, before anything is saved or sent -------------------------------------------------


def test_a_key_past_the_limit_is_refused(
    settings: Any, alice: User, acme: Customer, acme_key: ApiKey, sent_tasks: list[Any]
) -> None:
    lower_caps(settings, api_keys=1)
    audits = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        key_create(actor=alice, customer=acme, name="second")
    assert refused.value.messages == [
        "API Gateway allows 1 API keys per account and region and us-east-1 has 1: "
        "revoke keys that are no longer used, or ask an admin to make room."
    ]
    assert ApiKey.objects.count() == 1
    nothing_happened(sent_tasks, audits)


def test_the_key_form_shows_the_refusal(
    settings: Any, alice: User, acme_key: ApiKey, sent_tasks: list[Any]
) -> None:
    lower_caps(settings, api_keys=1)
    response = login(alice).post("/app/keys/new/", {"name": "second"})
    assert response.status_code == 200
    assert "API Gateway allows 1 API keys per account and region" in response.content.decode()
    assert ApiKey.objects.count() == 1


def test_a_switch_bringing_keys_past_the_limit_is_refused(
    settings: Any,
    admin: User,
    alice: User,
    acme: Customer,
    acme_key: ApiKey,
    globex_key: ApiKey,
    europe: ApiStage,
    sent_tasks: list[Any],
) -> None:
    europa = plan_create(
        actor=admin, data={**FREE, "name": "Europa", "is_default": False}, stages=[europe]
    )
    key_create(actor=alice, customer=acme, name="second")
    # eu-west-1 holds 0 keys of 1 allowed: Acme's 2 keys cannot both move there.
    lower_caps(settings, api_keys=1)
    sent_tasks.clear()
    audits = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        subscription_switch(actor=alice, customer=acme, plan=europa)
    assert refused.value.messages == [
        "API Gateway allows 1 API keys per account and region and eu-west-1 has 0 "
        "(this needs 2 more): add a region or another AWS account to the tier, or revoke unused "
        "keys in that account and region."
    ]
    assert Subscription.objects.active().get(customer=acme).plan.name == "Free"
    nothing_happened(sent_tasks, audits)


def test_a_switch_within_the_limit_goes_through(
    settings: Any, alice: User, acme: Customer, acme_key: ApiKey, europe: ApiStage, admin: User
) -> None:
    europa = plan_create(
        actor=admin, data={**FREE, "name": "Europa", "is_default": False}, stages=[europe]
    )
    lower_caps(settings, api_keys=1)
    subscription_switch(actor=alice, customer=acme, plan=europa)
    assert Subscription.objects.active().get(customer=acme).plan == europa


def test_a_new_tier_where_the_usage_plans_are_used_up_is_refused(
    settings: Any,
    admin: User,
    tiers: dict[str, Plan],
    stage: ApiStage,
    europe: ApiStage,
    sent_tasks: list[Any],
) -> None:
    lower_caps(settings, usage_plans=len(tiers))
    audits = AuditEvent.objects.count()
    data = {**FREE, "name": "Gold", "is_default": False}
    with pytest.raises(ValidationError) as refused:
        plan_create(actor=admin, data=data, stages=[stage])
    assert refused.value.message_dict["stages"][0].startswith(
        f"API Gateway allows {len(tiers)} usage plans per account and region and us-east-1"
    )
    assert not Plan.objects.filter(name="Gold").exists()
    nothing_happened(sent_tasks, audits)
    # Another region has room.
    assert plan_create(actor=admin, data=data, stages=[europe]).pk


def test_a_tier_reaching_a_full_region_is_refused_and_one_staying_is_not(
    settings: Any,
    admin: User,
    tiers: dict[str, Plan],
    stage: ApiStage,
    europe: ApiStage,
    sent_tasks: list[Any],
) -> None:
    plan_create(actor=admin, data={**FREE, "name": "Europa", "is_default": False}, stages=[europe])
    lower_caps(settings, usage_plans=1)  # us-east-1 is past it already, eu-west-1 full
    premium = tiers["Premium"]
    changed = {**FREE, "name": "Premium", "is_default": False, "throttle_rate": 7}
    plan_update(actor=admin, plan=premium, data=changed, stages=[stage])  # no new place
    sent_tasks.clear()
    audits = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        plan_update(actor=admin, plan=premium, data=changed, stages=[stage, europe])
    assert "eu-west-1 has 1" in refused.value.message_dict["stages"][0]
    assert list(Plan.objects.get(pk=premium.pk).stages.all()) == [stage]
    nothing_happened(sent_tasks, audits)


def test_a_tier_bringing_its_customers_keys_past_the_limit_is_refused(
    settings: Any,
    admin: User,
    tiers: dict[str, Plan],
    stage: ApiStage,
    europe: ApiStage,
    acme_key: ApiKey,
    globex_key: ApiKey,
    sent_tasks: list[Any],
) -> None:
    lower_caps(settings, api_keys=2)  # us-east-1 holds 2; Free's 2 keys fit in eu-west-1...
    free = tiers["Free"]
    plan_create(actor=admin, data={**FREE, "name": "Europa", "is_default": False}, stages=[europe])
    KeyCopy.objects.create(key=acme_key, region="eu-west-1", aws_id="left-over")  # ...not with 1
    sent_tasks.clear()
    audits = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        plan_update(actor=admin, plan=free, data=dict(FREE), stages=[stage, europe])
    assert refused.value.messages[0].startswith(
        "API Gateway allows 2 API keys per account and region and eu-west-1 has 1 "
        "(this needs 2 more)"
    )
    nothing_happened(sent_tasks, audits)


# --- the page and the API -----------------------------------------------------------------------


def test_the_page_shows_each_place(ops: User, acme_key: ApiKey, tiers: dict[str, Plan]) -> None:
    partner = AwsConnection.objects.create(
        name="Partner",
        role_arn="arn:aws:iam::222222222222:role/TollgateAccess",
        regions=["us-east-1"],
        account_id="222222222222",
        check_report={"account_throttle": {"us-east-1": {"rateLimit": 500.0, "burstLimit": 250}}},
    )
    connection_default()
    response = login(ops).get("/console/capacity/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('data-testid="capacity-place"') == 2
    assert "1 / 10,000" in body and f"{len(tiers)} / 300" in body
    assert "Account throttle not read yet" in body  # the default was never checked
    assert "0 / 500 req/s" in body and "burst 250" in body
    assert f'href="/console/connections/{partner.pk}/">Partner</a>' in body
    default = AwsConnection.objects.get(is_default=True)
    assert f'href="/console/connections/{default.pk}/">Default</a>' in body
    assert 'Free</span> <span class="num">1' in body


def test_the_api_answers_staff(ops: User, acme_key: ApiKey, tiers: dict[str, Plan]) -> None:
    response = api_as(ops).get("/api/v1/capacity")
    assert response.status_code == 200
    [home] = response.json()
    assert (home["region"], home["connection_name"]) == ("us-east-1", "Default")
    assert home["api_keys"] == {
        "used": "1.00",
        "limit": "10000.00",
        "percent": 0,
        "warning": False,
        "full": False,
    }
    assert home["usage_plans"]["used"] == f"{len(tiers)}.00"
    assert home["throttle"]["limit"] is None
    assert home["top_tiers"][0] == {"tier": "Free", "api_keys": 1}
    assert api_as(User.objects.get(email="alice@acme.test")).get(
        "/api/v1/capacity"
    ).status_code in (403, 404)


def test_the_api_answers_a_refusal_with_a_400(
    settings: Any,
    admin: User,
    alice: User,
    acme: Customer,
    acme_key: ApiKey,
    tiers: dict[str, Plan],
    stage: ApiStage,
    europe: ApiStage,
) -> None:
    lower_caps(settings, usage_plans=len(tiers), api_keys=1)
    gold = {**FREE, "name": "Gold", "is_default": False, "stages": [stage.pk]}
    gold["throttle_rate"] = str(gold["throttle_rate"])
    response = api_as(admin).post("/api/v1/tiers", gold)
    assert response.status_code == 400
    assert "usage plans per account and region" in response.json()["errors"]["stages"][0]
    response = api_as(alice).post("/api/v1/keys", {"name": "second"})
    assert response.status_code == 400
    assert "API Gateway allows 1 API keys" in str(response.json())


def test_the_connection_pages_link_the_capacity_page(ops: User, default_connection: Any) -> None:
    client = login(ops)
    assert 'href="/console/capacity/"' in client.get("/console/connections/").content.decode()
    page = client.get(f"/console/connections/{default_connection.pk}/").content.decode()
    assert 'href="/console/capacity/"' in page


def test_the_last_reconciles_foreign_objects_count_in_the_place_it_compared(
    ops: User, acme_key: ApiKey, tiers: dict[str, Plan]
) -> None:
    ReconcileRun.objects.create(
        finished_at=timezone.now(),
        foreign_key_count=7,
        foreign_usage_plans=[{"id": "abc", "name": "Legacy"}],
    )
    [home] = capacity_with_foreign()
    assert (int(home.api_keys.used), int(home.usage_plans.used)) == (1 + 7, len(tiers) + 1)
    body = login(ops).get("/console/capacity/").content.decode()
    assert "Includes 7 keys and 1 usage plan made outside Tollgate" in body


def test_foreign_objects_count_in_each_place_the_reconcile_read(
    acme_key: ApiKey, tiers: dict[str, Plan], default_connection: AwsConnection
) -> None:
    AwsConnection.objects.filter(pk=default_connection.pk).update(
        regions=["us-east-1", "eu-west-1"]
    )

    def place(region: str, keys: int, plans: int, error: str = "") -> dict[str, Any]:
        return {
            "connection_id": default_connection.pk,
            "region": region,
            "foreign_keys": keys,
            "foreign_usage_plans": plans,
            "error": error,
        }

    ReconcileRun.objects.create(
        finished_at=timezone.now(),
        places={"us-east-1": place("us-east-1", 3, 0), "eu-west-1": place("eu-west-1", 5, 2)},
    )
    east, west = capacity_with_foreign()
    assert (int(east.api_keys.used), int(east.usage_plans.used)) == (1 + 3, len(tiers))
    assert (int(west.api_keys.used), int(west.usage_plans.used)) == (5, 2)

    ReconcileRun.objects.create(  # eu-west-1 could not be read this time: not counted there
        finished_at=timezone.now(),
        places={"us-east-1": place("us-east-1", 3, 0), "eu-west-1": place("eu-west-1", 0, 0, "x")},
    )
    east, west = capacity_with_foreign()
    assert int(west.api_keys.used) == 0 and west.foreign is None
