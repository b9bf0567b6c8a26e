from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.simulator import simulate


class Command(BaseCommand):
    help = (
        "LOCAL DEMO ONLY: simulate realistic API traffic for every live key in AWS - per-key "
        "daily usage written to the local AWS server named by AWS_ENDPOINT_URL (its "
        "/_localaws/usage store, which real AWS does not have) and API Gateway's CloudWatch "
        "metrics (PutMetricData) - then collect the usage into the database. Re-running sets "
        "the same days' usage again, but adds the metrics a second time: run it once on a "
        "fresh local AWS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=30, help="UTC days to simulate, today included (1-90)."
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")

    def handle(self, *args: Any, days: int = 30, seed: int = 1, **options: Any) -> None:
        if not 1 <= days <= 90:
            raise CommandError("--days must be between 1 and 90.")
        try:
            result = simulate(days=days, seed=seed)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        collected = result.collected
        points = sum(len(p) for p in result.published.values())
        self.stdout.write(
            f"{result.keys} keys, {days} days: {result.requests:,} requests, "
            f"{result.throttled:,} answered 429 (throttle or quota), "
            f"{result.errors_4xx:,} 4XX in all, {result.errors_5xx:,} 5XX."
        )
        self.stdout.write(
            f"Local AWS: {len(result.usage):,} key-days of usage in {result.usage_calls} calls; "
            f"{points:,} metric periods on {len(result.published)} stages in "
            f"{result.metric_calls} PutMetricData calls."
        )
        if collected is not None:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Collected: {collected.rows} day rows for {collected.keys} keys "
                    f"with {collected.calls} GetUsage calls."
                )
            )
