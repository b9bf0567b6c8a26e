"""Bulk data at scale for benchmarks: `manage.py seed_scale --customers 10000 --keys-per-customer
5 --regions us-east-1,eu-west-1 --days 90 [--with-aws] [--force]` (demo/scale.py does the work).

Refuses to run on a database that already holds seed_scale customers unless --force (which adds
another batch after them). --regions is used only when no live tier exists: Free, Premium and
Enterprise are then made on an available stage per region (a placeholder stage row where none is
found); otherwise the live tiers' own regions decide where the keys live.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo import scale, scale_aws


class Command(BaseCommand):
    help = "Bulk customers, keys and usage at scale (bulk_create), for benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=1000)
        parser.add_argument("--keys-per-customer", type=int, default=5)
        parser.add_argument("--regions", default="us-east-1,eu-west-1")
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--seed", type=int, default=1, help="random seed")
        parser.add_argument(
            "--with-aws",
            action="store_true",
            help="also import the keys into AWS_ENDPOINT_URL's API Gateway (ImportApiKeys; "
            "at most 10,000 keys per account and region)",
        )
        parser.add_argument(
            "--force", action="store_true", help="add another batch to existing seed_scale data"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        regions = [r.strip() for r in options["regions"].split(",") if r.strip()]
        customers, per, days = options["customers"], options["keys_per_customer"], options["days"]
        if customers < 1 or per < 0 or days < 0 or not regions:
            raise CommandError("--customers ≥ 1, --keys-per-customer ≥ 0, --days ≥ 0, a region.")
        if scale.has_seed_data() and not options["force"]:
            raise CommandError(
                "This database already has seed_scale data (customers with slugs "
                f"'{scale.SLUG_PREFIX}…'). Run with --force to add another batch."
            )
        on_keys = None
        if options["with_aws"]:
            tiers = scale.live_tiers(regions) if scale.has_live_tiers() else []
            if not tiers:
                raise CommandError(
                    "--with-aws needs live tiers synced to AWS: run manage.py seed_demo first."
                )
            scale_aws.check_capacity(tiers, customers * per)
            on_keys = scale_aws.Importer(scale_aws.check_tiers(tiers))
        began = time.monotonic()
        done = scale.seed(
            customers=customers,
            keys_per_customer=per,
            regions=regions,
            days=days,
            seed_value=options["seed"],
            on_keys=on_keys,
        )
        if on_keys is not None:
            linked = on_keys.link()
            self.stdout.write(f"ImportApiKeys: {on_keys.calls} calls; {linked:,} copies linked")
        self.stdout.write(
            f"seed_scale: {done.customers:,} customers, {done.keys:,} keys, {done.copies:,} key "
            f"copies, {done.usage_days:,} usage days in {time.monotonic() - began:.1f} s"
        )
