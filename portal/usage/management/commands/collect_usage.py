from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.usage.alerts import send_quota_alerts
from portal.usage.services import collect_usage


class Command(BaseCommand):
    help = "Read per-key usage from API Gateway (GetUsage) into the database; send quota alerts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=0, help="Re-read this many past days (at most 90)."
        )

    def handle(self, *args: Any, days: int = 0, **options: Any) -> None:
        result = collect_usage(backfill_days=min(max(days, 0), 90))
        alerts = send_quota_alerts()
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.tiers} tiers, {result.keys} keys, {result.rows} day rows upserted "
                f"with {result.calls} GetUsage calls; {alerts} quota alerts sent."
            )
        )
