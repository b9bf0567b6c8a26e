"""The console's tier move pages: the form and its estimate, the start, the progress polled by
htmx, cancel and resume; ops read, customers never reach them."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from keys.models import ApiKey
from plans.models import Plan, Subscription, TierMove
from plans.move_runner import run_move
from plans.moves import tier_move_start
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_free(acme: Customer, globex: Customer, acme_key: ApiKey, globex_key: ApiKey) -> Any:
    return [acme, globex]


def test_the_tier_list_offers_the_move_to_admins_only(
    admin: User, ops: User, tiers: dict[str, Plan], on_free: Any
) -> None:
    link = reverse("console:tier-move-new") + "?from_tier=free"
    assert link in login(admin).get(reverse("console:tiers")).content.decode()
    assert link not in login(ops).get(reverse("console:tiers")).content.decode()


def test_the_form_shows_what_would_move_and_how_long(
    admin: User, tiers: dict[str, Plan], on_free: Any
) -> None:
    page = login(admin).get(
        reverse("console:tier-move-new"), {"from_tier": "free", "to_tier": "premium"}
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert "<strong>2 customers</strong> and <strong>2 keys</strong> would move: 4 API" in body
    assert "DeleteUsagePlanKey + CreateUsagePlanKey per key" in body
    assert "Free is the default tier" in body
    assert not TierMove.objects.exists()


def test_the_form_refuses_with_the_reason_and_changes_nothing(
    admin: User, tiers: dict[str, Plan], on_free: Any
) -> None:
    client = login(admin)
    preview = client.get(reverse("console:tier-move-new"), {"from_tier": "free", "to_tier": "free"})
    assert "Choose another tier to move the customers to." in preview.content.decode()
    assert "tier-move-estimate" not in preview.content.decode()
    for data, message in (
        ({"from_tier": "free", "to_tier": "free"}, "Choose another tier"),
        ({"from_tier": "free", "to_tier": "platinum"}, "Choose a live tier to move customers to."),
        ({"from_tier": "enterprise", "to_tier": "free"}, "No customer is on the Enterprise tier."),
    ):
        response = client.post(reverse("console:tier-move-new"), data)
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not TierMove.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="tier_move").exists()


def test_an_admin_starts_a_move_and_watches_it(
    admin: User,
    tiers: dict[str, Plan],
    on_free: list[Customer],
    sent_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("console:tier-move-new"), {"from_tier": "free", "to_tier": "premium"}
        )
    move = TierMove.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:tier-move", args=[move.pk])
    assert sent_tasks == [("plans.tasks.run_tier_move", (move.pk,))]

    detail = client.get(response["Location"]).content.decode()
    assert "Tier move" in detail and "Free → Premium" in detail
    progress_url = reverse("console:tier-move-progress", args=[move.pk])
    assert f'hx-get="{progress_url}"' in detail  # polled while it runs

    run_move(move.pk)
    partial = client.get(progress_url).content.decode()
    assert "2 of 2 customers moved" in partial
    assert "0 of 2 keys in the new tier" in partial and "2 on their way" in partial
    assert {s.plan.name for s in Subscription.objects.filter(status="active")} == {"Premium"}
    listing = client.get(reverse("console:tier-moves")).content.decode()
    assert reverse("console:tier-move", args=[move.pk]) in listing


def test_cancel_and_resume(admin: User, tiers: dict[str, Plan], on_free: Any) -> None:
    move = tier_move_start(actor=admin, from_plan=tiers["Free"], to_plan=tiers["Premium"])
    client = login(admin)
    resumed = client.post(reverse("console:tier-move-resume", args=[move.pk]), follow=True)
    assert "Sent the move to a worker again." in resumed.content.decode()
    cancelled = client.post(reverse("console:tier-move-cancel", args=[move.pk]), follow=True)
    assert "Move cancelled" in cancelled.content.decode()
    assert TierMove.objects.get().status == "cancelled"
    again = client.post(reverse("console:tier-move-cancel", args=[move.pk]), follow=True)
    assert "already finished" in again.content.decode()
    assert {s.plan.name for s in Subscription.objects.filter(status="active")} == {"Free"}


def test_ops_read_and_cannot_start_or_cancel(
    ops: User, admin: User, tiers: dict[str, Plan], on_free: Any
) -> None:
    move = tier_move_start(actor=admin, from_plan=tiers["Free"], to_plan=tiers["Premium"])
    client = login(ops)
    assert client.get(reverse("console:tier-move", args=[move.pk])).status_code == 200
    assert (
        "Cancel the move"
        not in client.get(reverse("console:tier-move", args=[move.pk])).content.decode()
    )
    data = {"from_tier": "free", "to_tier": "premium"}
    assert client.get(reverse("console:tier-move-new")).status_code == 403
    assert client.post(reverse("console:tier-move-new"), data).status_code == 403
    assert client.post(reverse("console:tier-move-cancel", args=[move.pk])).status_code == 403
    assert TierMove.objects.get().status == "queued"


def test_customers_never_reach_the_pages(
    alice: User, admin: User, tiers: dict[str, Plan], on_free: Any
) -> None:
    move = tier_move_start(actor=admin, from_plan=tiers["Free"], to_plan=tiers["Premium"])
    client = login(alice)
    for url in (
        reverse("console:tier-moves"),
        reverse("console:tier-move", args=[move.pk]),
        reverse("console:tier-move-progress", args=[move.pk]),
    ):
        assert client.get(url).status_code == 403
    response = client.post(reverse("console:tier-move-cancel", args=[move.pk]))
    assert response.status_code == 403
    assert TierMove.objects.get().status == "queued"
