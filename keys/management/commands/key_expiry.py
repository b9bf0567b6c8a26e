"""`manage.py key_expiry <key id> (--at WHEN | --clear)`: set or clear a key's expiry from a
shell, through keys.expiry.key_set_expiry (validated and audited like the pages and the API)."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from keys.expiry import FORMAT_HELP, key_set_expiry, parse_expiry
from keys.models import ApiKey


class Command(BaseCommand):
    help = "Set (--at) or clear (--clear) the expiry of an API key, named by its id (a UUID)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help="the key's id, as the REST API and the key page show it")
        when = parser.add_mutually_exclusive_group(required=True)
        when.add_argument("--at", help=f"when it expires. {FORMAT_HELP}")
        when.add_argument("--clear", action="store_true", help="the key no longer expires")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = ApiKey.objects.select_related("customer").get(public_id=uuid.UUID(options["key"]))
        except (ValueError, ApiKey.DoesNotExist):
            raise CommandError(f"No API key has the id {options['key']!r}.") from None
        try:
            expires_at = None if options["clear"] else parse_expiry(options["at"])
            key = key_set_expiry(actor=None, key=key, expires_at=expires_at)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if key.expires_at is None:
            self.stdout.write(f"{key.customer.name} / {key.name}: does not expire.")
        else:
            self.stdout.write(
                f"{key.customer.name} / {key.name}: expires {key.expires_at:%Y-%m-%d %H:%M} UTC "
                f"(in {key.expires_in}); API Gateway refuses it from then on."
            )
