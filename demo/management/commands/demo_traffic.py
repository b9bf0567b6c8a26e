import os
import signal
import threading
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from demo.traffic import RealClock, TrafficLoop
from demo.traffic_aws import EveryPlace, HttpSender
from portal.usage.models import UsageDay

WAIT_EVERY = 2.0


class Command(BaseCommand):
    help = (
        "LOCAL DEMO ONLY: send a steady, bounded stream of real HTTP requests through the local "
        "API Gateway (AWS_ENDPOINT_URL) with the demo customers' keys - most within their "
        "throttle, a couple bursting over it, one running into its quota, a little 403 noise - "
        "until stopped. It first waits for seed_demo's simulated history (usage collected into "
        "the database), so it never races the simulator's writes. Sends requests only: the "
        "gateway meters usage and CloudWatch metrics itself."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--max-rate", type=float, default=15.0, help="Requests/s in all, at most (15)."
        )
        parser.add_argument("--workers", type=int, default=3, help="Requests in flight (3).")
        parser.add_argument(
            "--duration", type=float, default=0.0, help="Seconds to run (0: until stopped)."
        )
        parser.add_argument(
            "--no-wait", action="store_true", help="Start at once, not after seed_demo's data."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        endpoint_url = os.environ.get("AWS_ENDPOINT_URL", "")
        if not endpoint_url:
            raise CommandError(
                "AWS_ENDPOINT_URL is not set: demo traffic goes to the local AWS server only "
                "(make demo sets it)."
            )
        if not 0 < options["max_rate"] <= 50 or not 1 <= options["workers"] <= 8:
            raise CommandError("--max-rate must be in (0, 50] and --workers in 1-8.")
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        if not options["no_wait"]:
            self._wait_for_seed(stop)
        loop = TrafficLoop(
            EveryPlace(endpoint_url),
            HttpSender(endpoint_url),
            seed=options["seed"],
            clock=RealClock(stop),
            log=self._log,
            workers=options["workers"],
            max_rate=options["max_rate"],
        )
        self._log(f"sending to {endpoint_url}, at most {options['max_rate']:g} requests/s")
        started = time.monotonic()
        total = loop.run(duration=options["duration"] or None, stop=stop)
        self._log(f"stopped; in all: {total.line(time.monotonic() - started)}")

    def _wait_for_seed(self, stop: threading.Event) -> None:
        """Until seed_demo's 30 days of simulated usage are in: the simulator sets (not adds)
        each day's usage in the local AWS, which would overwrite today's live requests."""
        said = False
        while not stop.is_set():
            try:
                if UsageDay.objects.exists():
                    break
            except DatabaseError:  # not migrated yet, or locked by the seed's writes
                pass
            finally:
                connection.close()  # no SQLite connection held open while waiting
            if not said:
                self._log("waiting for the demo data (seed_demo) before sending")
                said = True
            stop.wait(WAIT_EVERY)

    def _log(self, text: str) -> None:
        self.stdout.write(f"demo traffic: {text}")
        self.stdout.flush()
