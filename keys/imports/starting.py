"""Starting an import: check the file, keep its rows, queue the task (keys/imports/__init__.py).

Every good row gets its future ApiKey's public_id now, so its AWS name `tollgate-<uuid>` is
fixed before anything is sent: the uuid starts with the import's token and the chunk number,
so one GetApiKeys by name prefix (chunk_name_prefix) lists exactly a chunk's keys.
"""

from __future__ import annotations

import secrets as random_secrets
import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from keys.capacity import refuse_import_past_cap
from keys.imports.checking import CheckedFile, FileRefused, check_file
from keys.imports.vault import store_secrets
from keys.models import KeyImport, KeyImportRow, KeyImportRowStatus
from portal.audit.services import audit
from portal.sync import enqueue_on_commit

CHUNK_SIZE = 1_000
# keys.tasks.run_key_import, sent by name: the domain does not import its Celery tasks.
RUN_IMPORT_TASK = "keys.tasks.run_key_import"
# An active import whose row has not moved for this long has probably lost its task.
STALLED_AFTER = timedelta(minutes=2)


def _new_token() -> str:
    while True:
        token = random_secrets.token_hex(4)
        if not KeyImport.objects.filter(token=token).exists():
            return token


def _public_id(token: str, chunk: int) -> uuid.UUID:
    return uuid.UUID(hex=f"{token}{chunk:04x}{random_secrets.token_hex(10)}")


def chunk_name_prefix(token: str, chunk: int) -> str:
    """The start of the AWS name of every key of one chunk (`tollgate-<public_id>`)."""
    return f"tollgate-{token}-{chunk:04x}-"


@sensitive_variables()
def start_import(
    *,
    actor: Any,
    data: bytes,
    file_name: str = "",
    ip: str | None = None,
    enqueue: bool = True,
) -> tuple[KeyImport, CheckedFile]:
    """Check the file and queue its good rows; FileRefused (nothing changed) if none is good."""
    checked = check_file(data)
    good = checked.good
    if not good:
        raise FileRefused(
            f"No row can be imported ({len(checked.bad)} with problems, listed below); "
            "nothing was changed.",
            checked.rows,
        )
    try:
        refuse_import_past_cap(row.tier_id for row in good if row.tier_id is not None)
    except ValidationError as exc:
        raise FileRefused(f"{' '.join(exc.messages)} Nothing was imported.") from None
    with transaction.atomic():
        token = _new_token()
        imp = KeyImport.objects.create(
            token=token,
            created_by=actor if getattr(actor, "pk", None) else None,
            file_name=file_name[:255],
            total=len(good),
            skipped=len(checked.bad),
        )
        rows: list[KeyImportRow] = []
        chunks: dict[int, dict[int, str]] = defaultdict(dict)
        for index, row in enumerate(good):
            chunk = index // CHUNK_SIZE
            chunks[chunk][row.line] = row.secret
            rows.append(
                KeyImportRow(
                    key_import=imp,
                    line=row.line,
                    chunk=chunk,
                    customer=row.customer,
                    customer_ref=row.customer_ref,
                    name=row.name,
                    enabled=row.enabled,
                    key_public_id=_public_id(token, chunk),
                    secret_sha256=row.secret_sha256,
                    display_prefix=row.display_prefix,
                )
            )
        for row in checked.bad:
            rows.append(
                KeyImportRow(
                    key_import=imp,
                    line=row.line,
                    customer=row.customer,
                    customer_ref=row.customer_ref,
                    name=row.name[:120],
                    enabled=row.enabled,
                    status=KeyImportRowStatus.SKIPPED,
                    message=row.message,
                )
            )
        KeyImportRow.objects.bulk_create(rows, batch_size=1000)
        for chunk, values in chunks.items():
            if not store_secrets(imp.pk, chunk, values):
                raise FileRefused(
                    "The shared cache did not keep the keys; nothing was imported. Try again."
                )
        audit(
            actor=actor,
            action="keys.import_started",
            target=imp,
            after={"file": file_name, "rows": len(good), "skipped": len(checked.bad)},
            ip=ip,
        )
        if enqueue:
            enqueue_on_commit(RUN_IMPORT_TASK, imp.pk)
    for row in good:
        row.secret = ""
    return imp, checked


def resume_import(*, actor: Any, imp: KeyImport, ip: str | None = None) -> None:
    """Send the task again (a broker that was down, a worker that died holding it)."""
    with transaction.atomic():
        audit(actor=actor, action="keys.import_resumed", target=imp, ip=ip)
        enqueue_on_commit(RUN_IMPORT_TASK, imp.pk)


def is_stalled(imp: KeyImport) -> bool:
    return imp.is_active and timezone.now() - imp.updated_at > STALLED_AFTER
