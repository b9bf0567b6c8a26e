"""The reconciler in two regions of one account, against the local AWS: each region is compared
on its own — its usage plan and key copies, its calls, its figures — and a drift or a
deletion in one region is reported, settled and recreated there."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest
from django.urls import reverse

from keys.models import ApiKey, KeyCopy
from keys.services import key_create
from localaws.demo_api import ensure_demo_api
from localaws.demo_estate import EU_DOMAIN, EU_REGION, MAIN_REGION
from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl
from plans.models import ApiStage, Plan, PlanCopy
from plans.services import plan_create
from plans.stages import stage_set_available, stages_discover
from portal.accounts.models import StaffRole
from portal.connections.models import AwsConnection
from portal.customers.services import customer_onboard
from portal.reconcile.adoption import adopt_usage_plan
from portal.reconcile.drift import drift_accept_aws, drift_push_ours
from portal.reconcile.models import ReconcileRun
from portal.reconcile.services import reconcile
from portal.sync import SyncStatus
from tests.conftest import FREE, login, make_user
from tests.reconcile.test_reconciler import WRITES

pytestmark = pytest.mark.integration


@pytest.fixture
def euw(local_aws: LocalAwsServer, control: LocalAwsControl) -> Any:
    """The local API Gateway in eu-west-1, same account as `apigw`."""
    return boto3.client(
        "apigateway",
        region_name=EU_REGION,
        endpoint_url=local_aws.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def two_regions(worker: Any, apigw: Any, euw: Any, settle: Any) -> dict[str, Any]:
    """The demo API in us-east-1 and eu-west-1, a Free tier covering both, and a customer's
    key: a usage plan and a key copy in each region."""
    ensure_demo_api(apigw)
    ensure_demo_api(euw, domain=EU_DOMAIN)
    AwsConnection.objects.create(
        name="Main", is_default=True, regions=[MAIN_REGION, EU_REGION], account_id="123456789012"
    )
    stages_discover()
    stages = [
        stage_set_available(actor=None, stage=stage, available=True)
        for stage in ApiStage.objects.order_by("region")
    ]
    assert sorted(s.region for s in stages) == [EU_REGION, MAIN_REGION]
    tier = plan_create(actor=None, data=dict(FREE), stages=stages)
    settle()
    owner = make_user("dana@initech.test")
    customer = customer_onboard(owner=owner, organisation_name="Initech")
    key = key_create(actor=owner, customer=customer, name="production")
    settle()
    tier.refresh_from_db()
    key.refresh_from_db()
    plan_ids = {c.region: c.aws_id for c in PlanCopy.objects.filter(plan=tier)}
    key_ids = {c.region: c.aws_id for c in KeyCopy.objects.filter(key=key)}
    assert set(plan_ids) == set(key_ids) == {MAIN_REGION, EU_REGION}
    assert all(plan_ids.values()) and all(key_ids.values())
    return {"tier": tier, "key": key, "plans": plan_ids, "keys": key_ids}


def by_region(control: LocalAwsControl) -> Counter[tuple[str, str]]:
    return Counter((call["region"], call["operation"]) for call in control.calls())


def set_eu_rate(euw: Any, world: dict[str, Any], rate: str) -> None:
    euw.update_usage_plan(
        usagePlanId=world["plans"][EU_REGION],
        patchOperations=[{"op": "replace", "path": "/throttle/rateLimit", "value": rate}],
    )


def test_each_region_is_read_once_and_in_sync_it_writes_nothing(
    two_regions: dict[str, Any], control: LocalAwsControl
) -> None:
    control.clear_calls()
    report = reconcile()

    assert report.drifted == [] and report.resync == [] and report.removed == []
    assert report.in_sync == 2  # the tier and the key, each equal in both regions
    calls = by_region(control)
    assert not {op for _, op in calls} & WRITES
    # What one single-region pass makes, in each region: one page of usage plans, one of
    # keys, one page of keys of the tier's usage plan there.
    for region in (MAIN_REGION, EU_REGION):
        assert {op: n for (r, op), n in calls.items() if r == region} == {
            "GetUsagePlans": 1,
            "GetApiKeys": 1,
            "GetUsagePlanKeys": 1,
        }
    places = ReconcileRun.objects.get().places
    connection_id = AwsConnection.objects.get(is_default=True).pk
    assert places == {
        region: {
            "plans": 1,
            "keys": 1,
            "calls": 3,
            "in_sync": 2,
            "drifted": 0,
            "missing": 0,
            "error": "",
            "connection_id": connection_id,
            "region": region,
            "foreign_keys": 0,
            "foreign_usage_plans": 0,
        }
        for region in (MAIN_REGION, EU_REGION)
    }


def test_a_throttle_changed_in_one_region_is_drift_there_only(
    two_regions: dict[str, Any], euw: Any, apigw: Any, settle: Any
) -> None:
    tier = two_regions["tier"]
    set_eu_rate(euw, two_regions, "5")

    report = reconcile()

    tier.refresh_from_db()
    assert tier.sync_status == SyncStatus.DRIFTED and tier.drift is not None
    assert [(p["where"], p["differences"]) for p in tier.drift["places"]] == [
        (EU_REGION, [{"field": "throttle", "ours": "2 req/s, burst 5", "aws": "5 req/s, burst 5"}])
    ]
    assert report.drifted == [
        "tier “Free”: throttle is 5 req/s, burst 5 in AWS in eu-west-1, 2 req/s, burst 5 here"
    ]
    places = ReconcileRun.objects.get().places
    assert (places[MAIN_REGION]["in_sync"], places[MAIN_REGION]["drifted"]) == (2, 0)
    assert (places[EU_REGION]["in_sync"], places[EU_REGION]["drifted"]) == (1, 1)

    page = login(make_user("admin@tollgate.test", StaffRole.ADMIN)).get(reverse("console:drift"))
    html = page.content.decode()
    assert (
        "<td>eu-west-1</td><td>throttle</td><td><code>2 req/s, burst 5</code></td>"
        "<td><code>5 req/s, burst 5</code></td>" in html
    )
    assert "the sync then gives them to its other regions too" in html

    # Pushing ours resyncs the tier: eu-west-1 gets Tollgate's rate back.
    drift_push_ours(actor=None, obj=tier)
    settle()
    assert euw.get_usage_plan(usagePlanId=two_regions["plans"][EU_REGION])["throttle"] == {
        "rateLimit": 2.0,
        "burstLimit": 5,
    }
    assert reconcile().drifted == []


def test_accepting_one_regions_values_gives_them_to_the_others(
    two_regions: dict[str, Any], euw: Any, apigw: Any, settle: Any, control: LocalAwsControl
) -> None:
    tier = two_regions["tier"]
    set_eu_rate(euw, two_regions, "4")
    reconcile()
    tier.refresh_from_db()

    control.clear_calls()
    drift_accept_aws(actor=None, obj=tier)
    settle()

    tier.refresh_from_db()
    assert tier.throttle_rate == 4 and tier.sync_status == SyncStatus.SYNCED
    assert apigw.get_usage_plan(usagePlanId=two_regions["plans"][MAIN_REGION])["throttle"] == {
        "rateLimit": 4.0,
        "burstLimit": 5,
    }
    # eu-west-1 already held it: only us-east-1 was written to.
    writes = {(r, op) for (r, op) in by_region(control) if op in WRITES}
    assert writes == {(MAIN_REGION, "UpdateUsagePlan")}
    assert set(ApiStage.objects.filter(plans=tier).values_list("region", flat=True)) == {
        MAIN_REGION,
        EU_REGION,
    }
    assert reconcile().drifted == []


def test_a_key_deleted_in_one_region_is_recreated_there_with_the_same_value(
    two_regions: dict[str, Any], euw: Any, apigw: Any, settle: Any
) -> None:
    key = two_regions["key"]
    old_eu = two_regions["keys"][EU_REGION]
    euw.delete_api_key(apiKey=old_eu)

    report = reconcile()

    assert report.drifted == []
    assert report.resync == [
        "key “production” of Initech: deleted in AWS in eu-west-1 → recreate it there"
    ]
    assert ReconcileRun.objects.get().places[EU_REGION]["missing"] == 1
    settle()
    copies = {c.region: c.aws_id for c in KeyCopy.objects.filter(key=key)}
    assert copies[MAIN_REGION] == two_regions["keys"][MAIN_REGION]
    assert copies[EU_REGION] and copies[EU_REGION] != old_eu
    us_value = apigw.get_api_key(apiKey=copies[MAIN_REGION], includeValue=True)["value"]
    assert euw.get_api_key(apiKey=copies[EU_REGION], includeValue=True)["value"] == us_value
    in_plan = euw.get_usage_plan_keys(usagePlanId=two_regions["plans"][EU_REGION])["items"]
    assert [k["id"] for k in in_plan] == [copies[EU_REGION]]
    assert ApiKey.objects.get(pk=key.pk).sync_status == SyncStatus.SYNCED
    assert reconcile().resync == []


def test_a_region_that_cannot_be_read_does_not_stop_the_others(
    two_regions: dict[str, Any], euw: Any, control: LocalAwsControl
) -> None:
    set_eu_rate(euw, two_regions, "5")
    control.add_fault(
        "GetUsagePlans",
        status=403,
        code="AccessDeniedException",
        message="not authorized in eu-west-1",
        times=None,
        region=EU_REGION,
    )

    report = reconcile()

    places = ReconcileRun.objects.get().places
    assert "The AWS credentials lack permission" in places[EU_REGION]["error"]
    assert places[MAIN_REGION] == {
        "plans": 1,
        "keys": 1,
        "calls": 3,
        "in_sync": 2,
        "drifted": 0,
        "missing": 0,
        "error": "",
        "connection_id": AwsConnection.objects.get(is_default=True).pk,
        "region": MAIN_REGION,
        "foreign_keys": 0,
        "foreign_usage_plans": 0,
    }
    # Equal where it could be read, unknown in eu-west-1: neither drifted nor confirmed.
    assert report.drifted == [] and report.in_sync == 0
    assert Plan.objects.get(pk=two_regions["tier"].pk).sync_status == SyncStatus.SYNCED
    assert any(line.startswith("failed   eu-west-1: ") for line in report.lines())
    page = login(make_user("ops@tollgate.test", StaffRole.OPS)).get(reverse("console:drift"))
    assert "not authorized in eu-west-1" in page.content.decode()


def test_a_usage_plan_made_in_eu_west_1_is_adopted_there(
    worker: Any, apigw: Any, euw: Any, settle: Any
) -> None:
    ensure_demo_api(apigw)
    api_id, stage = ensure_demo_api(euw, domain=EU_DOMAIN)
    AwsConnection.objects.create(name="Main", is_default=True, regions=[MAIN_REGION, EU_REGION])
    foreign = euw.create_usage_plan(
        name="Legacy EU",
        apiStages=[{"apiId": api_id, "stage": stage}],
        throttle={"rateLimit": 20.0, "burstLimit": 40},
    )
    key = euw.create_api_key(name="eu-partner", enabled=True, value="legacy-eu-secret-0000xx")
    euw.create_usage_plan_key(usagePlanId=foreign["id"], keyId=key["id"], keyType="API_KEY")

    report = reconcile()
    assert [(p["id"], p["where"], p["region"]) for p in report.foreign_usage_plans] == [
        (foreign["id"], EU_REGION, EU_REGION)
    ]
    assert report.foreign_key_count == 1
    page = login(make_user("admin@tollgate.test", StaffRole.ADMIN)).get(reverse("console:import"))
    assert f"<code>{foreign['id']}</code> in eu-west-1" in page.content.decode()

    result = adopt_usage_plan(actor=None, aws_plan_id=foreign["id"], new_customer_name="EU Inc")
    settle()

    copies = list(PlanCopy.objects.filter(plan=result.plan).values_list("region", "aws_id"))
    assert copies == [(EU_REGION, foreign["id"])]
    adopted = ApiKey.objects.get(customer=result.customer)
    assert list(KeyCopy.objects.filter(key=adopted).values_list("region", "aws_id")) == [
        (EU_REGION, key["id"])
    ]
    # Nothing was made in us-east-1: the tier covers the eu-west-1 stage only.
    assert apigw.get_usage_plans()["items"] == [] and apigw.get_api_keys()["items"] == []
    assert euw.get_api_key(apiKey=key["id"])["description"] == "EU Inc: eu-partner"
    again = reconcile()
    assert (again.drifted, again.resync, again.removed) == ([], [], [])
    assert again.foreign_usage_plans == [] and again.foreign_key_count == 0


def test_a_usage_plan_deleted_in_one_region_is_made_again_and_the_keys_join_it(
    two_regions: dict[str, Any], euw: Any, settle: Any
) -> None:
    old = two_regions["plans"][EU_REGION]
    euw.delete_usage_plan(usagePlanId=old)

    report = reconcile()

    assert report.resync == ["tier “Free”: deleted in AWS in eu-west-1 → recreate it there"]
    settle()
    new = PlanCopy.objects.get(plan=two_regions["tier"], region=EU_REGION).aws_id
    assert new and new != old
    assert euw.get_usage_plan(usagePlanId=new)["throttle"]["rateLimit"] == 2.0
    members = euw.get_usage_plan_keys(usagePlanId=new)["items"]
    assert [k["id"] for k in members] == [two_regions["keys"][EU_REGION]]
    again = reconcile()
    assert (again.drifted, again.resync) == ([], [])
