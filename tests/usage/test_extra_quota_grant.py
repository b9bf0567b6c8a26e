"""An admin grants a key extra quota from the console: UpdateUsage reaches the local API Gateway
(GetUsage then reports the higher remaining quota), the grant is audited, and bad input changes
nothing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from keys.models import ApiKey
from keys.services import key_create
from localaws.testing import LocalAwsControl
from plans.models import ApiStage, Plan
from plans.services import plan_create, subscription_switch
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.usage.models import UsageDay
from portal.usage.periods import resets_at
from portal.usage.services import collect_usage
from tests.conftest import FREE, login, make_user

pytestmark = pytest.mark.integration


@pytest.fixture
def initech(live_tiers: dict[str, Plan], settle: Any) -> Customer:
    owner = make_user("dana@initech.test")
    customer = customer_onboard(owner=owner, organisation_name="Initech")
    subscription_switch(actor=None, customer=customer, plan=live_tiers["Premium"], by_staff=True)
    key_create(actor=owner, customer=customer, name="production")
    settle()
    return customer


@pytest.fixture
def key(initech: Customer, live_tiers: dict[str, Plan], control: LocalAwsControl) -> ApiKey:
    """Initech's Premium key (100,000 a month) has made 300 requests today, collected."""
    key = ApiKey.objects.get(customer=initech)
    today = timezone.now().date()
    control.set_usage(live_tiers["Premium"].aws_id, key.aws_id, today.isoformat(), 300)
    collect_usage()
    assert UsageDay.objects.get(key=key, date=today).remaining == 99_700
    control.clear_calls()
    return key


def aws_today(apigw: Any, plan: Plan, key: ApiKey) -> list[int]:
    today = timezone.now().date().isoformat()
    usage = apigw.get_usage(
        usagePlanId=plan.aws_id, keyId=key.aws_id, startDate=today, endDate=today
    )
    pair: list[int] = usage["items"][key.aws_id][0]
    return pair


def grant(user: User, key: ApiKey, extra: str) -> str:
    response = login(user).post(
        reverse("console:grant-quota", args=[key.customer_id, key.pk]),
        {"extra": extra},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain == [
        (reverse("console:customer-usage", args=[key.customer_id]), 302)
    ]
    return " ".join(response.content.decode().split())


def test_an_admin_grants_extra_quota_that_reaches_api_gateway(
    admin: User, key: ApiKey, live_tiers: dict[str, Plan], apigw: Any, control: LocalAwsControl
) -> None:
    premium = live_tiers["Premium"]
    reset = resets_at("MONTH", timezone.now().date())
    until = f"{reset:%a} {reset.day} {reset:%b}, 00:00 UTC"

    page = grant(admin, key, "5,000")

    assert f"Key “production” may make 104,700 more requests until {until}" in page
    assert aws_today(apigw, premium, key) == [300, 104_700]
    [call] = control.calls("UpdateUsage")
    assert call["status"] == 200
    event = AuditEvent.objects.get(action="key.quota_extended")
    assert event.actor == admin
    assert event.target_id == str(key.pk)
    assert event.before == {"remaining": 99_700}
    assert event.after is not None and event.after["remaining"] == 104_700
    assert event.after["extra"] == 5000
    assert UsageDay.objects.get(key=key, date=timezone.now().date()).remaining == 104_700
    assert "104,700 remaining" in page

    # A second grant in the period adds to the first, and collection agrees with AWS.
    page = grant(admin, key, "1000")
    assert "may make 105,700 more requests" in page
    assert aws_today(apigw, premium, key) == [300, 105_700]
    collect_usage()
    assert UsageDay.objects.get(key=key, date=timezone.now().date()).remaining == 105_700
    assert AuditEvent.objects.filter(action="key.quota_extended").count() == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("", "Enter how many extra requests to grant, such as 5000."),
        ("lots", "“lots” is not a whole number of requests; enter one such as 5000."),
        ("1.5", "“1.5” is not a whole number of requests; enter one such as 5000."),
        ("0", "Grant at least 1 extra request."),
        ("-500", "Grant at least 1 extra request."),
        ("2147483648", "Grant at most 2,147,483,647 extra requests: API Gateway's quota limit."),
    ],
)
def test_bad_input_is_explained_and_changes_nothing(
    admin: User,
    key: ApiKey,
    live_tiers: dict[str, Plan],
    apigw: Any,
    control: LocalAwsControl,
    extra: str,
    message: str,
) -> None:
    page = grant(admin, key, extra)
    assert f"Key “production”: {message}".replace("'", "&#x27;") in page
    assert control.calls("UpdateUsage") == []
    assert aws_today(apigw, live_tiers["Premium"], key) == [300, 99_700]
    assert not AuditEvent.objects.filter(action="key.quota_extended").exists()
    assert UsageDay.objects.get(key=key, date=timezone.now().date()).remaining == 99_700


def test_a_tier_without_quota_has_nothing_to_extend(
    admin: User,
    initech: Customer,
    live_stage: ApiStage,
    settle: Any,
    control: LocalAwsControl,
) -> None:
    unlimited = plan_create(
        actor=None,
        data={
            **FREE,
            "name": "Unlimited",
            "is_default": False,
            "quota_limit": None,
            "quota_period": "",
        },
        stages=[live_stage],
    )
    subscription_switch(actor=None, customer=initech, plan=unlimited, by_staff=True)
    settle()
    key = ApiKey.objects.get(customer=initech)
    control.clear_calls()

    page = grant(admin, key, "500")

    assert (
        "Key “production”: This key&#x27;s tier has no quota, so there is nothing to extend."
        in page
    )
    assert control.calls("UpdateUsage") == []
    assert not AuditEvent.objects.filter(action="key.quota_extended").exists()
    assert "Grant extra quota" not in page


def test_ops_cannot_grant(ops: User, key: ApiKey, control: LocalAwsControl) -> None:
    response = login(ops).post(
        reverse("console:grant-quota", args=[key.customer_id, key.pk]), {"extra": "500"}
    )
    assert response.status_code == 403
    assert control.calls("UpdateUsage") == []
    assert not AuditEvent.objects.filter(action="key.quota_extended").exists()


def test_the_console_page_shows_the_days_figures(admin: User, key: ApiKey) -> None:
    page = login(admin).get(reverse("console:customer-usage", args=[key.customer_id]))
    text = " ".join(page.content.decode().split())
    assert "<strong>300</strong> of 100,000 requests" in text
    assert "99,700 remaining" in text


def test_a_grant_before_the_days_first_collection_keeps_an_earlier_grant(
    admin: User, alice: User, acme: Customer, tiers: dict[str, Plan], monkeypatch: Any
) -> None:
    """UpdateUsage replaces the remaining quota. A key granted 5,000 extra earlier this month, with
    no row for today yet, has 104,000 left (not 100,000 - 1,000): a further 1,000 makes 105,000."""
    now = datetime.datetime(2026, 11, 26, 0, 3, tzinfo=datetime.UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    premium = tiers["Premium"]
    Plan.objects.filter(pk=premium.pk).update(aws_id="plan1")
    subscription_switch(actor=None, customer=acme, plan=premium, by_staff=True)
    key = key_create(actor=alice, customer=acme, name="production")
    ApiKey.objects.filter(pk=key.pk).update(aws_id="key1")
    UsageDay.objects.create(
        key=key, plan=premium, date=datetime.date(2026, 11, 20), used=1000, remaining=104_000
    )
    sent: list[tuple[str, str, int]] = []
    monkeypatch.setattr(
        "portal.usage.quota.aws_usage.set_remaining_quota",
        lambda plan_id, key_id, remaining: sent.append((plan_id, key_id, remaining)),
    )

    page = grant(admin, ApiKey.objects.get(pk=key.pk), "1000")

    assert sent == [("plan1", "key1", 105_000)]
    assert "may make 105,000 more requests until Tue 1 Dec, 00:00 UTC" in page
    assert UsageDay.objects.get(key=key, date=now.date()).remaining == 105_000
