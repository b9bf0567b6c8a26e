"""Running an import: the Celery task's body, a chunk at a time (keys/imports/__init__.py).

Per chunk: decrypt its values, check each against its row, send one ImportApiKeys (each
"Line N: ..." warning fails its row), list the chunk by name prefix and check every key against
its row's SHA-256, then record the keys (keys/imports/linking.py). A value AWS already holds
under another name is never sent: ImportApiKeys would overwrite that key.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from keys.imports.checking import active_subscriptions, tier_problem
from keys.imports.linking import Listed, link_rows
from keys.imports.starting import chunk_name_prefix
from keys.imports.vault import drop_secrets, load_secrets
from keys.models import ApiKey, KeyImport, KeyImportRow, KeyImportRowStatus, KeyImportStatus
from plans.locations import usage_plan_id_at
from plans.models import Subscription
from portal.audit.services import audit
from portal.aws import apigateway as aws
from portal.aws.limiter import RateBudgetWait
from portal.aws.location import at
from portal.connections.locations import home_location
from portal.customers.models import Customer
from portal.errors import PermanentSyncError, TransientSyncError
from portal.sync import (
    MAX_TRANSIENT_RETRIES,
    LockBusy,
    object_lock,
    retry_later,
    task_attempt,
)

LOCK_TTL = 900
_WARNING = re.compile(r"^\s*Line (\d+)\s*:\s*(.*)$", re.DOTALL)


@dataclass
class _Target:
    plan_aws_id: str = ""
    problem: str = ""


class _Run:
    """What one run of the task looks up once: the account's keys, each customer's tier."""

    def __init__(self, imp: KeyImport) -> None:
        self.imp = imp
        self.targets: dict[int, _Target] = {}
        self.index: dict[str, aws.AwsApiKey] | None = None
        self.home = home_location()  # where ImportApiKeys runs
        self.home_plan_ids: dict[int, str] = {}  # tier -> its usage plan there

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
            subscription = active_subscriptions([customer]).get(customer_id)
            problem = tier_problem(customer, subscription)
            self.targets[customer_id] = _Target(
                # ImportApiKeys runs in the home place; the key sync copies the keys to the
                # tier's other places afterwards (keys.imports.linking).
                plan_aws_id=""
                if problem or subscription is None
                else self.home_plan_id(subscription),
                problem=problem,
            )
        return self.targets[customer_id]

    def home_plan_id(self, subscription: Subscription) -> str:
        if subscription.plan_id not in self.home_plan_ids:
            self.home_plan_ids[subscription.plan_id] = usage_plan_id_at(
                subscription.plan, self.home
            )
        return self.home_plan_ids[subscription.plan_id]


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
def _rows_to_send(
    run: _Run, rows: list[KeyImportRow], values: dict[int, str]
) -> list[tuple[KeyImportRow, str, str]]:
    """(row, value, usage plan id) of every row that may go; the others fail with the reason."""
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
    return send


@sensitive_variables()
def _run_chunk(run: _Run, chunk: int, rows: list[KeyImportRow]) -> None:
    imp = run.imp
    values = load_secrets(imp.pk, chunk)
    if values is None:
        _fail_rows(
            {
                r.pk: "The key values of this upload expired before they reached API Gateway "
                "(they are kept encrypted for 6 hours only); upload these rows again."
                for r in rows
            }
        )
        return
    send = _rows_to_send(run, rows, values)
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
    links: list[Listed] = []
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
        links.append(Listed(row, found[0], found[1], found[2], plan_id))
    _fail_rows(missing)
    link_rows(imp, links)


# --- the import's progress ----------------------------------------------------------------------


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
    drop_secrets(imp.pk, chunks)
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


def _give_up(pending: QuerySet[KeyImportRow], message: str) -> None:
    _fail_rows(dict.fromkeys(pending.values_list("pk", flat=True), message))


# --- the task -----------------------------------------------------------------------------------


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
                drop_secrets(imp.pk, [chunk])
                _count(imp)
                if progress is not None:
                    imp.refresh_from_db()
                    progress(imp)
        except RateBudgetWait as exc:
            _update(imp, error=str(exc))
            raise
        except PermanentSyncError as exc:
            _give_up(pending, f"{exc}; upload the row again.")
            _finish(imp, KeyImportStatus.FAILED, str(exc))
            return imp
        except TransientSyncError as exc:
            if attempt >= MAX_TRANSIENT_RETRIES:
                _give_up(
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
    """The Celery task's body: run, and turn "try later" into a retry (portal.sync's policy,
    the sync tasks' own: waiting for the lock or the rate budget is not a failed attempt)."""
    attempt, budget_waits = task_attempt(task)
    try:
        with at(home_location()):  # the place _Run sends the keys to
            run_import(import_id, attempt=attempt)
    except (LockBusy, TransientSyncError) as exc:
        raise retry_later(task, exc, attempt=attempt, budget_waits=budget_waits) from exc
