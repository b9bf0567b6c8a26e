"""Bulk onboarding against the local AWS: ImportApiKeys in chunks, fingerprints only, retries
that duplicate nothing, and values AWS already holds left alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from keys.bulk import _cache_key
from keys.models import ApiKey, KeyImport, KeyImportRow, KeyImportRowStatus
from plans.models import Plan, Subscription
from portal.accounts.models import StaffRole
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.reconcile.services import reconcile
from portal.sync import SyncStatus
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
    assert all(cache.get(_cache_key(imp.pk, chunk)) is None for chunk in (0, 1))
    # From now on the reconciler sees them as Tollgate's own keys, in sync.
    report = reconcile()
    assert report.drifted == [] and report.foreign_key_count == 0 and report.resync == []


def test_a_retried_chunk_duplicates_nothing_and_taken_values_are_left_alone(
    customers: dict[str, Customer], live_tiers: dict[str, Plan], apigw: Any, control: Any
) -> None:
    legacy = apigw.create_api_key(name="legacy", value=secret("acme", 2), enabled=True)
    # Globex's usage plan vanished from AWS after the tier synced: AWS refuses its rows.
    Plan.objects.filter(pk=live_tiers["Premium"].pk).update(aws_id="gone123")
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
    from keys import bulk

    rows = [f"acme,crash {n},{secret('acme', 100 + n)}" for n in range(3)]
    imp, _ = bulk.start_import(
        actor=None, data=("customer,name,key\n" + "\n".join(rows) + "\n").encode(), enqueue=False
    )
    real_link = bulk._link

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(bulk, "_link", crash)
    with pytest.raises(RuntimeError):
        bulk.run_import(imp.pk)
    imp.refresh_from_db()
    assert imp.status == "running" and ApiKey.objects.count() == 0
    assert len(aws_values(apigw)) == 3  # AWS took the chunk; Tollgate did not record it

    monkeypatch.setattr(bulk, "_link", real_link)
    bulk.run_import(imp.pk)  # the redelivered task
    imp.refresh_from_db()
    assert (imp.status, imp.done, imp.failed) == ("done", 3, 0)
    in_aws = aws_values(apigw)
    assert len(in_aws) == 3
    assert {k.aws_id for k in ApiKey.objects.all()} == set(in_aws)
    assert len(control.calls("ImportApiKeys")) == 2
