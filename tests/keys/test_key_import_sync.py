"""Bulk onboarding against the local AWS: ImportApiKeys in chunks, fingerprints only, retries
that duplicate nothing, and values AWS already holds left alone."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from celery.exceptions import Retry
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from keys.imports import running
from keys.imports.starting import start_import
from keys.imports.vault import cache_key
from keys.models import ApiKey, KeyImport, KeyImportRow, KeyImportRowStatus
from plans.models import Plan, PlanCopy, Subscription
from portal.accounts.models import StaffRole
from portal.audit.models import AuditEvent
from portal.aws import apigateway as aws_apigateway
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.reconcile.services import reconcile
from portal.sync import BUDGET_WAITS_HEADER, MAX_TRANSIENT_RETRIES, SyncStatus, object_lock
from tests.conftest import login, make_user, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def customers(live_tiers: dict[str, Plan]) -> dict[str, Customer]:
    """Acme on Free, Globex on Premium, both tiers in the local API Gateway."""
    acme = customer_onboard(owner=make_user("alice@acme.test"), organisation_name="Acme")
    globex = customer_onboard(owner=make_user("bob@globex.test"), organisation_name="Globex")
    Subscription.objects.filter(customer=globex).update(plan=live_tiers["Premium"])
    return {"acme": acme, "globex": globex}


def secret(customer: str, n: int) -> str:
    return f"{customer}-bulk-secret-{n:06d}-xyz"


def upload(text: str) -> KeyImport:
    admin = make_user("admin@tollgate.test", StaffRole.ADMIN)
    response = login(admin).post(
        reverse("console:key-import"),
        {"file": SimpleUploadedFile("keys.csv", text.encode(), content_type="text/csv")},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return KeyImport.objects.get()


def finished(imp: KeyImport, timeout: float = 120.0) -> KeyImport:
    wait_until(
        lambda: not KeyImport.objects.get(pk=imp.pk).is_active, timeout, "the import to finish"
    )
    imp.refresh_from_db()
    return imp


def aws_values(apigw: Any) -> dict[str, dict[str, Any]]:
    keys: dict[str, dict[str, Any]] = {}
    for page in apigw.get_paginator("get_api_keys").paginate(
        includeValues=True, PaginationConfig={"PageSize": 500}
    ):
        keys.update({item["id"]: item for item in page["items"]})
    return keys


def plan_members(apigw: Any, plan_id: str) -> set[str]:
    return {
        item["id"]
        for page in apigw.get_paginator("get_usage_plan_keys").paginate(
            usagePlanId=plan_id, PaginationConfig={"PageSize": 500}
        )
        for item in page["items"]
    }


def no_secret_in_database(secrets: set[str]) -> None:
    for model in (ApiKey, KeyImportRow, KeyImport):
        for row in model.objects.values():
            assert not {str(v) for v in row.values()} & secrets


def test_1200_keys_take_two_import_calls(
    customers: dict[str, Customer], live_tiers: dict[str, Plan], apigw: Any, control: Any
) -> None:
    lines = ["customer,name,key,enabled"]
    expected: dict[tuple[str, str], str] = {}
    for n in range(600):
        for slug in ("acme", "globex"):
            value = secret(slug, n)
            lines.append(f"{slug},key {n},{value},{'false' if n % 7 == 0 else 'true'}")
            expected[(slug, f"key {n}")] = value
    control.clear_calls()

    imp = finished(upload("\n".join(lines) + "\n"))

    assert (imp.status, imp.total, imp.done, imp.failed, imp.skipped) == ("done", 1200, 1200, 0, 0)
    assert len(control.calls("ImportApiKeys")) == 2  # chunks of 1,000
    assert control.calls("CreateApiKey") == [] and control.calls("CreateUsagePlanKey") == []
    # One listing of the account before the first chunk, then one page per 500 imported keys.
    assert len(control.calls("GetApiKeys")) == 1 + 2 + 1
    assert {c["operation"] for c in control.calls()} == {"GetApiKeys", "ImportApiKeys"}

    in_aws = aws_values(apigw)
    assert len(in_aws) == 1200
    members = {
        "acme": plan_members(apigw, live_tiers["Free"].aws_id),
        "globex": plan_members(apigw, live_tiers["Premium"].aws_id),
    }
    keys = ApiKey.objects.select_related("customer")
    assert keys.count() == 1200
    for key in keys:
        slug = key.customer.slug
        aws_key = in_aws[key.aws_id]
        assert aws_key["value"] == expected[(slug, key.name)]
        assert aws_key["name"] == key.aws_name
        assert aws_key["description"] == f"{key.customer.name}: {key.name}"
        assert aws_key["enabled"] is key.enabled
        assert key.aws_id in members[slug]
        assert key.enabled is not (int(key.name.split()[1]) % 7 == 0)
        assert key.sync_status == SyncStatus.SYNCED and key.secret_revealed_at is not None
        assert key.display_prefix == expected[(slug, key.name)][:5]
    assert all(len(m) == 600 for m in members.values())
    no_secret_in_database(set(expected.values()))
    assert all(cache.get(cache_key(imp.pk, chunk)) is None for chunk in (0, 1))
    # From now on the reconciler sees them as Tollgate's own keys, in sync.
    report = reconcile()
    assert report.drifted == [] and report.foreign_key_count == 0 and report.resync == []


def test_a_retried_chunk_duplicates_nothing_and_taken_values_are_left_alone(
    customers: dict[str, Customer], live_tiers: dict[str, Plan], apigw: Any, control: Any
) -> None:
    legacy = apigw.create_api_key(name="legacy", value=secret("acme", 2), enabled=True)
    # Globex's usage plan vanished from AWS after the tier synced: AWS refuses its rows.
    Plan.objects.filter(pk=live_tiers["Premium"].pk).update(aws_id="gone123")
    PlanCopy.objects.filter(plan=live_tiers["Premium"]).update(aws_id="gone123")
    rows = [
        f"acme,one,{secret('acme', 1)}",
        f"acme,two,{secret('acme', 2)}",
        f"globex,one,{secret('globex', 1)}",
        f"acme,three,{secret('acme', 3)}",
    ]
    # The first ImportApiKeys is applied in AWS but answers 500: the task must retry.
    control.add_fault("ImportApiKeys", status=500, times=1, after_apply=True)
    control.clear_calls()

    imp = finished(upload("customer,name,key\n" + "\n".join(rows) + "\n"))

    assert (imp.status, imp.total, imp.done, imp.failed) == ("done", 4, 4, 2)
    assert len(control.calls("ImportApiKeys")) == 2
    result = {r.line: r for r in imp.rows.all()}
    assert result[2].status == result[5].status == KeyImportRowStatus.IMPORTED
    assert result[3].status == KeyImportRowStatus.FAILED
    assert result[3].message.startswith(
        f"API Gateway already has this key value, as the key “legacy” ({legacy['id']})"
    )
    assert result[4].status == KeyImportRowStatus.FAILED
    assert "API Gateway refused this row: Invalid Usage Plan ID specified: gone123" in (
        result[4].message
    )
    in_aws = aws_values(apigw)
    assert len(in_aws) == 3  # legacy + two imported: the retry made no duplicate
    assert in_aws[legacy["id"]]["name"] == "legacy"  # not overwritten
    assert plan_members(apigw, live_tiers["Free"].aws_id) == {
        result[2].key.aws_id,  # type: ignore[union-attr]
        result[5].key.aws_id,  # type: ignore[union-attr]
    }
    assert ApiKey.objects.count() == 2
    no_secret_in_database({secret("acme", n) for n in (1, 2, 3)} | {secret("globex", 1)})

    page = login(imp.created_by).get(reverse("console:key-import-detail", args=[imp.pk]))  # type: ignore[arg-type]
    text = page.content.decode()
    assert "2 imported" in text and "legacy" in text and "gone123" in text
    assert "hx-trigger" not in text


def test_the_command_imports_and_reports(
    customers: dict[str, Customer],
    live_tiers: dict[str, Plan],
    apigw: Any,
    tmp_path: Any,
    capsys: Any,
) -> None:
    path = tmp_path / "keys.csv"
    path.write_text(
        "customer,name,key,enabled\n"
        f"acme,cli,{secret('acme', 7)},false\n"
        f"globex,cli,{secret('globex', 7)},\n"
    )
    call_command("import_keys", str(path))
    out = capsys.readouterr().out
    assert "2 rows to send, 0 skipped" in out and "2/2 rows sent (0 failed)" in out
    assert "2 imported, 0 failed, 0 skipped" in out
    keys = {k.customer.slug: k for k in ApiKey.objects.select_related("customer")}
    assert keys["acme"].enabled is False and keys["globex"].enabled is True
    assert apigw.get_api_key(apiKey=keys["globex"].aws_id, includeValue=True)["value"] == secret(
        "globex", 7
    )
    assert keys["globex"].aws_id in plan_members(apigw, live_tiers["Premium"].aws_id)

    path.write_text(
        f"customer,name,key\nacme,cli,{secret('acme', 8)}\nacme,ok,{secret('acme', 9)}\n"
    )
    with pytest.raises(CommandError, match="1 imported, 0 failed, 1 skipped"):
        call_command("import_keys", str(path))
    assert "line 2: skipped: Acme already has a key named “cli”." in capsys.readouterr().out
    assert ApiKey.objects.count() == 3


def test_a_crash_after_aws_took_a_chunk_loses_and_duplicates_nothing(
    customers: dict[str, Customer], apigw: Any, control: Any, monkeypatch: Any
) -> None:
    rows = [f"acme,crash {n},{secret('acme', 100 + n)}" for n in range(3)]
    imp, _ = start_import(
        actor=None, data=("customer,name,key\n" + "\n".join(rows) + "\n").encode(), enqueue=False
    )
    real_link = running.link_rows

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(running, "link_rows", crash)
    with pytest.raises(RuntimeError):
        running.run_import(imp.pk)
    imp.refresh_from_db()
    assert imp.status == "running" and ApiKey.objects.count() == 0
    assert len(aws_values(apigw)) == 3  # AWS took the chunk; Tollgate did not record it

    monkeypatch.setattr(running, "link_rows", real_link)
    running.run_import(imp.pk)  # the redelivered task
    imp.refresh_from_db()
    assert (imp.status, imp.done, imp.failed) == ("done", 3, 0)
    in_aws = aws_values(apigw)
    assert len(in_aws) == 3
    assert {k.aws_id for k in ApiKey.objects.all()} == set(in_aws)
    assert len(control.calls("ImportApiKeys")) == 2


def test_a_name_taken_and_a_tier_switched_while_the_chunk_was_on_its_way(
    customers: dict[str, Customer],
    live_tiers: dict[str, Plan],
    apigw: Any,
    monkeypatch: Any,
    settle: Any,
) -> None:
    acme = customers["acme"]
    data = f"customer,name,key\nacme,ci,{secret('acme', 300)}\nacme,prod,{secret('acme', 301)}\n"
    imp, _ = start_import(actor=None, data=data.encode(), enqueue=False)
    real_import = aws_apigateway.import_api_keys

    def import_then_change(body: str) -> Any:
        answer = real_import(body)
        # Meanwhile a person names a key "CI" and Acme moves to Premium.
        ApiKey.objects.create(customer=acme, name="CI")
        Subscription.objects.filter(customer=acme).update(plan=live_tiers["Premium"])
        return answer

    monkeypatch.setattr(aws_apigateway, "import_api_keys", import_then_change)
    running.run_import(imp.pk)

    rows = {r.name: r for r in imp.rows.select_related("key")}
    assert {r.status for r in rows.values()} == {KeyImportRowStatus.IMPORTED}
    assert rows["ci"].message == "Imported as “ci (2)”: “ci” was taken meanwhile."
    assert rows["ci"].key.name == "ci (2)"  # type: ignore[union-attr]
    assert rows["prod"].message == "" and rows["prod"].key.name == "prod"  # type: ignore[union-attr]
    for row in rows.values():
        assert row.key is not None and row.key.public_id == row.key_public_id
        assert row.key.aws_name == row.aws_name
    taken_over = AuditEvent.objects.filter(action="keys.taken_over")
    assert [(e.after or {}).get("origin") for e in taken_over] == [f"key import {imp.pk}"]
    # The new keys follow Acme to Premium through their sync tasks.
    ApiKey.objects.filter(name="CI").delete()
    settle()
    imported = ApiKey.objects.filter(pk__in=[r.key_id for r in rows.values()])
    assert {(k.desired_version, k.synced_version, k.sync_status) for k in imported} == {
        (2, 2, SyncStatus.SYNCED)
    }
    assert {k.aws_id for k in imported} <= plan_members(apigw, live_tiers["Premium"].aws_id)
    assert not {k.aws_id for k in imported} & plan_members(apigw, live_tiers["Free"].aws_id)


class FakeTask:
    def __init__(self, retries: int, budget_waits: int = 0) -> None:
        headers = {BUDGET_WAITS_HEADER: budget_waits} if budget_waits else {}
        self.request = SimpleNamespace(retries=retries, headers=headers or None, **headers)
        self.retried: dict[str, Any] = {}

    def retry(self, **kwargs: Any) -> Retry:
        self.retried = kwargs
        return Retry()


def test_waiting_for_another_worker_is_not_a_failed_attempt(
    customers: dict[str, Customer],
) -> None:
    """The task follows the sync tasks' retry policy (portal.sync.retry_later)."""
    data = f"customer,name,key\nacme,ci,{secret('acme', 400)}\n"
    imp, _ = start_import(actor=None, data=data.encode(), enqueue=False)
    task = FakeTask(retries=MAX_TRANSIENT_RETRIES + 3, budget_waits=MAX_TRANSIENT_RETRIES + 3)
    with object_lock(f"keys.keyimport:{imp.pk}") as acquired, pytest.raises(Retry):
        assert acquired
        running.run_import_task(task, imp.pk)
    assert task.retried["headers"] == {BUDGET_WAITS_HEADER: MAX_TRANSIENT_RETRIES + 4}
    assert 10.0 < task.retried["countdown"] <= 10.8
    imp.refresh_from_db()
    assert imp.status == "queued" and imp.rows.get().status == KeyImportRowStatus.PENDING
