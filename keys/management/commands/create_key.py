"""`manage.py create_key <customer slug> <name> --by EMAIL [--expires-at WHEN]`: a new API key
from a shell, through keys.services.key_create. The person named by --by (in the organisation)
is its creator: they reveal its secret once, on the key page or with the REST API."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from keys.expiry import FORMAT_HELP, parse_expiry
from keys.services import key_create
from portal.accounts.models import User
from portal.customers.models import Customer


class Command(BaseCommand):
    help = "Create an API key for a customer (named by its slug), optionally with an expiry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer", help="the customer's slug, e.g. acme")
        parser.add_argument("name", help="the key's name, e.g. production")
        parser.add_argument("--by", required=True, help="the creator's email address")
        parser.add_argument("--expires-at", help=f"when it expires. {FORMAT_HELP}")

    def handle(self, *args: Any, **options: Any) -> None:
        customer = Customer.objects.filter(slug=options["customer"]).first()
        if customer is None:
            raise CommandError(f"No customer has the slug {options['customer']!r}.")
        creator = User.objects.filter(
            email__iexact=options["by"], memberships__customer=customer
        ).first()
        if creator is None:
            raise CommandError(f"Nobody in {customer.name} has the address {options['by']!r}.")
        try:
            expires_at = parse_expiry(options["expires_at"]) if options["expires_at"] else None
            key = key_create(
                actor=creator, customer=customer, name=options["name"], expires_at=expires_at
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        expiry = f", expires {key.expires_at:%Y-%m-%d %H:%M} UTC" if key.expires_at else ""
        self.stdout.write(f"Created {key.public_id} ({customer.name} / {key.name}{expiry}).")
