"""Approval-only tiers: an owner asks, an admin approves (the keys follow) or rejects with a reason.

The services (plans/approvals.py) and their pages: the tier page, the request form, the switch
away from an approval tier, and the console's queue with its navigation badge.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from keys.models import ApiKey
from keys.services import key_create
from plans.approvals import (
    tier_request_approve,
    tier_request_create,
    tier_request_reject,
    tier_request_withdraw,
)
from plans.models import Plan, Subscription, TierRequest, TierRequestState
from plans.services import subscription_switch
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from portal.errors import NoLongerAvailable, NotAllowed, NotReady
from tests.conftest import login


def active_tier(customer: Customer) -> str:
    return Subscription.objects.get(customer=customer, status="active").plan.name


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))


@pytest.fixture
def asked(alice: User, acme: Customer, tiers: dict[str, Plan]) -> TierRequest:
    return tier_request_create(
        actor=alice, customer=acme, plan=tiers["Enterprise"], message="  2M calls a month  "
    )


# --- the services -------------------------------------------------------------------------------


def test_an_owner_asks_and_nothing_moves_yet(
    admin: User,
    alice: User,
    acme: Customer,
    tiers: dict[str, Plan],
    sent_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    key_create(actor=alice, customer=acme, name="production")
    sent_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        request = tier_request_create(
            actor=alice, customer=acme, plan=tiers["Enterprise"], message="  2M calls a month  "
        )

    assert request.state == TierRequestState.PENDING
    assert request.message == "2M calls a month"
    assert request.requested_by == alice
    assert active_tier(acme) == "Free"
    assert sent_tasks == []  # only an approval changes AWS
    event = AuditEvent.objects.get(action="tier_request.created")
    assert event.actor == alice and event.customer_id == acme.pk
    assert event.after == {"tier": "Enterprise", "state": "pending", "message": "2M calls a month"}
    # The admins hear of it (staff with is_tollgate_admin; ops do not decide).
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [admin.email]
    assert "Acme asks for the Enterprise tier" in mail.outbox[0].subject
    assert "2M calls a month" in mail.outbox[0].body


def test_a_plain_member_may_not_ask(maria: User, acme: Customer, tiers: dict[str, Plan]) -> None:
    with pytest.raises(NotAllowed, match="Only an owner of Acme can request a tier"):
        tier_request_create(actor=maria, customer=acme, plan=tiers["Enterprise"])
    assert not TierRequest.objects.exists()
    assert "tier_request.created" not in actions()


def test_one_pending_request_at_a_time(asked: TierRequest, alice: User, acme: Customer) -> None:
    with pytest.raises(NotReady, match="already asked for the Enterprise tier"):
        tier_request_create(actor=alice, customer=acme, plan=asked.plan)
    assert TierRequest.objects.count() == 1


def test_only_a_live_listed_approval_tier_that_is_not_the_current_one(
    admin: User, alice: User, acme: Customer, tiers: dict[str, Plan], stage: Any
) -> None:
    with pytest.raises(ValidationError, match="needs no approval"):
        tier_request_create(actor=alice, customer=acme, plan=tiers["Premium"])
    subscription_switch(actor=admin, customer=acme, plan=tiers["Enterprise"], by_staff=True)
    with pytest.raises(ValidationError, match="already on the Enterprise tier"):
        tier_request_create(actor=alice, customer=acme, plan=tiers["Enterprise"])
    Plan.objects.filter(pk=tiers["Enterprise"].pk).update(listed=False)
    subscription_switch(actor=admin, customer=acme, plan=tiers["Free"], by_staff=True)
    with pytest.raises(ValidationError, match="not offered"):
        tier_request_create(actor=alice, customer=acme, plan=tiers["Enterprise"])
    assert not TierRequest.objects.exists()


def test_a_message_too_long_is_refused(alice: User, acme: Customer, tiers: dict[str, Plan]) -> None:
    with pytest.raises(ValidationError) as refused:
        tier_request_create(
            actor=alice, customer=acme, plan=tiers["Enterprise"], message="x" * 2001
        )
    assert refused.value.message_dict == {"message": ["Keep it under 2,000 characters."]}


def test_approval_starts_the_subscription_and_schedules_the_key_syncs(
    asked: TierRequest,
    admin: User,
    alice: User,
    acme: Customer,
    sent_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    key = key_create(actor=alice, customer=acme, name="production")
    revoked = key_create(actor=alice, customer=acme, name="old")
    ApiKey.objects.filter(pk=revoked.pk).update(revoked_at="2020-01-01T00:00:00Z")
    mail.outbox.clear()
    sent_tasks.clear()

    with django_capture_on_commit_callbacks(execute=True):
        approved = tier_request_approve(actor=admin, request=asked, ip="192.0.2.7")

    assert approved.state == TierRequestState.APPROVED
    assert approved.decided_by == admin and approved.decided_at is not None
    assert active_tier(acme) == "Enterprise"
    assert ("keys.tasks.sync_key", (key.pk,)) in sent_tasks  # the key follows in AWS
    assert actions()[-2:] == ["subscription.started", "tier_request.approved"]
    started = AuditEvent.objects.get(action="subscription.started", actor=admin)
    assert started.before == {"tier": "Free"} and started.after == {"tier": "Enterprise"}
    event = AuditEvent.objects.get(action="tier_request.approved")
    assert event.before == {"tier": "Enterprise", "state": "pending"}
    assert event.after == {"tier": "Enterprise", "state": "approved"}
    assert event.ip == "192.0.2.7"
    # The organisation's owners are told.
    assert [m.to for m in mail.outbox] == [[alice.email]]
    assert "now on the Enterprise tier" in mail.outbox[0].subject


def test_only_admins_decide(asked: TierRequest, ops: User, alice: User) -> None:
    for person in (ops, alice):
        with pytest.raises(NotAllowed):
            tier_request_approve(actor=person, request=asked)
        with pytest.raises(NotAllowed):
            tier_request_reject(actor=person, request=asked, reason="No")
    asked.refresh_from_db()
    assert asked.state == TierRequestState.PENDING


def test_rejection_needs_a_reason_and_changes_nothing_in_aws(
    asked: TierRequest,
    admin: User,
    alice: User,
    acme: Customer,
    sent_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    mail.outbox.clear()
    with pytest.raises(ValidationError) as refused:
        tier_request_reject(actor=admin, request=asked, reason="   ")
    assert refused.value.message_dict == {"reason": ["Say why: the customer reads the reason."]}

    with django_capture_on_commit_callbacks(execute=True):
        rejected = tier_request_reject(actor=admin, request=asked, reason=" Tell us more. ")

    assert rejected.state == TierRequestState.REJECTED and rejected.reason == "Tell us more."
    assert active_tier(acme) == "Free"
    assert sent_tasks == []
    event = AuditEvent.objects.get(action="tier_request.rejected")
    assert event.after == {"tier": "Enterprise", "state": "rejected", "reason": "Tell us more."}
    assert [m.to for m in mail.outbox] == [[alice.email]]
    assert "Tell us more." in mail.outbox[0].body


def test_a_decided_request_cannot_be_decided_again(asked: TierRequest, admin: User) -> None:
    tier_request_reject(actor=admin, request=asked, reason="No")
    with pytest.raises(NoLongerAvailable, match="rejected already"):
        tier_request_approve(actor=admin, request=asked)


def test_a_withdrawn_request_frees_the_slot(
    asked: TierRequest, alice: User, maria: User, acme: Customer
) -> None:
    with pytest.raises(NotAllowed):
        tier_request_withdraw(actor=maria, request=asked)
    tier_request_withdraw(actor=alice, request=asked)
    asked.refresh_from_db()
    assert asked.state == TierRequestState.WITHDRAWN
    assert "tier_request.withdrawn" in actions()
    again = tier_request_create(actor=alice, customer=acme, plan=asked.plan)
    assert again.is_pending


def test_nothing_is_emailed_before_the_change_commits(
    admin: User,
    alice: User,
    acme: Customer,
    tiers: dict[str, Plan],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tier_request_create(actor=alice, customer=acme, plan=tiers["Enterprise"])
    assert callbacks and mail.outbox == []  # sent on commit only


# --- the tier page --------------------------------------------------------------------------------


def test_an_owner_sees_request_access_and_sends_one(
    admin: User,
    alice: User,
    acme: Customer,
    tiers: dict[str, Plan],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = login(alice)
    page = client.get(reverse("app:tier")).content.decode()
    form_url = reverse("app:tier-request", args=["enterprise"])
    assert "Needs approval" in page and f'href="{form_url}"' in page
    assert "Request access" in page

    form = client.get(form_url).content.decode()
    assert "Request the Enterprise tier" in form and 'name="message"' in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(form_url, {"message": "Big launch"}, follow=True)

    page = response.content.decode()
    assert "Request for the Enterprise tier sent" in page
    assert "is waiting for approval" in page and "Withdraw request" in page
    assert "Request access" not in page
    assert TierRequest.objects.get().message == "Big launch"
    assert len(mail.outbox) == 1


def test_the_form_shows_a_message_error_in_place(alice: User, tiers: dict[str, Plan]) -> None:
    response = login(alice).post(
        reverse("app:tier-request", args=["enterprise"]), {"message": "x" * 2001}
    )
    assert response.status_code == 200
    assert "Keep it under 2,000 characters." in response.content.decode()
    assert not TierRequest.objects.exists()


def test_a_self_serve_tier_has_no_request_form(alice: User, tiers: dict[str, Plan]) -> None:
    assert login(alice).get(reverse("app:tier-request", args=["premium"])).status_code == 404


def test_a_member_sees_the_state_but_cannot_ask(
    asked: TierRequest, maria: User, tiers: dict[str, Plan]
) -> None:
    client = login(maria)
    page = client.get(reverse("app:tier")).content.decode()
    assert "Your request for the Enterprise tier is waiting for approval." in page
    assert "Withdraw request" not in page

    tier_request_withdraw(actor=asked.requested_by, request=asked)
    page = client.get(reverse("app:tier")).content.decode()
    assert "Only an owner of Acme can request this tier." in page
    assert "Request access" not in page
    response = client.post(reverse("app:tier-request", args=["enterprise"]), {"message": "x"})
    assert response.status_code == 403
    assert TierRequest.objects.pending().count() == 0


def test_the_tier_page_shows_a_rejection_with_its_reason_then_an_approval(
    asked: TierRequest, admin: User, alice: User, acme: Customer
) -> None:
    tier_request_reject(actor=admin, request=asked, reason="Tell us about your traffic.")
    page = login(alice).get(reverse("app:tier")).content.decode()
    assert "was not approved" in page and "Tell us about your traffic." in page
    assert "Request access" in page  # they may ask again

    again = tier_request_create(actor=alice, customer=acme, plan=asked.plan)
    tier_request_approve(actor=admin, request=again)
    page = login(alice).get(reverse("app:tier")).content.decode()
    assert "Your request for the Enterprise tier was approved" in page
    assert active_tier(acme) == "Enterprise"


def test_withdraw_from_the_tier_page(asked: TierRequest, alice: User, bob: User) -> None:
    url = reverse("app:tier-request-withdraw", args=[asked.pk])
    assert login(bob).post(url).status_code == 404  # another organisation's request
    response = login(alice).post(url, follow=True)
    assert "is withdrawn" in response.content.decode()
    asked.refresh_from_db()
    assert asked.state == TierRequestState.WITHDRAWN


def test_leaving_an_approval_tier_asks_for_confirmation_first(
    admin: User, alice: User, acme: Customer, tiers: dict[str, Plan]
) -> None:
    subscription_switch(actor=admin, customer=acme, plan=tiers["Enterprise"], by_staff=True)
    client = login(alice)
    page = client.get(reverse("app:tier")).content.decode()
    assert "Coming back to Enterprise needs approval again." in page

    response = client.post(reverse("app:tier-switch"), {"plan": "free"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Coming back to Enterprise needs approval again." in body
    assert 'name="confirmed" value="1"' in body
    assert active_tier(acme) == "Enterprise"  # nothing changed yet

    response = client.post(reverse("app:tier-switch"), {"plan": "free", "confirmed": "1"})
    assert response.status_code == 302
    assert active_tier(acme) == "Free"


# --- the console's queue ------------------------------------------------------------------------


def test_staff_see_the_queue_and_the_badge(
    asked: TierRequest, admin: User, ops: User, alice: User
) -> None:
    page = login(ops).get(reverse("console:tier-requests")).content.decode()
    assert "Acme" in page and "2M calls a month" in page and "On Free now" in page
    assert 'data-testid="pending-tier-requests"' in page and ">1</span>" in page
    assert "Only admins approve or reject requests." in page
    assert reverse("console:tier-request-approve", args=[asked.pk]) not in page

    page = login(admin).get(reverse("console:overview")).content.decode()
    assert 'data-testid="pending-tier-requests"' in page
    page = login(admin).get(reverse("console:tier-requests")).content.decode()
    assert reverse("console:tier-request-approve", args=[asked.pk]) in page
    assert 'name="reason"' in page
    # Customers have no badge, and no queue.
    page = login(alice).get(reverse("app:tier")).content.decode()
    assert "pending-tier-requests" not in page
    assert login(alice).get(reverse("console:tier-requests")).status_code == 403


def test_an_admin_approves_from_the_queue(
    asked: TierRequest, admin: User, acme: Customer, sent_tasks: list[Any]
) -> None:
    response = login(admin).post(
        reverse("console:tier-request-approve", args=[asked.pk]), follow=True
    )
    page = response.content.decode()
    assert "Approved: Acme is on Enterprise" in page
    assert "No pending tier requests." in page
    assert 'data-testid="pending-tier-requests"' not in page
    assert active_tier(acme) == "Enterprise"
    decided = login(admin).get(reverse("console:tier-requests") + "?state=all").content.decode()
    assert "Approved on" in decided and admin.email in decided


def test_an_admin_rejects_from_the_queue_only_with_a_reason(
    asked: TierRequest, admin: User, ops: User, acme: Customer
) -> None:
    url = reverse("console:tier-request-reject", args=[asked.pk])
    assert login(ops).post(url, {"reason": "No"}).status_code == 403
    response = login(admin).post(url, {"reason": ""}, follow=True)
    assert "Not rejected: Say why: the customer reads the reason." in response.content.decode()
    asked.refresh_from_db()
    assert asked.is_pending

    response = login(admin).post(url, {"reason": "Not yet"}, follow=True)
    assert "Rejected Acme" in response.content.decode()
    asked.refresh_from_db()
    assert asked.state == TierRequestState.REJECTED and asked.reason == "Not yet"
    assert active_tier(acme) == "Free"
