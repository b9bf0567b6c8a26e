"""Bulk tier moves: "move every customer on Free to Free 2027", at AWS's pace, resumable.

Each customer moves through `plans.services.subscription_switch` (by_staff=True) — the rule of a
single switch, its capacity refusals and its one audit event — in a transaction of its own that
also writes the customer's `TierMoveItem`. So the work left is always "customers still on the
source tier without an item in this move": a run that dies (a worker killed, a deploy) is
continued by the next delivery of the task, the Resume button or `stalled_moves`' sweep, and no
customer is moved twice or lost.

The keys' AWS moves are the ordinary key syncs (`keys.tasks.sync_key`, sent by the switch on
commit) through the one rate limiter (portal/aws/limiter.py). The move adds no second
limiter; it only keeps the queue short: it moves the next batch once the keys waiting for AWS
are fewer than WINDOW_SECONDS of the account's budget, and otherwise hands over with a countdown
of about the time the limiter needs to drain them. Flooding the queue instead (50,000 sync_key
messages at once) would make every one of them take the budget's RateBudgetWait and come back
as a retry held in a worker's memory, and would put a customer's own key change behind the
whole move; with the window a key created meanwhile waits seconds, not hours.

One job per module: this one starts, cancels and resumes moves (the services) and reads them
for the pages; `plans.move_estimate` counts what a move takes and keeps its pace;
`plans.move_runner` is the task's body.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from plans.locations import tier_locations
from plans.models import (
    ACTIVE_MOVE_STATUSES,
    Plan,
    TierMove,
    TierMoveItem,
    TierMoveOutcome,
    TierMoveStatus,
)
from plans.move_estimate import count_customers_and_keys, customers_on
from plans.move_runner import refresh_counts
from plans.signals import keys_joining_places
from portal.access import may_change_anything
from portal.audit.services import audit
from portal.errors import NotAllowed, NotReady
from portal.sync import enqueue_on_commit

# plans.tasks.run_tier_move, sent by name like every task a service schedules.
RUN_MOVE_TASK = "plans.tasks.run_tier_move"
STALLED_AFTER = timedelta(minutes=2)  # an active move unchanged this long lost its task
SHOWN_PROBLEMS = 500
ADMIN_ONLY = "Only Tollgate admins can move customers between tiers."


def _require_admin(actor: Any) -> None:
    """Admins; None is Tollgate itself (the CLI, run by someone with a shell on the server)."""
    if actor is not None and not may_change_anything(actor):
        raise NotAllowed(ADMIN_ONLY)


def _active_move_touching(*plans: Plan, excluding: TierMove | None = None) -> TierMove | None:
    ids = [plan.pk for plan in plans]
    moves = TierMove.objects.filter(status__in=ACTIVE_MOVE_STATUSES).filter(
        Q(from_plan_id__in=ids) | Q(to_plan_id__in=ids)
    )
    if excluding is not None:
        moves = moves.exclude(pk=excluding.pk)
    return moves.select_related("from_plan", "to_plan").first()


def _refuse_running(*plans: Plan, excluding: TierMove | None = None) -> None:
    running = _active_move_touching(*plans, excluding=excluding)
    if running is not None:
        # A second move into or out of a tier a move is filling or emptying would chase the
        # first one's customers: one at a time.
        raise NotReady(
            f"Move {running.pk} ({running.from_plan.name} → {running.to_plan.name}) is still "
            "running; cancel it or wait for it to finish first."
        )


def refuse_move_past_caps(*, from_plan: Plan, to_plan: Plan) -> None:
    """The keys of every customer on `from_plan` get a copy in each place `to_plan` covers that
    `from_plan` does not: the same refusal as one switch's, for all of them at once
    (keys/capacity.py counts and refuses)."""
    old = {place.key for place in tier_locations(from_plan)}
    adding = {
        place.key: place.location for place in tier_locations(to_plan) if place.key not in old
    }
    if adding:
        # customer=None: every customer on `plan`, here the tier they are leaving.
        keys_joining_places.send(sender=Plan, plan=from_plan, customer=None, places=adding)


def refuse_move(*, from_plan: Plan, to_plan: Plan) -> None:
    """Why the move cannot start (ValidationError naming the field, or NotReady)."""
    if from_plan.pk == to_plan.pk:
        raise ValidationError({"to_tier": ["Choose another tier to move the customers to."]})
    if to_plan.is_archived:
        raise ValidationError(
            {"to_tier": [f"The {to_plan.name} tier is archived; move customers to a live tier."]}
        )
    _refuse_running(from_plan, to_plan)
    if not customers_on(from_plan).exists():
        raise ValidationError({"from_tier": [f"No customer is on the {from_plan.name} tier."]})
    try:
        refuse_move_past_caps(from_plan=from_plan, to_plan=to_plan)
    except ValidationError as exc:
        raise ValidationError({"to_tier": exc.messages}) from exc


def tier_move_start(
    *,
    actor: Any,
    from_plan: Plan,
    to_plan: Plan,
    ip: str | None = None,
    enqueue: bool = True,
) -> TierMove:
    """Queue "move every customer on `from_plan` to `to_plan`". `enqueue=False`: the caller
    runs it itself (the CLI's --wait)."""
    _require_admin(actor)
    with transaction.atomic():
        # Two admins starting the same move at once: the second waits here, then is refused.
        from_plan = Plan.objects.select_for_update().get(pk=from_plan.pk)
        to_plan = Plan.objects.get(pk=to_plan.pk)
        refuse_move(from_plan=from_plan, to_plan=to_plan)
        customers, keys = count_customers_and_keys(customers_on(from_plan))
        move = TierMove.objects.create(
            from_plan=from_plan,
            to_plan=to_plan,
            created_by=actor if getattr(actor, "pk", None) else None,
            ip=ip or None,
            customers_total=customers,
            keys_total=keys,
        )
        audit(
            actor=actor,
            action="tier_move.started",
            target=move,
            after={
                "from": from_plan.slug,
                "to": to_plan.slug,
                "customers": customers,
                "keys": keys,
            },
            ip=ip,
        )
        if enqueue:
            enqueue_on_commit(RUN_MOVE_TASK, move.pk)
    return move


def tier_move_cancel(*, actor: Any, move: TierMove, ip: str | None = None) -> TierMove:
    """Stop before the next customer; those moved stay on the new tier (their keys go on
    syncing), the rest stay where they are."""
    _require_admin(actor)
    now = timezone.now()
    with transaction.atomic():
        stopped = TierMove.objects.filter(pk=move.pk, status__in=ACTIVE_MOVE_STATUSES).update(
            status=TierMoveStatus.CANCELLED, finished_at=now, updated_at=now
        )
        if not stopped:
            raise NotReady("This move has already finished; there is nothing to cancel.")
        move.refresh_from_db()
        audit(
            actor=actor,
            action="tier_move.cancelled",
            target=move,
            after={
                "moved": move.customers_moved,
                "left": move.customers_total - move.customers_done,
            },
            ip=ip,
        )
    refresh_counts(move)
    return move


def tier_move_resume(*, actor: Any, move: TierMove, ip: str | None = None) -> TierMove:
    """Send the task again (a broker that was down, a worker that died holding it, a move that
    gave up after its retries); customers already settled are not taken again."""
    _require_admin(actor)
    if move.status not in (*ACTIVE_MOVE_STATUSES, TierMoveStatus.FAILED):
        raise NotReady(f"This move is {move.get_status_display().lower()}; start a new one.")
    with transaction.atomic():
        _refuse_running(move.from_plan, move.to_plan, excluding=move)
        if move.status == TierMoveStatus.FAILED:
            TierMove.objects.filter(pk=move.pk).update(
                status=TierMoveStatus.QUEUED, finished_at=None, updated_at=timezone.now()
            )
            move.refresh_from_db()
        audit(actor=actor, action="tier_move.resumed", target=move, ip=ip)
        enqueue_on_commit(RUN_MOVE_TASK, move.pk)
    return move


def is_stalled(move: TierMove) -> bool:
    return move.is_active and timezone.now() - move.updated_at > STALLED_AFTER


def stalled_moves() -> list[int]:
    """Active moves nobody has advanced for STALLED_AFTER (the beat sends them again)."""
    cutoff = timezone.now() - STALLED_AFTER
    return list(
        TierMove.objects.filter(status__in=ACTIVE_MOVE_STATUSES, updated_at__lt=cutoff)
        .values_list("pk", flat=True)
        .order_by("pk")
    )


# --- reads for the pages and the API ----------------------------------------------------------


def recent_moves(limit: int = 20) -> QuerySet[TierMove]:
    return TierMove.objects.select_related("from_plan", "to_plan", "created_by")[:limit]


def move_problems(move: TierMove) -> QuerySet[TierMoveItem]:
    """The customers who did not move, and why (the first SHOWN_PROBLEMS)."""
    return move.items.exclude(outcome=TierMoveOutcome.MOVED).order_by("pk")[:SHOWN_PROBLEMS]
