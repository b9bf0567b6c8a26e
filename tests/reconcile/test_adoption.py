"""An account with usage plans and keys made elsewhere is imported: tiers and customers' keys."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from keys.models import ApiKey
from plans.models import ApiStage, Plan
from portal.accounts.models import StaffRole
from portal.customers.models import Customer
from portal.reconcile.services import reconcile
from portal.sync import SyncStatus
from tests.conftest import login, make_user

pytestmark = pytest.mark.integration


@pytest.fixture
def legacy(worker: Any, apigw: Any, demo_api: tuple[str, str]) -> dict[str, Any]:
    api_id, stage = demo_api
    plan = apigw.create_usage_plan(
        name="Legacy gold",
        description="Made in the console",
        apiStages=[{"apiId": api_id, "stage": stage}],
        throttle={"rateLimit": 20.0, "burstLimit": 40},
        quota={"limit": 5000, "period": "MONTH", "offset": 0},
    )
    keys = [
        apigw.create_api_key(
            name=f"partner-{n}", enabled=n != 2, value=f"legacy-secret-value-{n:04d}xx"
        )
        for n in range(3)
    ]
    for key in keys:
        apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return {"plan": plan, "keys": keys}


def test_an_admin_imports_a_foreign_usage_plan(
    legacy: dict[str, Any], apigw: Any, settle: Any
) -> None:
    admin = make_user("admin@tollgate.test", StaffRole.ADMIN)
    reconcile()
    client = login(admin)
    page = client.get(reverse("console:import")).content.decode()
    assert "Legacy gold" in page

    response = client.post(
        reverse("console:import-plan", args=[legacy["plan"]["id"]]),
        {"tier_name": "Gold", "customer": "", "new_customer": "Partners Inc"},
    )
    assert response.status_code == 302
    plan = Plan.objects.get(name="Gold")
    assert (plan.aws_id, plan.throttle_burst, plan.quota_limit, plan.self_serve) == (
        legacy["plan"]["id"],
        40,
        5000,
        False,
    )
    assert ApiStage.objects.get().available
    customer = Customer.objects.get(name="Partners Inc")
    keys = {k.imported_aws_name: k for k in ApiKey.objects.filter(customer=customer)}
    assert set(keys) == {"partner-0", "partner-1", "partner-2"}
    assert keys["partner-2"].enabled is False
    assert (
        keys["partner-0"].secret_sha256 == hashlib.sha256(b"legacy-secret-value-0000xx").hexdigest()
    )
    assert all(k.secret_revealed_at is not None for k in keys.values())  # never shown by Tollgate
    settle()
    # The keys keep their AWS names and values, get Tollgate's description, and stay in the plan.
    aws_key = apigw.get_api_key(apiKey=keys["partner-0"].aws_id, includeValue=True)
    assert aws_key["name"] == "partner-0" and aws_key["value"] == "legacy-secret-value-0000xx"
    assert aws_key["description"] == "Partners Inc: partner-0"
    in_plan = {k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=plan.aws_id)["items"]}
    assert in_plan == {k.aws_id for k in keys.values()}
    # From now on the reconciler sees them as Tollgate's own, in sync.
    report = reconcile()
    assert (
        report.drifted == [] and report.foreign_usage_plans == [] and report.foreign_key_count == 0
    )
    assert all(k.sync_status == SyncStatus.SYNCED for k in ApiKey.objects.all())


def test_import_into_a_customer_already_on_a_tier_is_refused(
    legacy: dict[str, Any], live_tiers: dict[str, Plan], capsys: Any
) -> None:
    from portal.customers.services import customer_onboard

    customer_onboard(owner=make_user("x@acme.test"), organisation_name="Acme")
    with pytest.raises(CommandError, match="Acme is already on a tier"):
        call_command("import_usage_plan", legacy["plan"]["id"], "--customer", "acme")
    assert not Plan.objects.filter(aws_id=legacy["plan"]["id"]).exists()
    assert ApiKey.objects.count() == 0


def test_the_command_imports_into_a_new_customer(legacy: dict[str, Any], capsys: Any) -> None:
    call_command("import_usage_plan", legacy["plan"]["id"], "--new-customer", "Partners")
    assert "3 keys now belong to Partners" in capsys.readouterr().out
    with pytest.raises(CommandError, match="already a Tollgate tier"):
        call_command("import_usage_plan", legacy["plan"]["id"], "--new-customer", "Again")
