"""The audit log as CSV: the same scope and filters as the page, every matching event, and
cells a spreadsheet will not run as formulas."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.urls import reverse

from keys.services import key_create
from portal.accounts.models import User
from portal.audit.services import audit
from portal.auditlog.selectors import CSV_HEADER
from portal.customers.models import Customer
from tests.conftest import login


def rows(user: User, name: str, **params: Any) -> list[dict[str, str]]:
    response = login(user).get(reverse(name), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0] == CSV_HEADER
    return [dict(zip(CSV_HEADER, line, strict=True)) for line in lines[1:]]


def test_staff_export_every_event_with_the_pages_filters(
    admin: User, alice: User, bob: User, acme: Customer, globex: Customer
) -> None:
    key_create(actor=alice, customer=acme, name="acme-prod")
    key_create(actor=bob, customer=globex, name="globex-prod")
    everything = rows(admin, "audit:console-csv")
    assert {r["object"] for r in everything if r["action"] == "key.created"} == {
        "acme-prod",
        "globex-prod",
    }
    only_acme = rows(admin, "audit:console-csv", organisation=acme.pk, action="key.created")
    assert [(r["object"], r["person"], r["organisation_id"]) for r in only_acme] == [
        ("acme-prod", "alice@acme.test", str(acme.pk))
    ]
    assert only_acme[0]["after"] == '{"name": "acme-prod"}'


def test_an_owner_exports_only_their_organisation(
    alice: User, bob: User, acme: Customer, globex: Customer
) -> None:
    key_create(actor=alice, customer=acme, name="acme-prod")
    key_create(actor=bob, customer=globex, name="globex-prod")
    exported = rows(alice, "audit:app-csv")
    assert exported and {r["organisation_id"] for r in exported} == {str(acme.pk)}
    assert "globex-prod" not in {r["object"] for r in exported}
    assert rows(alice, "audit:app-csv", organisation=globex.pk) == exported  # staff's filter


def test_a_formula_is_exported_as_text(admin: User, acme: Customer) -> None:
    audit(actor=None, action="customer.renamed", target=None, about='=HYPERLINK("x")')
    (row,) = rows(admin, "audit:console-csv", action="customer.renamed")
    assert row["object"] == '\'=HYPERLINK("x")'
