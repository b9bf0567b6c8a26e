"""The console's tier pages: what an admin sees, the message each bad input gets, the effect."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse

from plans.models import ApiStage, Plan
from plans.selectors import CUSTOMER_COUNTS, active_subscription
from plans.services import subscription_switch
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from tests.conftest import login

GOOD = {
    "name": "Gold",
    "description": "For big customers",
    "monthly_price": "99",
    "self_serve": "on",
    "listed": "on",
    "throttle_rate": "25.5",
    "throttle_burst": "50",
    "quota_limit": "20000",
    "quota_period": "WEEK",
    "quota_offset": "1",
}


def post_tier(user: User, stage: ApiStage, **changes: Any) -> Any:
    data = {**GOOD, "stages": [str(stage.pk)], **changes}
    data = {k: v for k, v in data.items() if v is not None}
    return login(user).post(reverse("console:tier-create"), data)


def test_it_creates_a_tier(admin: User, stage: ApiStage) -> None:
    response = post_tier(admin, stage)
    assert response.status_code == 302
    plan = Plan.objects.get(name="Gold")
    assert plan.throttle_rate == pytest.approx(25.5)
    assert (plan.throttle_burst, plan.quota_limit, plan.quota_period, plan.quota_offset) == (
        50,
        20000,
        "WEEK",
        1,
    )
    assert list(plan.stages.all()) == [stage]
    assert plan.sync_status == "pending"
    assert AuditEvent.objects.filter(action="tier.created", actor=admin).exists()


def test_it_lists_tiers_with_their_sync_status(admin: User, tiers: dict[str, Plan]) -> None:
    response = login(admin).get(reverse("console:tiers"))
    assert response.status_code == 200
    for name in ("Free", "Premium", "Enterprise"):
        assert name in response.content.decode()
    assert "Pending" in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"throttle_rate": "0"}, "throttle_rate", "The rate must be above 0 requests per second."),
        (
            {"throttle_rate": "10001"},
            "throttle_rate",
            "API Gateway allows at most 10,000 requests per second per account.",
        ),
        ({"throttle_rate": "fast"}, "throttle_rate", "Enter a number."),
        (
            {"throttle_burst": "5001"},
            "throttle_burst",
            "API Gateway allows a burst of at most 5,000 requests.",
        ),
        ({"throttle_burst": "0"}, "throttle_burst", "The burst must be at least 1 request."),
        (
            {"throttle_burst": ""},
            "throttle_burst",
            "Set both the rate and the burst, or leave both empty for no throttle.",
        ),
        (
            {"throttle_rate": ""},
            "throttle_rate",
            "Set both the rate and the burst, or leave both empty for no throttle.",
        ),
        ({"quota_limit": "0"}, "quota_limit", "The quota must allow at least 1 request."),
        (
            {"quota_limit": "2147483648"},
            "quota_limit",
            "API Gateway allows a quota of at most 2,147,483,647.",
        ),
        (
            {"quota_period": ""},
            "quota_period",
            "Set both the quota and its period, or leave both empty for no quota.",
        ),
        (
            {"quota_limit": ""},
            "quota_limit",
            "Set both the quota and its period, or leave both empty for no quota.",
        ),
        (
            {"quota_period": "YEAR"},
            "quota_period",
            "Select a valid choice. YEAR is not one of the available choices.",
        ),
        (
            {"quota_limit": "100", "quota_offset": "100"},
            "quota_offset",
            "The offset must be smaller than the quota, or the first period allows nothing.",
        ),
        (
            {"quota_limit": "", "quota_period": "", "quota_offset": "5"},
            "quota_offset",
            "An offset needs a quota.",
        ),
        (
            {"quota_offset": "-1"},
            "quota_offset",
            "Ensure this value is greater than or equal to 0.",
        ),
        ({"monthly_price": "-1"}, "monthly_price", "The price cannot be negative."),
        (
            {"self_serve": None, "is_default": "on"},
            "is_default",
            "The default tier must be self-serve: new customers join it on their own.",
        ),
        ({"stages": []}, "stages", "Choose at least one API stage for this tier to cover."),
        ({"name": "free"}, "name", "Another tier already has this name."),
    ],
)
def test_it_explains_each_bad_field(
    admin: User,
    stage: ApiStage,
    tiers: dict[str, Plan],
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    before = Plan.objects.count()
    response = post_tier(admin, stage, **changes)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert message in response.content.decode().replace("&#x27;", "'")
    assert Plan.objects.count() == before


def test_it_refuses_a_stage_not_offered(admin: User, stage: ApiStage) -> None:
    hidden = ApiStage.objects.create(
        region="us-east-1", rest_api_id="zzz", stage_name="beta", api_name="Beta API"
    )
    response = post_tier(admin, stage, stages=[str(hidden.pk)])
    assert response.status_code == 200
    assert "stages" in response.context["form"].errors
    assert not Plan.objects.filter(name="Gold").exists()


def test_it_edits_a_tier_and_bumps_its_version(
    admin: User, tiers: dict[str, Plan], stage: ApiStage
) -> None:
    plan = tiers["Premium"]
    data = {**GOOD, "name": "Premium", "stages": [str(stage.pk)]}
    response = login(admin).post(reverse("console:tier-edit", args=[plan.pk]), data)
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.throttle_burst == 50
    assert plan.desired_version == 2
    event = AuditEvent.objects.get(action="tier.updated")
    assert event.before is not None and event.after is not None
    assert (event.before["throttle_burst"], event.after["throttle_burst"]) == (100, 50)


def test_an_unchanged_save_changes_nothing(
    admin: User, tiers: dict[str, Plan], stage: ApiStage
) -> None:
    plan = tiers["Premium"]
    form = {
        "name": "Premium",
        "description": plan.description,
        "monthly_price": "49",
        "self_serve": "on",
        "listed": "on",
        "throttle_rate": "50",
        "throttle_burst": "100",
        "quota_limit": "100000",
        "quota_period": "MONTH",
        "quota_offset": "0",
        "stages": [str(stage.pk)],
    }
    login(admin).post(reverse("console:tier-edit", args=[plan.pk]), form)
    plan.refresh_from_db()
    assert plan.desired_version == 1


def test_it_archives_a_tier_nobody_uses(admin: User, tiers: dict[str, Plan]) -> None:
    plan = tiers["Enterprise"]
    response = login(admin).post(reverse("console:tier-archive", args=[plan.pk]), follow=True)
    plan.refresh_from_db()
    assert plan.is_archived
    assert plan.sync_status == "pending"
    assert "archived" in response.content.decode()


def test_it_refuses_to_archive_a_tier_with_customers(
    admin: User, alice: User, tiers: dict[str, Plan]
) -> None:
    plan = tiers["Free"]  # alice is on it
    Plan.objects.filter(pk=plan.pk).update(is_default=False)
    Plan.objects.filter(pk=tiers["Premium"].pk).update(is_default=True)
    response = login(admin).post(reverse("console:tier-archive", args=[plan.pk]), follow=True)
    plan.refresh_from_db()
    assert not plan.is_archived
    assert (
        "1 customer is on this tier; move them to another tier before archiving it."
        in response.content.decode()
    )


def test_it_refuses_to_archive_the_default_tier(admin: User, tiers: dict[str, Plan]) -> None:
    plan = tiers["Free"]
    response = login(admin).post(reverse("console:tier-archive", args=[plan.pk]), follow=True)
    plan.refresh_from_db()
    assert not plan.is_archived
    assert "make another tier the default first" in response.content.decode()


def test_it_refuses_to_unset_the_only_default(
    admin: User, tiers: dict[str, Plan], stage: ApiStage
) -> None:
    plan = tiers["Free"]
    form = {**GOOD, "name": "Free", "stages": [str(stage.pk)]}
    response = login(admin).post(reverse("console:tier-edit", args=[plan.pk]), form)
    assert response.status_code == 200
    assert (
        "Make another tier the default instead; there must always be one."
        in response.context["form"].errors["is_default"]
    )


def test_making_a_tier_default_unsets_the_old_one(
    admin: User, tiers: dict[str, Plan], stage: ApiStage
) -> None:
    form = {**GOOD, "name": "Premium", "is_default": "on", "stages": [str(stage.pk)]}
    login(admin).post(reverse("console:tier-edit", args=[tiers["Premium"].pk]), form)
    assert list(Plan.objects.filter(is_default=True).values_list("name", flat=True)) == ["Premium"]


@pytest.mark.parametrize("who", ["ops", "alice", "charlie"])
def test_only_admins_change_tiers(
    request: Any, who: str, stage: ApiStage, tiers: dict[str, Plan]
) -> None:
    user = request.getfixturevalue(who)
    client = login(user)
    assert (
        client.post(reverse("console:tier-create"), {**GOOD, "stages": [stage.pk]}).status_code
        == 403
    )
    assert (
        client.post(reverse("console:tier-archive", args=[tiers["Premium"].pk])).status_code == 403
    )
    assert not Plan.objects.filter(name="Gold").exists()
    assert not Plan.objects.filter(archived_at__isnull=False).exists()


def test_ops_reads_tiers_without_edit_buttons(ops: User, tiers: dict[str, Plan]) -> None:
    response = login(ops).get(reverse("console:tiers"))
    assert response.status_code == 200
    assert "New tier" not in response.content.decode()


def test_anonymous_people_are_sent_to_sign_in(client: Any, db: None) -> None:
    response = client.get(reverse("console:tiers"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_tier_list_counts_customers_again_when_one_switches(
    admin: User, acme: Customer, tiers: dict[str, Plan]
) -> None:
    """The counts are kept between views (counting every subscription grows with customers)
    and forgotten when a subscription starts or ends."""
    free, premium = tiers["Free"], tiers["Premium"]
    assert active_subscription(acme).plan == free  # type: ignore[union-attr]
    client = login(admin)

    def counts() -> dict[str, int]:
        listed = client.get(reverse("console:tiers")).context["plans"]
        return {tier.name: tier.customer_count for tier in listed}

    assert counts()["Free"] == 1
    kept = cache.get(CUSTOMER_COUNTS)
    assert kept == {free.pk: 1}
    subscription_switch(actor=admin, customer=acme, plan=premium, by_staff=True)
    assert cache.get(CUSTOMER_COUNTS) is None
    assert (counts()["Free"], counts()["Premium"]) == (0, 1)
