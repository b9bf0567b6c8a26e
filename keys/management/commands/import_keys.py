"""`manage.py import_keys FILE [--dry-run]`: the console's bulk onboarding, from a shell."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from keys.imports.checking import FileRefused, check_file
from keys.imports.running import run_import
from keys.imports.starting import start_import
from keys.models import KeyImport, KeyImportRowStatus
from portal.errors import TransientSyncError
from portal.sync import MAX_TRANSIENT_RETRIES, LockBusy, is_wait, retry_countdown


class Command(BaseCommand):
    help = (
        "Import existing API keys from a CSV file (customer,name,key[,enabled]) into Tollgate "
        "and API Gateway with ImportApiKeys, and print what became of each row."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file (UTF-8, header line, at most 10,000 rows)")
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file and report; change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        try:
            if options["dry_run"]:
                checked = check_file(data)
                for row in checked.bad:
                    self.stdout.write(f"line {row.line}: skipped: {row.message}")
                self.stdout.write(
                    f"Dry run: {len(checked.good)} rows would be imported, "
                    f"{len(checked.bad)} skipped. Nothing was changed."
                )
                return
            imp, _ = start_import(actor=None, data=data, file_name=path.name, enqueue=False)
        except FileRefused as exc:
            for row in exc.rows:
                if not row.ok:
                    self.stdout.write(f"line {row.line}: {row.message}")
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Import {imp.pk}: {imp.total} rows to send, {imp.skipped} skipped.")
        self._run(imp)
        imp.refresh_from_db()
        for result in imp.rows.exclude(status=KeyImportRowStatus.IMPORTED).order_by("line"):
            self.stdout.write(f"line {result.line}: {result.status}: {result.message}")
        summary = (
            f"Import {imp.pk} {imp.get_status_display().lower()}: {imp.imported} imported, "
            f"{imp.failed} failed, {imp.skipped} skipped."
        )
        if imp.failed or imp.skipped or imp.status != "done":
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))

    def _run(self, imp: KeyImport) -> None:
        """The task's body, here and now; "try later" waits and tries again, with the tasks'
        retry policy (portal.sync.retry_countdown)."""

        def progress(current: KeyImport) -> None:
            self.stdout.write(
                f"  {current.done}/{current.total} rows sent ({current.failed} failed)"
            )

        attempt = waits = 0
        while True:
            try:
                run_import(imp.pk, attempt=attempt, progress=progress)
                return
            except (LockBusy, TransientSyncError) as exc:
                delay = retry_countdown(exc, attempt, waits)
                if is_wait(exc):
                    waits += 1
                else:
                    self.stdout.write(f"  {exc}; trying again in {delay:.1f} s")
                    attempt = min(attempt + 1, MAX_TRANSIENT_RETRIES)
                time.sleep(delay)
