from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.customers.models import Customer
from portal.reconcile.adoption import adopt_usage_plan


class Command(BaseCommand):
    help = "Import a usage plan created outside Tollgate as a tier, its keys as a customer's keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("usage_plan_id")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--customer", help="slug of an existing customer without a tier")
        target.add_argument("--new-customer", help="name of a customer to create")
        parser.add_argument("--tier-name", default="", help="defaults to the usage plan's name")

    def handle(self, *args: Any, **options: Any) -> None:
        customer = None
        if options["customer"]:
            customer = Customer.objects.filter(slug=options["customer"]).first()
            if customer is None:
                raise CommandError(f"No customer with slug {options['customer']!r}.")
        try:
            result = adopt_usage_plan(
                actor=None,
                aws_plan_id=options["usage_plan_id"],
                customer=customer,
                new_customer_name=options["new_customer"] or "",
                tier_name=options["tier_name"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Tier “{result.plan.name}” imported; {result.keys_imported} keys now belong to "
                f"{result.customer.name}."
            )
        )
