"""`manage.py tiers export > tiers.yaml` and `manage.py tiers apply tiers.yaml [--dry-run] [--prune]`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from plans.tiers_file import (
    TiersFileError,
    apply_tiers,
    export_tiers,
    read_tiers_file,
    tiers_left_out,
)


class Command(BaseCommand):
    help = "Tiers as code: export the live tiers as YAML, or make them match a YAML file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("export", help="Print every live tier as YAML.")
        apply = sub.add_parser("apply", help="Make the tiers match a file (validated first).")
        apply.add_argument("file", help="The YAML file, or - for standard input.")
        apply.add_argument("--dry-run", action="store_true", help="Show the plan; change nothing.")
        apply.add_argument(
            "--prune", action="store_true", help="Archive live tiers the file leaves out."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "export":
            self.stdout.write(export_tiers(), ending="")
            return
        path = options["file"]
        if path == "-":
            text, name = sys.stdin.read(), "<stdin>"
        else:
            try:
                text, name = Path(path).read_text(encoding="utf-8"), path
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            tiers_file = read_tiers_file(text, name)
            changes = apply_tiers(tiers_file, dry_run=options["dry_run"], prune=options["prune"])
        except TiersFileError as exc:
            for line in exc.errors:
                self.stderr.write(line)
            raise CommandError(
                f"{len(exc.errors)} problem{'s' if len(exc.errors) != 1 else ''} in {name}; "
                "nothing was changed."
            ) from exc
        for change in changes:
            self.stdout.write(change.line())
        if not options["prune"]:
            for slug in tiers_left_out(tiers_file):
                self.stdout.write(f"  {slug} is not in the file (kept; --prune archives it)")
        if not changes:
            self.stdout.write("No changes.")
        elif options["dry_run"]:
            self.stdout.write(f"Dry run: {len(changes)} change(s) planned, nothing saved.")
        else:
            self.stdout.write(f"Applied {len(changes)} change(s).")
