"""audit(): who (kept as text too), and which organisation, read from the target."""

from __future__ import annotations

from typing import Any

from keys.services import key_create
from plans.selectors import active_subscription
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.audit.services import audit
from portal.customers.models import Customer


def test_the_organisation_comes_from_the_target(
    alice: User, acme: Customer, tiers: dict[str, Any]
) -> None:
    key = key_create(actor=alice, customer=acme, name="production")
    subscription = active_subscription(acme)
    assert subscription is not None
    assert audit(actor=alice, action="x", target=key).customer_id == acme.pk
    assert audit(actor=alice, action="x", target=acme).customer_id == acme.pk
    assert audit(actor=alice, action="x", target=subscription).customer_id == acme.pk
    assert audit(actor=alice, action="x", target=alice).customer_id is None  # a person
    assert audit(actor=None, action="x", target=None, about="AWS").customer_id is None
    assert audit(actor=None, action="x", target=None, customer_id=acme.pk).customer_id == acme.pk


def test_a_key_created_through_its_service_is_an_event_of_its_organisation(
    alice: User, acme: Customer
) -> None:
    key = key_create(actor=alice, customer=acme, name="production")
    event = AuditEvent.objects.get(action="key.created", target_id=str(key.pk))
    assert (event.customer_id, event.actor_email) == (acme.pk, "alice@acme.test")
