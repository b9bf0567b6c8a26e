from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.connections.models import AwsConnection
from portal.connections.services import connection_check, connection_create, connection_default


class Command(BaseCommand):
    help = (
        "List AWS connections, add one, or check one now (in this process, no worker needed): "
        "the same services as the console's AWS connection pages."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help="Every connection, its account and its last check.")
        add = actions.add_parser("add", help="Add a connection (checked by a worker).")
        add.add_argument("name")
        add.add_argument("--region", action="append", required=True, dest="regions")
        add.add_argument("--role-arn", default="", help="Blank: Tollgate's own credentials.")
        add.add_argument("--external-id", default="")
        check = actions.add_parser("check", help="Check a connection now and print the report.")
        check.add_argument("name", nargs="?", help="Default: the default connection.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "add":
            try:
                connection = connection_create(
                    actor=None,
                    name=options["name"],
                    role_arn=options["role_arn"],
                    external_id=options["external_id"],
                    regions=options["regions"],
                )
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            self.stdout.write(self.style.SUCCESS(f"Added “{connection.name}”; a worker checks it."))
            return
        if action == "check":
            self._check(options.get("name"))
            return
        connection_default()
        for connection in AwsConnection.objects.all():
            default = " (default)" if connection.is_default else ""
            self.stdout.write(
                f"{connection.name}{default}: account {connection.account_id or '?'}, "
                f"{', '.join(connection.regions)}, {connection.get_check_status_display()}"
            )

    def _check(self, name: str | None) -> None:
        connection = (
            AwsConnection.objects.filter(name=name).first() if name else connection_default()
        )
        if connection is None:
            raise CommandError(f"No connection named “{name}”.")
        connection = connection_check(connection=connection)
        self.stdout.write(f"{connection.name}: account {connection.account_id or 'unknown'}")
        if connection.problem:
            raise CommandError(connection.problem)
        for words in connection.missing:
            self.stdout.write(self.style.WARNING(words))
        if not connection.missing:
            self.stdout.write(self.style.SUCCESS("Every permission Tollgate needs is there."))
