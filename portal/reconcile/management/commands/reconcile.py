from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.reconcile.services import reconcile


class Command(BaseCommand):
    help = (
        "Compare the database with API Gateway: resync what never arrived, remove Tollgate's "
        "leftovers, mark drift for the console, list foreign objects for import."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would happen; change nothing."
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        report = reconcile(dry_run=dry_run)
        for line in report.lines():
            self.stdout.write(line)
        summary = report.summary()
        self.stdout.write(
            self.style.SUCCESS(
                f"{'Dry run: ' if dry_run else ''}{summary['tiers_checked']} tiers and "
                f"{summary['keys_checked']} keys checked; {summary['in_sync']} in sync, "
                f"{summary['resync']} to resync, {summary['drifted']} drifted, "
                f"{summary['removed']} leftovers removed, "
                f"{summary['foreign_usage_plans']} foreign usage plans, "
                f"{summary['foreign_keys']} foreign keys."
            )
        )
