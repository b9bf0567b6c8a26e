"""/api/v1/key-imports: the console's CSV key import (keys.imports.starting), as JSON."""

from __future__ import annotations

from typing import Any

import pytest

from keys.models import KeyImport, KeyImportStatus
from keys.services import key_create
from plans.models import Plan
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from tests.fixtures.api import api_as

SECRET = "Acme-existing-key-0123456789abcdef"
CSV = f"customer,name,key\nacme,legacy,{SECRET}\nnobody,other,Another-key-0123456789abcdef\n"


@pytest.fixture
def tier_in_aws(acme: Customer, tiers: dict[str, Plan]) -> None:
    """Acme's tier (Free) has reached API Gateway, so its keys can join its usage plan."""
    Plan.objects.filter(pk=tiers["Free"].pk).update(aws_id="plan1")


def test_an_admin_imports_a_file_and_follows_it(
    admin: User,
    ops: User,
    tier_in_aws: None,
    sent_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(admin).post("/api/v1/key-imports", {"file_name": "keys.csv", "csv": CSV})

    assert response.status_code == 201, response.content
    assert SECRET not in response.content.decode()  # never the secret, not even back
    body = response.json()
    imp = KeyImport.objects.get()
    assert (body["id"], body["status"], body["total"], body["skipped"]) == (imp.pk, "queued", 1, 1)
    assert body["created_by"] == "admin@tollgate.test"
    assert [(r["line"], r["status"]) for r in body["rows"]] == [(2, "pending"), (3, "skipped")]
    assert body["rows"][0]["key_prefix"] == SECRET[:5]
    assert body["rows"][1]["message"] == "No customer has the slug “nobody”."
    assert sent_tasks == [("keys.tasks.run_key_import", (imp.pk,))]
    assert AuditEvent.objects.get(action="keys.import_started").actor == admin

    # Ops read it too: progress and every line.
    listed = api_as(ops).get("/api/v1/key-imports").json()["results"]
    assert [(i["id"], i["file_name"]) for i in listed] == [(imp.pk, "keys.csv")]
    assert "rows" not in listed[0]
    detail = api_as(ops).get(f"/api/v1/key-imports/{imp.pk}")
    assert detail.status_code == 200
    assert [r["customer"] for r in detail.json()["rows"]] == ["acme", "nobody"]
    assert SECRET not in detail.content.decode()


def test_a_file_without_a_good_row_is_refused_and_changes_nothing(
    admin: User, tier_in_aws: None, sent_tasks: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    csv = "customer,name,key\nnobody,a,Another-key-0123456789abcdef\nacme,b,short\n"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_as(admin).post("/api/v1/key-imports", {"csv": csv})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["csv"][0].startswith("No row can be imported (2 with problems")
    assert errors["csv.2"] == ["No customer has the slug “nobody”."]
    assert errors["csv.3"] == ["The key is 5 characters long; API Gateway needs 20 to 128."]
    assert not KeyImport.objects.exists()
    assert callbacks == [] and sent_tasks == []
    assert not AuditEvent.objects.filter(action="keys.import_started").exists()


def test_ops_may_not_upload(ops: User, tier_in_aws: None) -> None:
    response = api_as(ops).post("/api/v1/key-imports", {"csv": CSV})

    assert response.status_code == 403
    assert not KeyImport.objects.exists()


def test_a_stalled_import_is_resumed_and_a_finished_one_is_not(
    admin: User, sent_tasks: list[Any], django_capture_on_commit_callbacks: Any, db: None
) -> None:
    running = KeyImport.objects.create(token="api00001", status=KeyImportStatus.RUNNING)
    done = KeyImport.objects.create(token="api00002", status=KeyImportStatus.DONE)
    client = api_as(admin)

    with django_capture_on_commit_callbacks(execute=True):
        resumed = client.post(f"/api/v1/key-imports/{running.pk}/resume")
    assert resumed.status_code == 202
    assert resumed.json()["status"] == "running"
    assert sent_tasks == [("keys.tasks.run_key_import", (running.pk,))]
    assert AuditEvent.objects.get(action="keys.import_resumed").target_id == str(running.pk)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refused = client.post(f"/api/v1/key-imports/{done.pk}/resume")
    assert refused.status_code == 409
    assert refused.json()["type"] == "conflict"
    assert callbacks == []
    assert AuditEvent.objects.filter(action="keys.import_resumed").count() == 1


def test_the_list_filters_by_status(ops: User, db: None) -> None:
    KeyImport.objects.create(token="api00003", status=KeyImportStatus.FAILED)
    KeyImport.objects.create(token="api00004", status=KeyImportStatus.DONE)

    rows = api_as(ops).get("/api/v1/key-imports?status=failed").json()["results"]

    assert [r["status"] for r in rows] == ["failed"]


def test_an_import_that_would_pass_the_key_limit_is_refused_as_a_whole(
    admin: User, acme: Customer, tier_in_aws: None, settings: Any, sent_tasks: list[Any]
) -> None:
    """API Gateway holds 10,000 keys per account and region (lowered here to 3): Acme has one,
    so a file of three is refused before anything is kept, with what to do instead."""
    settings.TOLLGATE = {**settings.TOLLGATE, "AWS_CAPS": {"api_keys": 3}}
    key_create(actor=admin, customer=acme, name="production")
    rows = "".join(f"acme,legacy-{n},{SECRET}{n}\n" for n in range(3))
    response = api_as(admin).post("/api/v1/key-imports", {"csv": f"customer,name,key\n{rows}"})

    assert response.status_code == 400
    assert response.json()["errors"]["csv"] == [
        "API Gateway allows 3 API keys per account and region and us-east-1 has 1 (this needs 3 "
        "more): import fewer keys for customers whose tier is there (split the file), revoke "
        "keys that are no longer used, or add a region or another AWS account to the tier. "
        "Nothing was imported."
    ]
    assert not KeyImport.objects.exists() and sent_tasks == []

    two = "".join(f"acme,legacy-{n},{SECRET}{n}\n" for n in range(2))
    accepted = api_as(admin).post("/api/v1/key-imports", {"csv": f"customer,name,key\n{two}"})
    assert accepted.status_code == 201, accepted.content
    # The two rows still on their way count as keys: a second file finds the place full.
    one = f"customer,name,key\nacme,later,{SECRET}x\n"
    again = api_as(admin).post("/api/v1/key-imports", {"csv": one})
    assert again.status_code == 400
    assert again.json()["errors"]["csv"][0].startswith(
        "API Gateway allows 3 API keys per account and region and us-east-1 has 3: import fewer"
    )
    assert KeyImport.objects.count() == 1
