"""`manage.py move_tier --from SLUG --to SLUG [--dry-run] [--wait]`: the same service as the
console and the API."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from keys.models import ApiKey
from keys.services import key_create
from plans.models import Plan, Subscription, TierMove
from portal.audit.models import AuditEvent
from portal.customers.models import Customer


def run(*args: str) -> str:
    out = StringIO()
    call_command("move_tier", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_dry_run_says_what_would_move_and_changes_nothing(
    tiers: dict[str, Plan], acme_key: ApiKey, globex_key: ApiKey
) -> None:
    out = run("--from", "free", "--to", "premium", "--dry-run")
    assert "Dry run: 2 customers and 2 keys would move from Free to Premium: 4 API" in out
    assert not TierMove.objects.exists()


@pytest.mark.django_db
def test_it_queues_the_move_for_a_worker(
    tiers: dict[str, Plan],
    acme_key: ApiKey,
    globex_key: ApiKey,
    sent_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        out = run("--from", "free", "--to", "premium")
    move = TierMove.objects.get()
    assert f"Queued; follow it at /console/tiers/moves/{move.pk}/." in out
    assert sent_tasks == [("plans.tasks.run_tier_move", (move.pk,))]
    assert AuditEvent.objects.filter(action="tier_move.started", actor=None).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "free", "--to", "gold"), "No tier has the slug “gold”."),
        (("--from", "free", "--to", "free"), "Choose another tier"),
        (("--from", "enterprise", "--to", "free"), "No customer is on the Enterprise tier."),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    tiers: dict[str, Plan], acme_key: ApiKey, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not TierMove.objects.exists()


@pytest.mark.integration
def test_wait_moves_everyone_and_waits_for_their_keys(
    initech: Customer, live_tiers: dict[str, Plan], settle: Any
) -> None:
    for name in ("a", "b"):
        key_create(actor=None, customer=initech, name=name)
    settle()
    out = run("--from", "free", "--to", "premium", "--wait")
    assert "1 moved, 0 refused, 0 failed; 2 of 2 keys in API Gateway, 0 failed." in out
    assert Subscription.objects.get(customer=initech, status="active").plan.slug == "premium"
    assert set(ApiKey.objects.values_list("sync_status", flat=True)) == {"synced"}
