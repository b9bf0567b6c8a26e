"""Django's admin has no password form of its own: /django-admin/login/ sends people to allauth's
sign-in (with its rate limits and its MFA step), and only an active superuser whose session
passed MFA gets in."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.accounts.models import StaffRole, User
from portal.audit.models import AuditEvent
from tests.conftest import PASSWORD, login, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db: None) -> User:
    user = make_user("root@tollgate.test", StaffRole.ADMIN)
    User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
    user.refresh_from_db()
    return user


def test_the_old_login_page_sends_people_to_allauth() -> None:
    response = Client().get("/django-admin/login/?next=/django-admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/django-admin/accounts/user/"
    response = Client().get("/django-admin/")
    assert response["Location"].startswith("/django-admin/login/?next=/django-admin/")


def test_40_wrong_passwords_to_the_old_login_path_are_never_tried(superuser: User) -> None:
    client = Client(REMOTE_ADDR="198.51.100.40")
    for attempt in range(40):
        response = client.post(
            "/django-admin/login/", {"username": superuser.email, "password": f"wrong-{attempt}"}
        )
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    right = client.post("/django-admin/login/", {"username": superuser.email, "password": PASSWORD})
    assert right["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session  # nobody signed in there
    assert not AuditEvent.objects.filter(action="account.sign_in_failed").exists()


def test_allauth_login_locks_after_its_limit(superuser: User) -> None:
    client = Client(REMOTE_ADDR="198.51.100.41")
    statuses = [
        client.post("/accounts/login/", {"login": superuser.email, "password": "nope"}).status_code
        for _ in range(6)
    ]
    assert statuses[:5] == [200] * 5
    locked = client.post("/accounts/login/", {"login": superuser.email, "password": PASSWORD})
    assert locked.status_code in (200, 429)
    assert "_auth_user_id" not in client.session  # even the right password waits now
    assert "Too many failed login attempts" in locked.content.decode()


def test_a_superuser_who_passed_mfa_gets_in(superuser: User) -> None:
    assert login(superuser).get("/django-admin/").status_code == 200


def test_a_session_without_mfa_is_asked_to_confirm_it(superuser: User) -> None:
    client = Client()
    client.force_login(superuser)  # no authentication records: no MFA step in this session
    response = client.get("/django-admin/", follow=False)
    assert response["Location"].startswith("/django-admin/login/")
    onward = client.get(response["Location"])
    assert onward["Location"].startswith("/accounts/2fa/reauthenticate/?next=/django-admin/")


def test_admins_who_are_not_superusers_are_refused(admin: User) -> None:
    client = login(admin)
    response = client.get("/django-admin/", follow=True)
    assert response.status_code == 403


def test_a_superuser_without_mfa_is_sent_to_set_it_up(db: None) -> None:
    root = User.objects.create_superuser(email="bare@tollgate.test", password=PASSWORD)
    client = login(root)
    response = client.get("/django-admin/login/")
    assert response["Location"] == "/accounts/2fa/"
