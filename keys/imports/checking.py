"""Reading and checking an uploaded file of keys, every row up front (keys/imports/__init__.py).

A file that cannot be read at all raises FileRefused and changes nothing; a bad row is kept with
its line number and the reasons (it is skipped), and the good rows go on. A refused row's value
goes no further than this module.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.views.decorators.debug import sensitive_variables

from keys.models import ApiKey, KeyImportRow, KeyImportRowStatus, KeyImportStatus
from keys.services import MAX_NAME_LENGTH
from plans.models import Subscription
from portal.aws import apigateway as aws
from portal.customers.models import Customer
from portal.errors import Refused

MAX_ROWS = 10_000
MAX_BYTES = 2 * 1024 * 1024
MIN_KEY, MAX_KEY = 20, 128
REQUIRED_COLUMNS = ("customer", "name", "key")
COLUMNS = (*REQUIRED_COLUMNS, "enabled")
# Printable ASCII without spaces, commas or quotes: safe in API Gateway's CSV format.
KEY_CHARACTERS = re.compile(r"^[!#-&(-+\--~]+$")


class FileRefused(Refused):
    """The whole file was refused; nothing was changed (a 400 in the API)."""

    def __init__(self, message: str, rows: list[CheckedRow] | None = None) -> None:
        super().__init__(message)
        self.rows = rows or []


@dataclass
class CheckedRow:
    line: int
    customer_ref: str
    name: str
    enabled: bool = True
    customer: Customer | None = None
    tier_id: int | None = None  # the customer's tier now
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


# --- the customers' tiers (checked at upload, and again when the rows are sent) ----------------


def active_subscriptions(customers: Iterable[Customer | int]) -> dict[int, Subscription]:
    """The active subscription (with its tier) of each customer, by customer id."""
    return {
        s.customer_id: s
        for s in Subscription.objects.active()
        .select_related("plan")
        .filter(customer__in=list(customers))
    }


def tier_problem(customer: Customer, subscription: Subscription | None) -> str:
    """Why the customer's keys cannot join a usage plan now; "" when they can."""
    if subscription is None:
        return f"{customer.name} is not on a tier; put it on one before importing its keys."
    if not subscription.plan.aws_id:
        return (
            f"{customer.name}'s tier “{subscription.plan.name}” is not in API Gateway yet "
            "(its sync is pending or failed); import once it is synced."
        )
    return ""


# --- reading the file -------------------------------------------------------------------------


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


@sensitive_variables()
def _read_rows(columns: dict[str, int], records: list[tuple[int, list[str]]]) -> list[CheckedRow]:
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
    return rows


# --- checking every row -----------------------------------------------------------------------


@sensitive_variables()
def check_file(data: bytes) -> CheckedFile:
    """Read and check every row; raises FileRefused when the file as a whole cannot be used."""
    rows = _read_rows(*_records(_decode(data)))

    slugs = {r.customer_ref.lower() for r in rows if r.customer_ref}
    customers = {c.slug.lower(): c for c in Customer.objects.filter(slug__in=slugs)}
    subscriptions = active_subscriptions(customers.values())
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
                subscription = subscriptions.get(row.customer.pk)
                problem = tier_problem(row.customer, subscription)
                if problem:
                    row.problems.append(problem)
                elif subscription is not None:
                    row.tier_id = subscription.plan_id
        if not row.name:
            row.problems.append("The name is missing.")
        elif len(row.name) > MAX_NAME_LENGTH:
            row.problems.append(
                f"The name is {len(row.name)} characters; keep it to {MAX_NAME_LENGTH}."
            )
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
