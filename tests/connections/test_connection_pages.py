"""The console's connection pages: the form shows the services' refusals on their fields."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from portal.accounts.models import User
from portal.connections.models import AwsConnection
from portal.connections.services import connection_default
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_the_form_says_what_is_wrong(admin: User) -> None:
    connection_default()
    response = login(admin).post(
        "/console/connections/new/",
        {"name": "Default", "role_arn": "arn:aws:iam::1:role/x", "regions": "us-east-1 moon-1"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "There is already a connection named “Default”." in body
    assert "Enter an IAM role ARN" in body
    assert "API Gateway has no region moon-1" in body
    assert AwsConnection.objects.count() == 1


def test_the_list_shows_the_default_connection_to_ops(ops: User) -> None:
    response = login(ops).get("/console/connections/")
    assert response.status_code == 200
    assert "Default" in response.content.decode()
    assert "Add a connection" not in response.content.decode()


def test_deleting_the_default_says_why_not(admin: User) -> None:
    default = connection_default()
    response = login(admin).post(f"/console/connections/{default.pk}/delete/", follow=True)
    assert "is the default connection" in response.content.decode()
    assert AwsConnection.objects.filter(pk=default.pk).exists()


def test_a_check_no_worker_took_stops_polling_and_says_so(admin: User) -> None:
    default = connection_default()
    AwsConnection.objects.filter(pk=default.pk).update(
        check_status="checking", updated_at=timezone.now() - datetime.timedelta(minutes=6)
    )
    body = login(admin).get(f"/console/connections/{default.pk}/").content.decode()
    assert "The check did not finish" in body
    assert "hx-trigger" not in body
