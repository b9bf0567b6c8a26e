from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.usage.metrics import RANGES, refresh_api_metrics


class Command(BaseCommand):
    help = (
        "Read the ops page's API metrics from CloudWatch (one GetMetricData call per range) "
        "into the cache, so the next viewers do not wait for AWS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--range",
            action="append",
            choices=sorted(RANGES),
            dest="ranges",
            help="A range to read (repeatable); all of them by default.",
        )

    def handle(self, *args: Any, ranges: list[str] | None = None, **options: Any) -> None:
        failed = False
        for key, fetched in refresh_api_metrics(ranges or list(RANGES)).items():
            if fetched.error:
                failed = True
                self.stderr.write(f"{key}: {fetched.error}")
            elif fetched.metrics is None:
                self.stdout.write(f"{key}: no API stage is offered to tiers yet")
            else:
                self.stdout.write(f"{key}: read at {fetched.fetched_at:%H:%M:%S} UTC")
        if failed:
            raise CommandError("CloudWatch did not answer for every range.")
