"""The audit trail is append-only: on PostgreSQL a trigger refuses UPDATE and DELETE of a row
whatever the code does; everywhere the model and its queryset refuse them in code; deleting a
person or an organisation leaves their events exactly as they were."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from portal.accounts.models import User
from portal.audit.models import AppendOnly, AuditEvent
from portal.audit.services import audit
from portal.customers.models import Customer

ON_POSTGRES = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger exists on PostgreSQL only (SQLite: the rule is in code)",
)


@pytest.fixture
def event(alice: User, acme: Customer) -> AuditEvent:
    return audit(actor=alice, action="customer.renamed", target=acme, before={"name": "A"})


@ON_POSTGRES
def test_the_database_refuses_an_update(event: AuditEvent) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.action == "customer.renamed"


@ON_POSTGRES
def test_the_database_refuses_a_delete(event: AuditEvent) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@ON_POSTGRES
def test_the_database_refuses_nulling_the_actor_too(event: AuditEvent) -> None:
    """No exception for the actor: nothing legitimate ever changes a row."""
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor_id = NULL WHERE id = %s", [event.pk])


def test_the_model_refuses_to_save_an_existing_event(event: AuditEvent) -> None:
    event.action = "changed"
    with pytest.raises(AppendOnly):
        event.save()
    event.refresh_from_db()
    assert event.action == "customer.renamed"


def test_the_model_and_its_queryset_refuse_to_delete(event: AuditEvent) -> None:
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    assert AuditEvent.objects.filter(pk=event.pk, action="customer.renamed").exists()


def test_deleting_the_person_and_the_organisation_leaves_the_event_as_it_was(
    event: AuditEvent, alice: User, acme: Customer
) -> None:
    """No FK constraint and no on_delete action: their deletion never UPDATEs an event (which
    the trigger would refuse), and the event still says who it was and which organisation."""
    alice_id, acme_id = alice.pk, acme.pk
    acme.delete()
    alice.delete()
    event = AuditEvent.objects.select_related("customer").get(pk=event.pk)
    assert (event.actor_id, event.actor_email) == (alice_id, "alice@acme.test")
    assert event.customer_id == acme_id
    assert event.customer is None  # the organisation is gone; its id stays on the event


def test_the_django_admin_is_read_only(event: AuditEvent, admin: User) -> None:
    model_admin = admin_site_entry()
    request = RequestFactory().get("/")
    request.user = admin
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)


def admin_site_entry() -> admin.ModelAdmin:
    return admin.site._registry[AuditEvent]
