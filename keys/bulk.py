"""Bulk onboarding: import many existing API keys from a CSV file with ImportApiKeys.

The file (uploaded on /console/keys/import/ or given to `manage.py import_keys`) has a header
and the columns `customer` (a customer's slug), `name`, `key` (the secret the customer already
uses) and optionally `enabled`. Every row is checked up front (`check_file`); a file that cannot
be read at all is refused and changes nothing, a bad row is skipped with its line number and
the reason, and the good rows go on. Each key joins the usage plan of its customer's tier.

How the secrets travel (they are never stored in the database, nor sent through the broker):

1. The web request (or the command) reads the file, keeps each good row as a `KeyImportRow`
   with only the SHA-256 and 5-character prefix of its key, and puts the values themselves,
   1,000 rows per entry, in the shared cache (Redis in production, the file cache in the
   embedded default) **encrypted** with Fernet (AES-128-CBC + HMAC-SHA256, from
   `cryptography`) under a key derived from SECRET_KEY (`salted_hmac`, its own salt). Each entry
   expires after SECRETS_TTL (6 hours; Fernet checks the age too) and is deleted as soon as its
   rows reached API Gateway. The cache entries are written inside the upload's transaction: if
   the cache cannot take them the upload fails and nothing is kept.
2. The Celery task `run_key_import` receives the import's id only. It decrypts one chunk, checks
   every value against the SHA-256 kept for its row, builds the ImportApiKeys CSV in memory and
   drops it after the call. Nothing logs the values (botocore is capped at WARNING).

So a database dump, a log or a broker message never holds a secret, and the encrypted copy lives
only as long as the import needs it. If it expired before its rows were sent (a worker down for
hours), those rows fail with a message asking to upload them again: nothing is half-done.

How one chunk reaches AWS, and why a crash or retry neither loses nor duplicates a key:

* Every row gets its future ApiKey's public_id at upload, so its AWS name `tollgate-<uuid>` is
  fixed; the uuid starts with the import's token and the chunk number, so one GetApiKeys
  (nameQuery = that prefix, 500 a page) lists exactly the chunk's keys.
* Before the first chunk the task lists the account's keys once (with values, hashed at once): a
  value AWS already holds under another name would be *overwritten* by ImportApiKeys ("the most
  recent version overwrites"), so such a row fails instead of taking over someone's key. A value
  held under the row's own name is a previous attempt's work and is sent again: AWS overwrites it
  with the same data, so no duplicate.
* One ImportApiKeys call per chunk of CHUNK_SIZE rows with `failonwarnings=false`; each warning
  ("Line N: ...") fails its row with the reason. The chunk is then listed by name, each key is
  checked against the row's SHA-256, and the ApiKey rows are created *synced* — in one
  transaction with the rows' new status — so nothing waits in "pending" for a sync task that
  would create the key with an AWS-generated value instead. Progress counters follow each chunk.
* Throttling, 5xx and timeouts retry the task (exponential backoff, full jitter); rows already
  settled are not sent again.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import random
import re
import secrets as random_secrets
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

from keys.models import (
    ApiKey,
    KeyImport,
    KeyImportRow,
    KeyImportRowStatus,
    KeyImportStatus,
)
from plans.models import Subscription, SubscriptionStatus
from portal.audit.services import audit
from portal.aws import apigateway as aws
from portal.customers.models import Customer
from portal.sync import (
    BUDGET_WAITS_HEADER,
    MAX_TRANSIENT_RETRIES,
    LockBusy,
    PermanentSyncError,
    SyncStatus,
    TransientSyncError,
    backoff_seconds,
    bump_desired_version,
    enqueue_on_commit,
    object_lock,
)

logger = logging.getLogger(__name__)

MAX_ROWS = 10_000
MAX_BYTES = 2 * 1024 * 1024
CHUNK_SIZE = 1_000
SECRETS_TTL = 6 * 3600
LOCK_TTL = 900
MIN_KEY, MAX_KEY = 20, 128
MAX_NAME = 64
REQUIRED_COLUMNS = ("customer", "name", "key")
COLUMNS = (*REQUIRED_COLUMNS, "enabled")
# Printable ASCII without spaces, commas or quotes: safe in API Gateway's CSV format.
KEY_CHARACTERS = re.compile(r"^[!#-&(-+\--~]+$")
_WARNING = re.compile(r"^\s*Line (\d+)\s*:\s*(.*)$", re.DOTALL)


class FileRefused(Exception):
    """The whole file was refused; nothing was changed."""

    def __init__(self, message: str, rows: list[CheckedRow] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rows = rows or []


@dataclass
class CheckedRow:
    line: int
    customer_ref: str
    name: str
    enabled: bool = True
    customer: Customer | None = None
    secret: str = field(default="", repr=False)
    secret_sha256: str = ""
    display_prefix: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def message(self) -> str:
        return " ".join(self.problems)


@dataclass
class CheckedFile:
    rows: list[CheckedRow]

    @property
    def good(self) -> list[CheckedRow]:
        return [r for r in self.rows if r.ok]

    @property
    def bad(self) -> list[CheckedRow]:
        return [r for r in self.rows if not r.ok]


# --- reading and checking the file --------------------------------------------------------------


@sensitive_variables()
def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise FileRefused(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; import at most 2 MB "
            f"({MAX_ROWS:,} rows) at a time: split it."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRefused(
            f"The file is not UTF-8 text (line {line} has a byte UTF-8 does not allow). "
            "Save it as “CSV UTF-8” and upload it again."
        ) from None
    if not text.strip():
        raise FileRefused(
            "The file is empty. It needs a header line (customer,name,key,enabled) and a row per key."
        )
    return text


def _header(cells: list[str]) -> dict[str, int]:
    names = [c.strip().lower() for c in cells]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    unknown = [c for c in names if c not in COLUMNS]
    repeated = sorted({c for c in names if names.count(c) > 1})
    problems = []
    if missing:
        problems.append(
            f"the header has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}"
        )
    if unknown:
        problems.append(
            "the header has unknown columns (" + ", ".join(f"“{c}”" for c in unknown) + ")"
        )
    if repeated:
        problems.append(f"the header repeats {', '.join(repeated)}")
    if problems:
        raise FileRefused(
            "The first line must be the header customer,name,key (and optionally enabled): "
            + "; ".join(problems)
            + "."
        )
    return {name: names.index(name) for name in names}


@sensitive_variables()
def _records(text: str) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
        if header is None:
            raise FileRefused("The file is empty. It needs a header line and a row per key.")
        columns = _header(header)
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            records.append((reader.line_num, cells))
            if len(records) > MAX_ROWS:
                break
    except csv.Error as exc:
        raise FileRefused(
            f"Line {reader.line_num} is not valid CSV ({exc}); nothing was imported."
        ) from None
    if len(records) > MAX_ROWS:
        raise FileRefused(
            f"The file has more than {MAX_ROWS:,} rows; import at most {MAX_ROWS:,} at a time: split it."
        )
    if not records:
        raise FileRefused("The file has a header but no rows.")
    return columns, records


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch).startswith("C") for ch in value)


def _plans_of(customers: Iterable[Customer]) -> dict[int, Subscription]:
    return {
        s.customer_id: s
        for s in Subscription.objects.select_related("plan").filter(
            customer__in=list(customers), status=SubscriptionStatus.ACTIVE
        )
    }


def _tier_problem(customer: Customer, subscription: Subscription | None) -> str:
    if subscription is None:
        return f"{customer.name} is not on a tier; put it on one before importing its keys."
    if not subscription.plan.aws_id:
        return (
            f"{customer.name}'s tier “{subscription.plan.name}” is not in API Gateway yet "
            "(its sync is pending or failed); import once it is synced."
        )
    return ""


@sensitive_variables()
def check_file(data: bytes) -> CheckedFile:
    """Read and check every row; raises FileRefused when the file as a whole cannot be used."""
    columns, records = _records(_decode(data))
    width = len(columns)

    def cell(cells: list[str], column: str) -> str:
        index = columns.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    rows: list[CheckedRow] = []
    for line, cells in records:
        row = CheckedRow(line=line, customer_ref=cell(cells, "customer")[:120], name="")
        if len(cells) != width:
            row.problems.append(
                f"Expected {width} values ({', '.join(sorted(columns, key=columns.__getitem__))}) "
                f"but found {len(cells)}."
            )
            rows.append(row)
            continue
        row.name = cell(cells, "name")
        row.secret = cell(cells, "key")
        enabled = cell(cells, "enabled").lower()
        if enabled in ("", "true"):
            row.enabled = True
        elif enabled == "false":
            row.enabled = False
        else:
            row.problems.append(
                f"Enabled must be true or false, not “{cell(cells, 'enabled')[:20]}”."
            )
        rows.append(row)

    slugs = {r.customer_ref.lower() for r in rows if r.customer_ref}
    customers = {c.slug.lower(): c for c in Customer.objects.filter(slug__in=slugs)}
    subscriptions = _plans_of(customers.values())
    live_names = {
        (customer_id, name.lower()): True
        for customer_id, name in ApiKey.objects.live()
        .filter(customer__in=list(customers.values()))
        .values_list("customer_id", "name")
    }
    in_flight = KeyImportRow.objects.filter(
        status=KeyImportRowStatus.PENDING,
        key_import__status__in=[KeyImportStatus.QUEUED, KeyImportStatus.RUNNING],
    )
    names_in_flight = {
        (customer_id, name.lower()): import_id
        for customer_id, name, import_id in in_flight.filter(
            customer__in=list(customers.values())
        ).values_list("customer_id", "name", "key_import_id")
    }

    seen_names: dict[tuple[int, str], int] = {}
    seen_keys: dict[str, int] = {}
    for row in rows:
        if row.problems and not row.name and not row.secret:
            continue  # a row with the wrong number of values
        if not row.customer_ref:
            row.problems.append("The customer is missing (give the customer's slug).")
        else:
            row.customer = customers.get(row.customer_ref.lower())
            if row.customer is None:
                row.problems.append(f"No customer has the slug “{row.customer_ref}”.")
            else:
                problem = _tier_problem(row.customer, subscriptions.get(row.customer.pk))
                if problem:
                    row.problems.append(problem)
        if not row.name:
            row.problems.append("The name is missing.")
        elif len(row.name) > MAX_NAME:
            row.problems.append(f"The name is {len(row.name)} characters; keep it to {MAX_NAME}.")
        elif _has_control_characters(row.name):
            row.problems.append("The name contains line breaks or other control characters.")
        elif row.customer is not None:
            name_key = (row.customer.pk, row.name.lower())
            if name_key in seen_names:
                row.problems.append(
                    f"Line {seen_names[name_key]} already has a key named “{row.name}” for "
                    f"{row.customer.name}."
                )
            elif name_key in live_names:
                row.problems.append(f"{row.customer.name} already has a key named “{row.name}”.")
            elif name_key in names_in_flight:
                row.problems.append(
                    f"Import {names_in_flight[name_key]}, still running, already brings a key "
                    f"named “{row.name}” for {row.customer.name}."
                )
            else:
                seen_names[name_key] = row.line
        secret = row.secret
        if not secret:
            row.problems.append("The key is missing.")
        elif not MIN_KEY <= len(secret) <= MAX_KEY:
            row.problems.append(
                f"The key is {len(secret)} characters long; API Gateway needs "
                f"{MIN_KEY} to {MAX_KEY}."
            )
        elif not KEY_CHARACTERS.match(secret):
            row.problems.append(
                "The key may hold only printable ASCII characters: no spaces, commas or quotes."
            )
        else:
            row.secret_sha256, row.display_prefix = aws.secret_fingerprint(secret)
            if row.secret_sha256 in seen_keys:
                row.problems.append(f"Same key as line {seen_keys[row.secret_sha256]}.")
            else:
                seen_keys[row.secret_sha256] = row.line

    digests = [r.secret_sha256 for r in rows if r.ok]
    for start in range(0, len(digests), 500):
        batch = digests[start : start + 500]
        for digest, name, customer_name in (
            ApiKey.objects.live()
            .filter(secret_sha256__in=batch)
            .values_list("secret_sha256", "name", "customer__name")
        ):
            row = _row_with_digest(rows, digest)
            row.problems.append(
                f"This key is already in Tollgate, as the key “{name}” of {customer_name}."
            )
        for digest, import_id in in_flight.filter(secret_sha256__in=batch).values_list(
            "secret_sha256", "key_import_id"
        ):
            row = _row_with_digest(rows, digest)
            row.problems.append(f"This key is already in import {import_id}, still running.")
    for row in rows:
        if not row.ok:
            row.secret = ""  # a refused row's value goes no further
    return CheckedFile(rows)


def _row_with_digest(rows: list[CheckedRow], digest: str) -> CheckedRow:
    matching = [r for r in rows if r.secret_sha256 == digest]
    return next((r for r in matching if r.ok), matching[0])


# --- the encrypted secrets --------------------------------------------------------------------


def _fernet() -> Any:
    from cryptography.fernet import Fernet

    raw = salted_hmac("tollgate.keys.bulk", "secrets-in-cache", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(raw))


def _cache_key(import_id: int, chunk: int) -> str:
    return f"tollgate:key-import:{import_id}:chunk:{chunk}"


@sensitive_variables()
def _store_secrets(import_id: int, chunk: int, values: dict[int, str]) -> None:
    plain = json.dumps(
        {"import": import_id, "chunk": chunk, "keys": {str(k): v for k, v in values.items()}}
    ).encode()
    token = _fernet().encrypt(plain)
    cache.set(_cache_key(import_id, chunk), token.decode(), SECRETS_TTL)
    if cache.get(_cache_key(import_id, chunk)) is None:
        raise FileRefused(
            "The shared cache did not keep the keys; nothing was imported. Try again."
        )


@sensitive_variables()
def _load_secrets(import_id: int, chunk: int) -> dict[int, str] | None:
    """The chunk's values by file line, or None if they expired or cannot be read."""
    from cryptography.fernet import InvalidToken

    token = cache.get(_cache_key(import_id, chunk))
    if not token:
        return None
    try:
        data = json.loads(_fernet().decrypt(str(token).encode(), ttl=SECRETS_TTL))
    except (InvalidToken, ValueError):
        return None
    if data.get("import") != import_id or data.get("chunk") != chunk:
        return None
    return {int(k): str(v) for k, v in data["keys"].items()}


def _drop_secrets(import_id: int, chunks: Iterable[int]) -> None:
    cache.delete_many([_cache_key(import_id, c) for c in chunks])


# --- starting an import -------------------------------------------------------------------------


def _new_token() -> str:
    while True:
        token = random_secrets.token_hex(4)
        if not KeyImport.objects.filter(token=token).exists():
            return token


def _public_id(token: str, chunk: int) -> uuid.UUID:
    return uuid.UUID(hex=f"{token}{chunk:04x}{random_secrets.token_hex(10)}")


def chunk_name_prefix(token: str, chunk: int) -> str:
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
            _store_secrets(imp.pk, chunk, values)
        audit(
            actor=actor,
            action="keys.import_started",
            target=imp,
            after={"file": file_name, "rows": len(good), "skipped": len(checked.bad)},
            ip=ip,
        )
        if enqueue:
            from keys.tasks import run_key_import

            enqueue_on_commit(run_key_import, imp.pk)
    for row in good:
        row.secret = ""
    return imp, checked


def resume_import(*, actor: Any, imp: KeyImport, ip: str | None = None) -> None:
    """Send the task again (a broker that was down, a worker that died holding it)."""
    from keys.tasks import run_key_import

    with transaction.atomic():
        audit(actor=actor, action="keys.import_resumed", target=imp, ip=ip)
        enqueue_on_commit(run_key_import, imp.pk)


def is_stalled(imp: KeyImport) -> bool:
    return imp.is_active and timezone.now() - imp.updated_at > timedelta(minutes=2)


# --- running an import (the Celery task's body) -------------------------------------------------


@dataclass
class _Target:
    plan_aws_id: str = ""
    problem: str = ""


class _Run:
    def __init__(self, imp: KeyImport) -> None:
        self.imp = imp
        self.targets: dict[int, _Target] = {}
        self.index: dict[str, aws.AwsApiKey] | None = None

    def holders(self) -> dict[str, aws.AwsApiKey]:
        """Every key in the account by the SHA-256 of its value (listed once per run)."""
        if self.index is None:
            self.index = {digest: key for key, digest, _ in aws.api_key_fingerprint_listing()}
        return self.index

    def target(self, customer_id: int | None) -> _Target:
        if customer_id is None:
            return _Target(problem="The customer was deleted after the upload.")
        if customer_id not in self.targets:
            customer = Customer.objects.get(pk=customer_id)
            subscription = _plans_of([customer]).get(customer_id)
            problem = _tier_problem(customer, subscription)
            self.targets[customer_id] = _Target(
                plan_aws_id="" if problem or subscription is None else subscription.plan.aws_id,
                problem=problem,
            )
        return self.targets[customer_id]


def _fail_rows(messages: dict[int, str]) -> None:
    for pk, message in messages.items():
        KeyImportRow.objects.filter(pk=pk, status=KeyImportRowStatus.PENDING).update(
            status=KeyImportRowStatus.FAILED, message=message[:2000]
        )


def _description(customer: Customer, name: str) -> str:
    text = f"{customer.name}: {name}"
    return "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)


@sensitive_variables()
def _import_csv(rows: list[tuple[KeyImportRow, str, str]]) -> str:
    """Name,Key,Description,Enabled,UsagePlanIds: one physical line per row (line N = rows[N-2]).

    Names and keys were checked to need no quoting; the description is always quoted."""
    lines = ["Name,Key,Description,Enabled,UsagePlanIds"]
    for row, secret, plan_id in rows:
        assert row.customer is not None
        description = _description(row.customer, row.name).replace('"', '""')
        lines.append(
            f'{row.aws_name},{secret},"{description}",{str(row.enabled).lower()},{plan_id}'
        )
    return "\n".join(lines) + "\n"


@sensitive_variables()
def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, f"{secret[:5]}…") if secret else text


@sensitive_variables()
def _run_chunk(run: _Run, chunk: int, rows: list[KeyImportRow]) -> None:
    imp = run.imp
    values = _load_secrets(imp.pk, chunk)
    if values is None:
        _fail_rows(
            {
                r.pk: "The key values of this upload expired before they reached API Gateway "
                "(they are kept encrypted for 6 hours only); upload these rows again."
                for r in rows
            }
        )
        return
    failures: dict[int, str] = {}
    send: list[tuple[KeyImportRow, str, str]] = []
    taken = {
        (customer_id, name.lower())
        for customer_id, name in ApiKey.objects.live()
        .filter(customer_id__in={r.customer_id for r in rows})
        .values_list("customer_id", "name")
    }
    for row in rows:
        secret = values.get(row.line, "")
        if not secret or aws.secret_fingerprint(secret)[0] != row.secret_sha256:
            failures[row.pk] = "The key value for this row was lost; upload the row again."
            continue
        target = run.target(row.customer_id)
        if target.problem:
            failures[row.pk] = target.problem
            continue
        if (row.customer_id, row.name.lower()) in taken:
            failures[row.pk] = (
                f"{row.customer.name if row.customer else 'The customer'} created a key named "
                f"“{row.name}” after the upload; rename this row and upload it again."
            )
            continue
        holder = run.holders().get(row.secret_sha256)
        if holder is not None and holder.name != row.aws_name:
            failures[row.pk] = (
                f"API Gateway already has this key value, as the key “{holder.name}” "
                f"({holder.aws_id}); importing it would overwrite that key, so it was not sent."
            )
            continue
        send.append((row, secret, target.plan_aws_id))
    _fail_rows(failures)
    if not send:
        return

    try:
        _, warnings = aws.import_api_keys(_import_csv(send))
    except PermanentSyncError as exc:
        _fail_rows({row.pk: f"API Gateway refused this chunk: {exc}" for row, _, _ in send})
        return
    refused: dict[int, str] = {}
    unplaced: list[str] = []
    for warning in warnings:
        match = _WARNING.match(warning)
        position = int(match.group(1)) - 2 if match else -1
        if match and 0 <= position < len(send):
            row, secret, _ = send[position]
            refused[row.pk] = "API Gateway refused this row: " + _scrub(match.group(2), secret)
        else:
            unplaced.append(warning)
    for pk, message in refused.items():
        _fail_rows({pk: message})

    listed = {
        key.name: (key, digest, prefix)
        for key, digest, prefix in aws.api_key_fingerprint_listing(
            chunk_name_prefix(imp.token, chunk)
        )
    }
    by_digest: dict[str, tuple[aws.AwsApiKey, str, str]] | None = None
    links: list[tuple[KeyImportRow, aws.AwsApiKey, str, str, str]] = []
    missing: dict[int, str] = {}
    for row, _, plan_id in send:
        if row.pk in refused:
            continue
        found = listed.get(row.aws_name)
        if found is None or found[1] != row.secret_sha256:
            # AWS may match nameQuery exactly rather than as a prefix: look the value up instead.
            if by_digest is None:
                by_digest = {d: (k, d, p) for k, d, p in aws.api_key_fingerprint_listing()}
            found = by_digest.get(row.secret_sha256)
            if found is not None and found[0].name != row.aws_name:
                found = None
        if found is None:
            said = "; ".join(unplaced)
            for _, value, _ in send:
                said = _scrub(said, value)
            note = f" AWS said: {said}" if said else ""
            missing[row.pk] = (
                "API Gateway did not list this key after the import; upload the row again." + note
            )
            continue
        links.append((row, found[0], found[1], found[2], plan_id))
    _fail_rows(missing)
    _link(imp, links)


def _public_id_of(row: KeyImportRow) -> uuid.UUID:
    assert row.key_public_id is not None
    return row.key_public_id


def _unique_name(taken: set[str], wanted: str) -> str:
    base, n, name = wanted[: MAX_NAME - 5], 1, wanted
    while name.lower() in taken:
        n += 1
        name = f"{base} ({n})"
    return name


def _link(imp: KeyImport, links: list[tuple[KeyImportRow, aws.AwsApiKey, str, str, str]]) -> None:
    """Create the synced ApiKey rows and settle the import rows, all or nothing."""
    if not links:
        return
    now = timezone.now()
    with transaction.atomic():
        pending = set(
            KeyImportRow.objects.select_for_update()
            .filter(pk__in=[row.pk for row, *_ in links], status=KeyImportRowStatus.PENDING)
            .values_list("pk", flat=True)
        )
        links = [link for link in links if link[0].pk in pending]
        customer_ids = {row.customer_id for row, *_ in links if row.customer_id is not None}
        taken: dict[int, set[str]] = defaultdict(set)
        for customer_id, name in (
            ApiKey.objects.live()
            .filter(customer_id__in=customer_ids)
            .values_list("customer_id", "name")
        ):
            taken[customer_id].add(name.lower())
        keys: list[ApiKey] = []
        notes: dict[int, str] = {}
        for row, aws_key, digest, prefix, _ in links:
            assert row.customer_id is not None
            name = _unique_name(taken[row.customer_id], row.name)
            taken[row.customer_id].add(name.lower())
            if name != row.name:
                notes[row.pk] = f"Imported as “{name}”: “{row.name}” was taken meanwhile."
            keys.append(
                ApiKey(
                    public_id=_public_id_of(row),
                    customer_id=row.customer_id,
                    name=name,
                    created_by_id=imp.created_by_id,
                    aws_id=aws_key.aws_id,
                    secret_sha256=digest,
                    display_prefix=prefix,
                    secret_revealed_at=now,  # its users have it; Tollgate never shows it
                    enabled=row.enabled,
                    desired_version=1,
                    synced_version=1,
                    sync_status=SyncStatus.SYNCED,
                    sync_requested_at=now,
                    sync_attempted_at=now,
                    synced_at=now,
                )
            )
        ApiKey.objects.bulk_create(keys, batch_size=500)
        ids = dict(
            ApiKey.objects.filter(public_id__in=[k.public_id for k in keys]).values_list(
                "public_id", "pk"
            )
        )
        updates = []
        for row, *_ in links:
            row.status = KeyImportRowStatus.IMPORTED
            row.key_id = ids[_public_id_of(row)]
            row.message = notes.get(row.pk, "")
            updates.append(row)
        KeyImportRow.objects.bulk_update(updates, ["status", "key", "message"], batch_size=500)
        # A tier switch while the chunk was on its way: move the new keys like any other key.
        current = {
            s.customer_id: s.plan.aws_id
            for s in Subscription.objects.select_related("plan").filter(
                customer_id__in=customer_ids, status=SubscriptionStatus.ACTIVE
            )
        }
        from keys.tasks import sync_key

        for row, _, _, _, plan_id in links:
            if current.get(row.customer_id or 0) != plan_id:
                key = ApiKey.objects.get(pk=ids[_public_id_of(row)])
                bump_desired_version(key)
                enqueue_on_commit(sync_key, key.pk)


def _update(imp: KeyImport, **fields: Any) -> None:
    """Change the import's row; `updated_at` tells a stalled import from a busy one."""
    KeyImport.objects.filter(pk=imp.pk).update(updated_at=timezone.now(), **fields)


def _count(imp: KeyImport) -> None:
    counts = dict(
        KeyImportRow.objects.filter(key_import=imp)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    failed = counts.get(KeyImportRowStatus.FAILED, 0)
    _update(imp, done=counts.get(KeyImportRowStatus.IMPORTED, 0) + failed, failed=failed)


def _finish(imp: KeyImport, status: str, error: str = "") -> None:
    _count(imp)
    chunks = set(KeyImportRow.objects.filter(key_import=imp).values_list("chunk", flat=True))
    _drop_secrets(imp.pk, chunks)
    with transaction.atomic():
        _update(imp, status=status, error=error[:2000], finished_at=timezone.now())
        imp.refresh_from_db()
        audit(
            actor=None,
            action="keys.import_finished",
            target=imp,
            after={
                "status": status,
                "imported": imp.imported,
                "failed": imp.failed,
                "skipped": imp.skipped,
            },
        )


def _give_up(imp: KeyImport, pending: Any, message: str) -> None:
    _fail_rows(dict.fromkeys(pending.values_list("pk", flat=True), message))


def run_import(
    import_id: int,
    *,
    attempt: int = 0,
    progress: Callable[[KeyImport], None] | None = None,
) -> KeyImport | None:
    """Send every pending row of an import to API Gateway, a chunk at a time.

    Raises LockBusy (another worker runs it) or TransientSyncError (retry later); after
    MAX_TRANSIENT_RETRIES attempts the rows still pending fail and the import is *failed*.
    """
    from portal.aws.limiter import RateBudgetWait  # portal.aws imports portal.sync

    with object_lock(f"keys.keyimport:{import_id}", ttl_seconds=LOCK_TTL) as acquired:
        if not acquired:
            raise LockBusy(f"key import {import_id} is being run by another worker")
        imp = KeyImport.objects.filter(pk=import_id).first()
        if imp is None or not imp.is_active:
            return imp
        _update(
            imp,
            status=KeyImportStatus.RUNNING,
            started_at=Coalesce("started_at", timezone.now()),
        )
        run = _Run(imp)
        pending = KeyImportRow.objects.filter(key_import=imp, status=KeyImportRowStatus.PENDING)
        try:
            for chunk in sorted(set(pending.values_list("chunk", flat=True))):
                rows = list(pending.filter(chunk=chunk).select_related("customer"))
                _run_chunk(run, chunk, rows)
                _drop_secrets(imp.pk, [chunk])
                _count(imp)
                if progress is not None:
                    imp.refresh_from_db()
                    progress(imp)
        except RateBudgetWait as exc:
            _update(imp, error=str(exc))
            raise
        except PermanentSyncError as exc:
            _give_up(imp, pending, f"{exc}; upload the row again.")
            _finish(imp, KeyImportStatus.FAILED, str(exc))
            return imp
        except TransientSyncError as exc:
            if attempt >= MAX_TRANSIENT_RETRIES:
                _give_up(
                    imp,
                    pending,
                    f"{exc} (gave up after {attempt + 1} attempts); upload the row again.",
                )
                _finish(imp, KeyImportStatus.FAILED, f"Gave up after {attempt + 1} attempts: {exc}")
                return imp
            _update(imp, error=f"Retrying: {exc}")
            raise
        _finish(imp, KeyImportStatus.DONE)
        return imp


def run_import_task(task: Any, import_id: int) -> None:
    """The Celery task's body: run, and turn "try later" into a retry (like run_sync_task)."""
    from portal.aws.limiter import RateBudgetWait

    budget_waits = int(getattr(task.request, BUDGET_WAITS_HEADER, None) or 0)
    attempt = max(0, task.request.retries - budget_waits)
    try:
        run_import(import_id, attempt=attempt)
    except LockBusy as exc:
        raise task.retry(exc=exc, countdown=random.uniform(1.0, 3.0)) from exc
    except RateBudgetWait as exc:
        headers = {**(task.request.headers or {}), BUDGET_WAITS_HEADER: budget_waits + 1}
        countdown = exc.retry_after + random.uniform(0.05, 0.5)
        raise task.retry(exc=exc, countdown=countdown, headers=headers) from exc
    except TransientSyncError as exc:
        raise task.retry(exc=exc, countdown=backoff_seconds(attempt)) from exc


# --- the report -----------------------------------------------------------------------------------


REPORT_COLUMNS = ["line", "customer", "name", "status", "message", "key_prefix", "api_key_id"]


def report_csv(imp: KeyImport) -> str:
    """Every row and what became of it; no secret (only the 5-character prefix)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for row in imp.rows.select_related("key").order_by("line").iterator(chunk_size=2000):
        writer.writerow(
            [
                row.line,
                row.customer_ref,
                row.name,
                row.status,
                row.message,
                row.display_prefix,
                row.key.aws_id if row.key else "",
            ]
        )
    return out.getvalue()
