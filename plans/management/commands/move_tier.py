"""`manage.py move_tier --from free --to free-2027 [--dry-run] [--wait]`: the console's bulk
tier move, from a shell."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from plans.models import Plan, TierMove, TierMoveStatus
from plans.move_estimate import move_estimate
from plans.move_runner import run_move
from plans.moves import move_problems, refuse_move, tier_move_start
from portal.errors import Refused
from portal.sync import LockBusy, retry_countdown


def _tier(slug: str) -> Plan:
    plan = Plan.objects.filter(slug=slug).first()
    if plan is None:
        raise CommandError(f"No tier has the slug “{slug}”.")
    return plan


def _words(exc: ValidationError | Refused) -> str:
    return exc.message if isinstance(exc, Refused) else " ".join(exc.messages)


class Command(BaseCommand):
    help = (
        "Move every customer on one tier to another, through the same rule as one switch; "
        "their keys follow through the key syncs at the AWS rate budget."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="from_tier", required=True, help="source tier slug")
        parser.add_argument("--to", dest="to_tier", required=True, help="target tier slug")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="say what would move and how long; change nothing",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="move the customers here and now, then wait until their keys are in API "
            "Gateway (the key syncs need a running worker); without it a worker runs the move",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from_plan, to_plan = _tier(options["from_tier"]), _tier(options["to_tier"])
        try:
            if options["dry_run"]:
                refuse_move(from_plan=from_plan, to_plan=to_plan)
                estimate = move_estimate(from_plan, to_plan)
                self.stdout.write(
                    f"Dry run: {estimate.customers} customers and {estimate.keys} keys would "
                    f"move from {from_plan.name} to {to_plan.name}: {estimate.calls} API "
                    f"Gateway calls, at least {estimate.seconds:.0f} s at AWS's ceiling. "
                    "Nothing was changed."
                )
                for place in estimate.places:
                    self.stdout.write(
                        f"  {place.label}: {place.calls} calls ({place.how}), {place.seconds:.0f} s"
                    )
                return
            move = tier_move_start(
                actor=None, from_plan=from_plan, to_plan=to_plan, enqueue=not options["wait"]
            )
        except (ValidationError, Refused) as exc:
            raise CommandError(_words(exc)) from exc
        self.stdout.write(
            f"Move {move.pk}: {move.customers_total} customers, {move.keys_total} keys, "
            f"{from_plan.name} → {to_plan.name}."
        )
        if not options["wait"]:
            self.stdout.write(f"Queued; follow it at /console/tiers/moves/{move.pk}/.")
            return
        self._run(move)
        move.refresh_from_db()
        for item in move_problems(move):
            self.stdout.write(f"{item.customer_name}: {item.outcome}: {item.reason}")
        summary = (
            f"Move {move.pk} {move.get_status_display().lower()}: {move.customers_moved} "
            f"moved, {move.customers_refused} refused, {move.customers_failed} failed; "
            f"{move.keys_moved} of {move.keys_total} keys in API Gateway, "
            f"{move.keys_failed} failed."
        )
        if move.status != TierMoveStatus.DONE or move.customers_refused or move.keys_failed:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))

    def _run(self, move: TierMove) -> None:
        """The task's body, here and now, with its pauses while the keys catch up."""

        def progress(current: TierMove) -> None:
            self.stdout.write(
                f"  customers {current.customers_done}/{current.customers_total}, "
                f"keys in API Gateway {current.keys_moved}/{current.keys_total}"
            )

        waits = 0
        while True:
            try:
                step = run_move(move.pk, progress=progress)
            except LockBusy as exc:
                time.sleep(retry_countdown(exc, 0, waits))
                waits += 1
                continue
            if step.finished:
                return
            time.sleep(step.wait)
