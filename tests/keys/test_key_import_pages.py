"""Bulk onboarding pages: every bad file or row gets its message, good rows are queued, and no
secret reaches the database."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from keys.imports.checking import MAX_ROWS
from keys.imports.vault import cache_key, load_secrets
from keys.models import ApiKey, KeyImport, KeyImportRow, KeyImportRowStatus
from keys.services import key_create
from plans.models import Plan, Subscription
from portal.accounts.models import User
from portal.customers.models import Customer
from tests.conftest import login

URL = "key-import"
GOOD = "acme,production,acme-secret-value-0001xx\n"


@pytest.fixture
def onboarding(acme: Customer, globex: Customer, tiers: dict[str, Plan]) -> dict[str, Any]:
    """Acme on Free (in API Gateway); Globex on Premium, whose sync has not finished."""
    Plan.objects.filter(name="Free").update(aws_id="up-free")
    Subscription.objects.filter(customer=globex).update(plan=tiers["Premium"])
    return {"acme": acme, "globex": globex}


def upload(client: Client, data: bytes | str, name: str = "keys.csv") -> Any:
    body = data.encode() if isinstance(data, str) else data
    return client.post(
        reverse(f"console:{URL}"), {"file": SimpleUploadedFile(name, body, content_type="text/csv")}
    )


def nothing_changed() -> None:
    assert KeyImport.objects.count() == 0
    assert KeyImportRow.objects.count() == 0
    assert ApiKey.objects.count() == 0


def test_the_page_explains_the_file(admin: User) -> None:
    page = login(admin).get(reverse(f"console:{URL}")).content.decode()
    assert "customer,name,key,enabled" in page
    assert 'type="file"' in page


def test_the_customers_page_links_to_it(admin: User) -> None:
    page = login(admin).get(reverse("console:customers")).content.decode()
    assert "Import keys (CSV)" in page and reverse(f"console:{URL}") in page


def test_only_admins_may_import(ops: User, alice: User, onboarding: dict[str, Any]) -> None:
    for user in (ops, alice):
        client = login(user)
        assert client.get(reverse(f"console:{URL}")).status_code == 403
        assert upload(client, "customer,name,key\n" + GOOD).status_code == 403
    nothing_changed()
    assert "Import keys (CSV)" not in login(ops).get(reverse("console:customers")).content.decode()


def test_anonymous_people_must_sign_in(client: Client, db: None) -> None:
    response = client.get(reverse(f"console:{URL}"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_good_rows_are_queued_without_their_secrets(
    admin: User, onboarding: dict[str, Any]
) -> None:
    secrets = ["acme-secret-value-0001xx", "acme-secret-value-0002xx"]
    client = login(admin)
    response = upload(
        client,
        f"customer,name,key,enabled\nacme,production,{secrets[0]},true\n"
        f"ACME,staging,{secrets[1]},false\n",
    )
    assert response.status_code == 302
    imp = KeyImport.objects.get()
    assert response["Location"] == reverse("console:key-import-detail", args=[imp.pk])
    assert (imp.status, imp.total, imp.skipped, imp.created_by) == ("queued", 2, 0, admin)
    rows = list(imp.rows.order_by("line"))
    assert [(r.line, r.name, r.enabled, r.status) for r in rows] == [
        (2, "production", True, "pending"),
        (3, "staging", False, "pending"),
    ]
    assert rows[0].display_prefix == "acme-" and len(rows[0].secret_sha256) == 64
    # The AWS name of each future key starts with the import's token and the chunk number.
    assert rows[0].aws_name.startswith(f"tollgate-{imp.token}-0000-")
    # No column of any row holds a secret; the cache holds them encrypted only.
    for row in KeyImportRow.objects.values():
        assert not set(map(str, row.values())) & set(secrets)
    blob = cache.get(cache_key(imp.pk, 0))
    assert blob and not any(s in blob for s in secrets)
    assert load_secrets(imp.pk, 0) == {2: secrets[0], 3: secrets[1]}
    assert ApiKey.objects.count() == 0  # keys appear once API Gateway holds them

    page = client.get(response["Location"]).content.decode()
    assert "<progress" in page and 'hx-trigger="every 1s"' in page
    assert "2 keys queued for API Gateway." in page


BAD_ROWS = [
    ("nobody,production,acme-secret-value-0009xx", "No customer has the slug “nobody”."),
    (
        "globex,production,globex-secret-value-001x",
        "Globex's tier “Premium” is not in API Gateway yet",
    ),
    ("acme,short,too-short-key", "The key is 13 characters long; API Gateway needs 20 to 128."),
    ("acme,production,acme-secret-value-0009xx", "Line 2 already has a key named “production”"),
    ("acme,other,acme-secret-value-0001xx", "Same key as line 2."),
    ("acme,spaced,acme secret value 0009xx", "no spaces, commas or quotes"),
    ("acme,,acme-secret-value-0009xx", "The name is missing."),
    ("acme," + "n" * 65 + ",acme-secret-value-0009xx", "The name is 65 characters; keep it to 64."),
    ("acme,third,acme-secret-value-0009xx,yes", "Enabled must be true or false, not “yes”."),
    ("acme,third", "Expected 3 values (customer, name, key) but found 2."),
]


@pytest.mark.parametrize(("line", "message"), BAD_ROWS)
def test_a_bad_row_is_skipped_and_the_good_ones_go_on(
    admin: User, onboarding: dict[str, Any], line: str, message: str
) -> None:
    client = login(admin)
    with_enabled = line.endswith(",yes")
    header = "customer,name,key,enabled" if with_enabled else "customer,name,key"
    good = GOOD.replace("\n", ",true\n") if with_enabled else GOOD
    response = upload(client, f"{header}\n{good}{line}\n", name="mixed.csv")
    assert response.status_code == 302
    imp = KeyImport.objects.get()
    assert (imp.total, imp.skipped) == (1, 1)
    skipped = imp.rows.get(status=KeyImportRowStatus.SKIPPED)
    assert skipped.line == 3 and message in skipped.message
    assert not skipped.secret_sha256 and not skipped.key_public_id
    page = client.get(response["Location"]).content.decode()
    assert "1 row with problems was skipped" in page
    assert message.replace("'", "&#x27;") in page
    assert imp.rows.get(status=KeyImportRowStatus.PENDING).name == "production"


def test_a_name_the_customer_already_uses_is_refused(
    admin: User, alice: User, onboarding: dict[str, Any]
) -> None:
    key_create(actor=alice, customer=onboarding["acme"], name="Production")
    response = upload(
        login(admin),
        "customer,name,key\n" + GOOD + "acme,ci,acme-secret-value-0002xx\n",
    )
    assert response.status_code == 302
    skipped = KeyImportRow.objects.get(status=KeyImportRowStatus.SKIPPED)
    assert skipped.message == "Acme already has a key named “production”."


def test_a_key_already_in_tollgate_or_in_a_running_import_is_refused(
    admin: User, alice: User, onboarding: dict[str, Any]
) -> None:
    client = login(admin)
    assert upload(client, "customer,name,key\n" + GOOD).status_code == 302
    response = upload(client, "customer,name,key\nacme,again,acme-secret-value-0001xx\n")
    assert response.status_code == 400
    page = response.content.decode()
    first = KeyImport.objects.get()
    assert f"This key is already in import {first.pk}, still running." in page
    assert "No row can be imported" in page and KeyImport.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\n  \n", "The file is empty."),
        (b"customer,name,key\n", "The file has a header but no rows."),
        (b"customer,name\nacme,production\n", "the header has no key column"),
        (b"client,label,secret\n", "the header has no customer, name, key columns"),
        (
            b"customer,name,key,notes\nacme,production,acme-secret-value-0001xx,hi\n",
            "the header has unknown columns (“notes”)",
        ),
        (
            "customer,name,key\nacme,caf\u00e9,acme-secret-value-0001xx\n".encode("latin-1"),
            "The file is not UTF-8 text (line 2",
        ),
        (
            b"customer,name,key\nnobody,x,acme-secret-value-0001xx\n",
            "No row can be imported (1 with problems, listed below); nothing was changed.",
        ),
    ],
)
def test_a_file_that_cannot_be_used_changes_nothing(
    admin: User, onboarding: dict[str, Any], data: bytes, message: str
) -> None:
    response = upload(login(admin), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    nothing_changed()


def test_too_many_rows_are_refused(admin: User, onboarding: dict[str, Any]) -> None:
    lines = ["customer,name,key"] + [
        f"acme,key {n},acme-secret-value-{n:06d}" for n in range(MAX_ROWS + 1)
    ]
    response = upload(login(admin), "\n".join(lines) + "\n")
    assert response.status_code == 400
    assert "The file has more than 10,000 rows" in response.content.decode()
    nothing_changed()


def test_a_file_that_would_pass_api_gateways_key_limit_is_refused(
    admin: User, onboarding: dict[str, Any], settings: Any
) -> None:
    settings.TOLLGATE = {**settings.TOLLGATE, "AWS_CAPS": {"api_keys": 1}}
    response = upload(
        login(admin), "customer,name,key\n" + GOOD + "acme,ci,acme-secret-value-0002xx\n"
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "API Gateway allows 1 API keys per account and region" in page
    assert "(this needs 2 more)" in page and "Nothing was imported." in page
    nothing_changed()


def test_a_file_over_2_mb_is_refused(admin: User, onboarding: dict[str, Any]) -> None:
    response = upload(login(admin), b"customer,name,key\n" + b"x" * (2 * 1024 * 1024))
    assert response.status_code == 400
    assert "import at most 2 MB" in response.content.decode()
    nothing_changed()


def test_no_file_at_all(admin: User, db: None) -> None:
    response = login(admin).post(reverse(f"console:{URL}"), {})
    assert response.status_code == 400 and "Choose a CSV file" in response.content.decode()


def test_the_report_lists_every_row_without_secrets(
    admin: User, onboarding: dict[str, Any]
) -> None:
    client = login(admin)
    upload(client, "customer,name,key\n" + GOOD + "nobody,x,nobody-secret-value-01\n")
    imp = KeyImport.objects.get()
    imp.status = "done"
    imp.save()
    response = client.get(reverse("console:key-import-report", args=[imp.pk]))
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert "acme-secret-value-0001xx" not in text and "nobody-secret-value-01" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["line"], r["status"], r["key_prefix"]) for r in rows] == [
        ("2", "pending", "acme-"),
        ("3", "skipped", ""),
    ]
    assert rows[1]["message"] == "No customer has the slug “nobody”."
    partial = client.get(reverse("console:key-import-progress", args=[imp.pk])).content.decode()
    assert "<progress" in partial and "hx-trigger" not in partial  # done: no more polling
    assert login(admin).get(reverse(f"console:{URL}")).status_code == 200  # recent imports


def test_the_command_dry_run_changes_nothing(
    onboarding: dict[str, Any], tmp_path: Any, capsys: Any
) -> None:
    path = tmp_path / "keys.csv"
    path.write_text("customer,name,key\n" + GOOD + "nobody,x,nobody-secret-value-01\n")
    call_command("import_keys", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "line 3: skipped: No customer has the slug “nobody”." in out
    assert "Dry run: 1 rows would be imported, 1 skipped." in out
    nothing_changed()
    with pytest.raises(CommandError, match="The file is empty"):
        (tmp_path / "empty.csv").write_text("")
        call_command("import_keys", str(tmp_path / "empty.csv"))
    nothing_changed()
