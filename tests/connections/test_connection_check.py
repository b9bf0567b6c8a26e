"""The connection check against the local AWS: the account STS names, through the chain and
through an assumed role, and each refused dry read in words."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command

from localaws.demo_estate import ensure_partner_role
from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.aws.clients import reset_clients
from portal.connections.models import AwsConnection, CheckStatus
from portal.connections.services import connection_check, connection_create, connection_default

PARTNER_ROLE = "arn:aws:iam::222222222222:role/TollgateAccess"
READS = [
    "GetRestApis",
    "GetUsagePlans",
    "GetApiKeys",
    "GetDomainNames",
    "GetAccount",
    "GetMetricData",
]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_clients(local_aws: LocalAwsServer, control: LocalAwsControl) -> Iterator[None]:
    """Account 222222222222's TollgateAccess role trusts the main account with external id
    "tollgate-partner" (the local AWS checks trust policies as AWS does)."""
    ensure_partner_role(local_aws.endpoint_url)
    reset_clients()
    yield
    control.clear_faults()
    reset_clients()


def partner(
    admin: User, regions: list[str], external_id: str = "tollgate-partner"
) -> AwsConnection:
    return connection_create(
        actor=admin,
        name="Partner",
        role_arn=PARTNER_ROLE,
        external_id=external_id,
        regions=regions,
    )


def test_it_finds_the_account_of_tollgates_own_credentials(admin: User) -> None:
    connection = connection_check(connection=connection_default(), actor=admin)
    connection.refresh_from_db()
    assert connection.account_id == "123456789012"
    assert connection.check_status == CheckStatus.OK
    assert [o["operation"] for o in connection.check_report["regions"]["us-east-1"]] == READS
    assert connection.missing == [] and connection.problem == ""
    event = AuditEvent.objects.get(action="aws_connection.checked")
    assert (event.after or {})["status"] == "ok" and event.actor == admin


def test_it_finds_the_account_behind_an_assumed_role(admin: User) -> None:
    connection = connection_check(connection=partner(admin, ["us-east-1", "eu-west-1"]))
    connection.refresh_from_db()
    assert connection.account_id == "222222222222"
    assert connection.identity_arn.startswith(
        "arn:aws:sts::222222222222:assumed-role/TollgateAccess/"
    )
    assert connection.check_status == CheckStatus.OK
    assert sorted(connection.check_report["regions"]) == ["eu-west-1", "us-east-1"]


def test_it_says_which_permission_is_missing_where(admin: User, control: LocalAwsControl) -> None:
    connection = partner(admin, ["us-east-1", "eu-west-1"])
    control.add_fault(
        "GetUsagePlans",
        status=403,
        code="AccessDeniedException",
        message="User is not authorized to perform: apigateway:GET on /usageplans",
    )  # once: the first region's read
    connection_check(connection=connection)
    connection.refresh_from_db()
    assert connection.check_status == CheckStatus.MISSING
    assert connection.account_id == "222222222222"
    assert connection.missing == [
        "missing apigateway:GET on /usageplans in us-east-1 "
        "(needed to keep tiers in step with their usage plans)"
    ]


def test_it_says_when_the_role_refuses_tollgate(admin: User) -> None:
    connection = partner(admin, ["us-east-1"], external_id="not-the-one")
    connection_check(connection=connection)
    connection.refresh_from_db()
    assert connection.check_status == CheckStatus.FAILED
    assert connection.account_id == ""
    assert connection.problem == (
        "Tollgate's identity (arn:aws:sts::123456789012:user/moto) may not assume "
        f"{PARTNER_ROLE}: check that the role's trust policy names that identity and that the "
        "external id matches the one the trust policy asks for."
    )


def test_it_says_when_a_region_does_not_take_the_credentials(
    admin: User, control: LocalAwsControl
) -> None:
    connection = connection_default()
    control.add_fault("GetRestApis", status=403, code="UnrecognizedClientException")
    connection_check(connection=connection)
    connection.refresh_from_db()
    assert connection.missing == [
        "us-east-1 does not accept these credentials: enable the region in the AWS account "
        "(opt-in regions are off by default) or remove it from this connection"
    ]


def test_it_says_when_tollgate_has_no_credentials(
    admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    reset_clients()
    for connection in (connection_default(), partner(admin, ["eu-west-1"])):
        connection_check(connection=connection)
        connection.refresh_from_db()
        assert connection.check_status == CheckStatus.FAILED
        assert connection.problem.startswith("Tollgate found no AWS credentials: give its")


def test_the_command_checks_a_connection_in_words(admin: User, control: LocalAwsControl) -> None:
    connection_default()
    partner(admin, ["eu-west-1"])
    control.add_fault("GetApiKeys", status=403, code="AccessDeniedException")
    out = io.StringIO()
    call_command("aws_connections", "check", "Partner", stdout=out)
    assert out.getvalue().splitlines() == [
        "Partner: account 222222222222",
        "missing apigateway:GET on /apikeys in eu-west-1 "
        "(needed to keep customers' keys in step with API Gateway)",
    ]
    out = io.StringIO()
    call_command("aws_connections", "list", stdout=out)
    assert "Partner: account 222222222222, eu-west-1, permissions missing" in out.getvalue()


def test_the_command_refuses_a_bad_region() -> None:
    with pytest.raises(CommandError, match="API Gateway has no region atlantis-1"):
        call_command("aws_connections", "add", "Sea", "--region", "atlantis-1")
