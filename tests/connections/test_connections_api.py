"""/api/v1/aws-connections: the console's services over REST, refusals as problems."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.connections.models import AwsConnection
from portal.connections.services import connection_default

pytestmark = pytest.mark.django_db
ROLE = "arn:aws:iam::222222222222:role/TollgateAccess"


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_it_adds_a_connection_and_answers_it_checking(
    admin: User, sent_tasks: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api(admin).post(
            "/api/v1/aws-connections",
            {
                "name": "Partner",
                "role_arn": ROLE,
                "external_id": "tollgate-demo",
                "regions": ["eu-west-1"],
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["check_status"], body["account_id"]) == ("Partner", "checking", "")
    assert "secret" not in str(sorted(body))
    assert [name for name, _ in sent_tasks] == ["portal.connections.tasks.check_connection"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"name": "X", "role_arn": "nope", "regions": ["us-east-1"]},
            "role_arn",
            "Enter an IAM role ARN",
        ),
        ({"name": "X", "regions": ["us-east-9"]}, "regions", "API Gateway has no region us-east-9"),
        ({"name": "Default", "regions": ["us-east-1"]}, "name", "already a connection named"),
        ({"name": "X", "regions": "us-east-1"}, "regions", ""),
    ],
)
def test_it_refuses_bad_input_with_a_400(
    admin: User, body: dict[str, Any], field: str, message: str
) -> None:
    connection_default()
    response = api(admin).post("/api/v1/aws-connections", body, format="json")
    assert response.status_code == 400, response.content
    assert message in str(response.json())
    assert field in str(response.json())
    assert AwsConnection.objects.count() == 1


def test_it_refuses_to_delete_the_default_with_a_409(admin: User) -> None:
    default = connection_default()
    response = api(admin).delete(f"/api/v1/aws-connections/{default.pk}")
    assert response.status_code == 409
    assert "is the default connection" in response.json()["detail"]
    assert AwsConnection.objects.filter(pk=default.pk).exists()


def test_check_now_answers_202_and_records_who_asked(
    admin: User, sent_tasks: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    default = connection_default()
    with django_capture_on_commit_callbacks(execute=True):
        response = api(admin).post(f"/api/v1/aws-connections/{default.pk}/check")
    assert response.status_code == 202
    assert response.json()["check_status"] == "checking"
    assert sent_tasks == [("portal.connections.tasks.check_connection", (default.pk, admin.pk))]
    assert (
        AuditEvent.objects.filter(action="aws_connection.check_requested", actor=admin).count() == 1
    )


def test_ops_read_but_may_not_add(ops: User) -> None:
    connection_default()
    assert len(api(ops).get("/api/v1/aws-connections").json()["results"]) == 1
    refused = api(ops).post(
        "/api/v1/aws-connections", {"name": "X", "regions": ["us-east-1"]}, format="json"
    )
    assert refused.status_code == 403
