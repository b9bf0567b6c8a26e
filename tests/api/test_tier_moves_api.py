"""/api/v1/tier-moves: admins start, cancel and resume bulk tier moves; ops read; customers
get nothing; bad input is a 400 that changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from keys.models import ApiKey
from plans.models import Plan, Subscription, TierMove
from plans.move_runner import run_move
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from tests.fixtures.api import api_as

pytestmark = pytest.mark.django_db
URL = "/api/v1/tier-moves"


@pytest.fixture
def on_free(acme: Customer, globex: Customer, acme_key: ApiKey, globex_key: ApiKey) -> Any:
    return [acme, globex]


def nothing_changed() -> None:
    assert not TierMove.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="tier_move").exists()
    assert {s.plan.name for s in Subscription.objects.filter(status="active")} == {"Free"}


def test_an_admin_starts_a_move_and_follows_it(
    admin: User,
    ops: User,
    tiers: dict[str, Plan],
    on_free: Any,
    sent_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(admin).post(URL, {"from_tier": "free", "to_tier": "premium"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["from_tier"], body["to_tier"], body["status"]) == ("free", "premium", "queued")
    assert (body["customers_total"], body["keys_total"], body["not_moved"]) == (2, 2, [])
    assert sent_tasks == [("plans.tasks.run_tier_move", (body["id"],))]

    run_move(body["id"])
    detail = api_as(ops).get(f"{URL}/{body['id']}").json()
    assert (detail["status"], detail["customers_moved"], detail["keys_waiting"]) == (
        "running",
        2,
        2,
    )
    listed = api_as(ops).get(URL).json()["results"]
    assert [m["id"] for m in listed] == [body["id"]]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"from_tier": "free", "to_tier": "free"}, "to_tier", "Choose another tier"),
        ({"from_tier": "free", "to_tier": "platinum"}, "to_tier", "No tier has the slug"),
        ({"from_tier": "enterprise", "to_tier": "free"}, "from_tier", "No customer is on"),
        ({"from_tier": "free"}, "to_tier", "required"),
        ({"from_tier": "free", "to_tier": ["x"]}, "to_tier", "valid"),
    ],
)
def test_bad_input_is_a_400_that_changes_nothing(
    admin: User, tiers: dict[str, Plan], on_free: Any, body: Any, field: str, message: str
) -> None:
    response = api_as(admin).post(URL, body)
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()["errors"][field])
    nothing_changed()


def test_a_second_move_on_the_same_tier_is_a_409(
    admin: User, tiers: dict[str, Plan], on_free: Any
) -> None:
    first = api_as(admin).post(URL, {"from_tier": "free", "to_tier": "premium"}).json()
    response = api_as(admin).post(URL, {"from_tier": "premium", "to_tier": "free"})
    assert response.status_code == 409
    assert f"Move {first['id']} (Free → Premium) is still running" in response.json()["detail"]
    assert TierMove.objects.count() == 1


def test_ops_and_customers_cannot_start_one(
    ops: User, alice: User, tiers: dict[str, Plan], on_free: Any
) -> None:
    body = {"from_tier": "free", "to_tier": "premium"}
    assert api_as(ops).post(URL, body).status_code == 403
    assert api_as(alice).post(URL, body).status_code == 403
    assert api_as(alice).get(URL).status_code == 403
    assert api_as(None).get(URL).status_code == 401
    nothing_changed()


def test_cancel_then_resume_is_refused(admin: User, tiers: dict[str, Plan], on_free: Any) -> None:
    move = api_as(admin).post(URL, {"from_tier": "free", "to_tier": "premium"}).json()
    assert api_as(admin).post(f"{URL}/{move['id']}/resume").status_code == 202
    cancelled = api_as(admin).post(f"{URL}/{move['id']}/cancel")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert api_as(admin).post(f"{URL}/{move['id']}/cancel").status_code == 409
    assert api_as(admin).post(f"{URL}/{move['id']}/resume").status_code == 409
    assert api_as(admin).get(f"{URL}/999999").status_code == 404
    actions = AuditEvent.objects.filter(action__startswith="tier_move").values_list("action")
    assert sorted(a for (a,) in actions) == [
        "tier_move.cancelled",
        "tier_move.resumed",
        "tier_move.started",
    ]
