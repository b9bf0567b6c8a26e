"""`manage.py rotate_key <public_id> --grace 24h [--by EMAIL]`: roll a key from a shell, through
keys.rotation.key_rotate, the service behind the key page and `POST /api/v1/keys/{id}/rotate`.

With --by, that person rolls it (the access policy applies) and is the new key's creator;
without, Tollgate acts for the system and the old key's creator becomes the new key's. Either
way the creator reveals the new secret once, on the key page or with the REST API: the command
never prints a secret."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from keys.models import ApiKey
from keys.rotation import GRACES, grace_named, key_rotate
from portal.accounts.models import User
from portal.errors import Refused


class Command(BaseCommand):
    help = "Roll an API key: a new key at once, the old one working for a grace period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("public_id", help="the key's id (a UUID, as in the REST API)")
        parser.add_argument(
            "--grace",
            required=True,
            choices=list(GRACES),
            help="how long the old key keeps working: none, 1h, 24h or 7d",
        )
        parser.add_argument("--by", help="who rolls it (email); default: the system")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            public_id = uuid.UUID(options["public_id"])
        except ValueError as exc:
            raise CommandError(f"{options['public_id']!r} is not a key id (a UUID).") from exc
        key = ApiKey.objects.select_related("customer").filter(public_id=public_id).first()
        if key is None:
            raise CommandError(f"No key has the id {public_id}.")
        actor = None
        if options["by"]:
            actor = User.objects.filter(email__iexact=options["by"]).first()
            if actor is None:
                raise CommandError(f"Nobody has the address {options['by']!r}.")
        try:
            new = key_rotate(actor=actor, key=key, grace=grace_named(options["grace"]))
        except Refused as exc:
            raise CommandError(exc.message) from exc
        key.refresh_from_db()
        until = (
            "retired now"
            if key.is_revoked
            else f"works until {key.grace_ends_at:%Y-%m-%d %H:%M} UTC"
        )
        creator = new.created_by.email if new.created_by else "nobody (an imported key)"
        self.stdout.write(
            f"Rolled {key.public_id} ({key.customer.name} / {key.name}): {until}.\n"
            f"New key {new.public_id} ({new.name}); {creator} reveals its secret once on the "
            "key page or with POST /api/v1/keys/{id}/reveal."
        )
