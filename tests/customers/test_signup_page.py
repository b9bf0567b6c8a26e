"""Sign-up: a new person confirms their address and gets an organisation on the default tier;
sign-up and password reset never tell whether an address is registered."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from plans.models import Plan, Subscription
from portal.accounts.models import User
from portal.customers.models import Customer, Membership

GOOD = {
    "organisation": "Hooli",
    "email": "gavin@hooli.test",
    "password1": "a-long-enough-pass",
    "password2": "a-long-enough-pass",
}


def confirmation_link(email: str) -> str:
    """The path of the link in the last confirmation email sent to `email` (mail.outbox)."""
    sent = [m for m in mail.outbox if email in m.to and "Confirm" in m.subject]
    assert sent, f"no confirmation email to {email}: {[m.subject for m in mail.outbox]}"
    found = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", str(sent[-1].body))
    assert found is not None, sent[-1].body
    return found.group(1)


def test_it_signs_up_onto_the_default_tier(client: Client, tiers: dict[str, Plan]) -> None:
    response = client.post(reverse("account_signup"), GOOD)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="gavin@hooli.test")
    customer = Customer.objects.get(name="Hooli")
    assert Membership.objects.get(user=user, customer=customer).role == "owner"
    subscription = Subscription.objects.get(customer=customer)
    assert (subscription.plan.name, subscription.status) == ("Free", "active")
    # Not signed in until the address is confirmed.
    assert client.get(reverse("app:keys"))["Location"].startswith(reverse("account_login"))
    signed_in = client.post(
        reverse("account_login"), {"login": GOOD["email"], "password": GOOD["password1"]}
    )
    assert signed_in["Location"] == reverse("account_email_verification_sent")

    link = confirmation_link(GOOD["email"])
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 302
    assert EmailAddress.objects.get(user=user).verified

    client.post(reverse("account_login"), {"login": GOOD["email"], "password": GOOD["password1"]})
    assert client.get(reverse("home"))["Location"] == reverse("app:keys")
    created = client.post(reverse("app:key-create"), {"name": "production"})
    assert created.status_code == 302


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"organisation": ""}, "This field is required."),
        ({"organisation": " x "}, "Enter an organisation name of at least 2 characters."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"password2": "something-else"}, "You must type the same password each time."),
        ({"password1": "short", "password2": "short"}, "This password is too short."),
    ],
)
def test_it_explains_bad_sign_up_input(
    client: Client, tiers: dict[str, Plan], changes: dict[str, Any], message: str
) -> None:
    response = client.post(reverse("account_signup"), {**GOOD, **changes})
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not User.objects.exists()
    assert not Customer.objects.exists()


def _page(response: Any) -> str:
    """A page without what differs on every request: the CSRF token (in forms and htmx headers)
    and any CSP nonce."""
    page = re.sub(r"\b[A-Za-z0-9]{64}\b", "CSRF", response.content.decode())
    return re.sub(r'nonce="[^"]*"', "", page)


@pytest.fixture
def no_mail_sent_before() -> None:
    """allauth rate-limits mails per address in the cache; earlier tests mailed these too."""
    cache.clear()


@pytest.mark.usefixtures("no_mail_sent_before")
def test_sign_up_with_a_registered_email_looks_like_any_sign_up(alice: User) -> None:
    taken, new = Client(), Client()
    answer_taken = taken.post(reverse("account_signup"), {**GOOD, "email": "alice@acme.test"})
    answer_new = new.post(reverse("account_signup"), GOOD)

    assert answer_taken.status_code == answer_new.status_code == 302
    assert answer_taken["Location"] == answer_new["Location"]
    page_taken = taken.get(answer_taken["Location"])
    page_new = new.get(answer_new["Location"])
    assert page_taken.status_code == page_new.status_code == 200
    # Each page names the address that was typed, and nothing else differs.
    assert _page(page_taken).replace("alice@acme.test", "EMAIL") == _page(page_new).replace(
        GOOD["email"], "EMAIL"
    )
    assert "already" not in _page(page_taken)
    # Only the owner of the address learns it is taken, by email; nothing was created for it.
    assert [m.to for m in mail.outbox if "Already Exists" in m.subject] == [["alice@acme.test"]]
    assert Customer.objects.count() == 2  # Acme, and Hooli of the new address
    assert User.objects.filter(email="alice@acme.test").count() == 1


@pytest.mark.usefixtures("no_mail_sent_before")
def test_password_reset_looks_the_same_for_any_email(alice: User) -> None:
    known, unknown = Client(), Client()
    answer_known = known.post(reverse("account_reset_password"), {"email": "alice@acme.test"})
    answer_unknown = unknown.post(reverse("account_reset_password"), {"email": "no@one.test"})

    assert answer_known.status_code == answer_unknown.status_code == 302
    assert answer_known["Location"] == answer_unknown["Location"]
    assert _page(known.get(answer_known["Location"])) == _page(
        unknown.get(answer_unknown["Location"])
    )
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@acme.test", "no@one.test"]
