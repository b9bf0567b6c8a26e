"""A reconcile pass writes only the rows that changed: in sync, its run record alone; a drift
that went away, that row alone. Its queries do not grow with the keys (a constant number per
chunk of keys, never one per key)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keys.models import ApiKey
from keys.services import key_create
from plans.models import Plan
from portal.customers.services import customer_onboard
from portal.reconcile.models import ReconcileRun
from portal.reconcile.services import reconcile
from portal.sync import SyncStatus
from tests.conftest import make_user

pytestmark = pytest.mark.integration


class RowsWritten:
    """Rows each INSERT, UPDATE and DELETE wrote, by statement and table."""

    def __init__(self) -> None:
        self.rows: Counter[str] = Counter()

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        words = sql.split(None, 3)
        if words[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            table = words[1] if words[0].upper() == "UPDATE" else words[2]
            # INSERT ... RETURNING tells no count before its rows are read: one per statement.
            rows = context["cursor"].rowcount
            rows = 1 if rows <= 0 and words[0].upper() == "INSERT" else max(rows, 0)
            if rows:
                self.rows[f"{words[0].upper()} {table.strip(chr(34))}"] += rows
        return result


def make_keys(count: int, settle: Any) -> list[ApiKey]:
    owner = make_user(f"owner{count}@writes.test")
    customer = customer_onboard(owner=owner, organisation_name=f"Writes {count}")
    keys = [key_create(actor=owner, customer=customer, name=f"key {n}") for n in range(count)]
    settle()
    return keys


def watched_pass() -> tuple[RowsWritten, int]:
    written = RowsWritten()
    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(written):
        report = reconcile()
    assert report.drifted == [] and report.resync == [] and report.removed == []
    return written, len(queries)


def test_an_in_sync_pass_writes_its_run_alone(live_tiers: dict[str, Plan], settle: Any) -> None:
    keys = make_keys(3, settle)
    before = {k.pk: k.synced_at for k in ApiKey.objects.all()}

    written, _ = watched_pass()

    # The run is made, then saved with its figures: nothing else.
    assert written.rows == Counter(
        {"INSERT reconcile_reconcilerun": 1, "UPDATE reconcile_reconcilerun": 1}
    )
    assert {k.pk: k.synced_at for k in ApiKey.objects.all()} == before
    assert ApiKey.objects.get(pk=keys[0].pk).sync_status == SyncStatus.SYNCED
    assert ReconcileRun.objects.get().summary["in_sync"] == len(live_tiers) + 3


def test_a_drift_that_went_away_is_the_one_row_written(
    live_tiers: dict[str, Plan], settle: Any
) -> None:
    keys = make_keys(2, settle)
    # A drift found earlier that AWS no longer shows (someone put it back in the console).
    ApiKey.objects.filter(pk=keys[1].pk).update(
        sync_status=SyncStatus.DRIFTED,
        drift={"differences": [{"field": "enabled", "ours": "True", "aws": "False"}]},
    )

    written, _ = watched_pass()

    assert written.rows["UPDATE keys_apikey"] == 1
    cleared = ApiKey.objects.get(pk=keys[1].pk)
    assert (cleared.sync_status, cleared.drift) == (SyncStatus.SYNCED, None)
    assert cleared.synced_at is not None


def test_queries_do_not_grow_with_the_keys(live_tiers: dict[str, Plan], settle: Any) -> None:
    make_keys(2, settle)
    _, few = watched_pass()
    make_keys(12, settle)
    _, many = watched_pass()
    assert many == few
