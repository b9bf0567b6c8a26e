"""Adding, changing and deleting AWS connections: what the services accept, refuse and record."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.connections.models import AwsConnection, CheckStatus
from portal.connections.services import (
    connection_create,
    connection_default,
    connection_delete,
    connection_update,
)
from portal.errors import NotReady

ROLE = "arn:aws:iam::222222222222:role/TollgateAccess"

pytestmark = pytest.mark.django_db


def errors_of(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def test_it_makes_the_first_connection_from_the_settings(settings: object) -> None:
    settings.TOLLGATE_AWS_REGIONS = ["us-east-1", "eu-west-1"]  # type: ignore[attr-defined]
    first = connection_default()
    assert (first.name, first.role_arn, first.regions, first.is_default) == (
        "Default",
        "",
        ["us-east-1", "eu-west-1"],
        True,
    )
    assert connection_default() == first
    assert AwsConnection.objects.count() == 1


def test_the_first_connection_schedules_its_own_check(
    sent_tasks: list[tuple[str, tuple[object, ...]]],
    django_capture_on_commit_callbacks: object,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        first = connection_default()

    assert first.pk is not None
    assert AwsConnection.objects.get(pk=first.pk).check_status == CheckStatus.CHECKING
    assert sent_tasks == [("portal.connections.tasks.check_connection", (first.pk, None))]


def test_it_adds_a_connection_with_a_role_and_schedules_its_check(
    admin: User,
    sent_tasks: list[tuple[str, tuple[object, ...]]],
    django_capture_on_commit_callbacks: object,
) -> None:
    connection_default()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        connection = connection_create(
            actor=admin,
            name="Partner",
            role_arn=ROLE,
            external_id="tollgate-demo",
            regions=["eu-west-1", " us-east-1 ", "eu-west-1"],
        )
    connection.refresh_from_db()
    assert connection.regions == ["eu-west-1", "us-east-1"]
    assert connection.is_default is False
    assert connection.check_status == CheckStatus.CHECKING
    assert sent_tasks == [("portal.connections.tasks.check_connection", (connection.pk, admin.pk))]
    event = AuditEvent.objects.get(action="aws_connection.created")
    assert event.actor == admin and (event.after or {})["role_arn"] == ROLE


@pytest.mark.parametrize(
    ("field", "kwargs", "message"),
    [
        ("role_arn", {"role_arn": "arn:aws:iam::12:user/bob"}, "Enter an IAM role ARN"),
        ("regions", {"regions": ["mars-north-1"]}, "API Gateway has no region mars-north-1"),
        ("regions", {"regions": []}, "Name at least one region"),
        ("external_id", {"external_id": "x"}, "An external id goes with a role"),
        (
            "external_id",
            {"role_arn": ROLE, "external_id": "not valid!"},
            "An external id is 2 to 1224",
        ),
        ("name", {"name": "  "}, "Give the connection a name."),
    ],
)
def test_it_refuses_what_aws_would_not_take(
    admin: User, field: str, kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"name": "Partner", "regions": ["us-east-1"], **kwargs}
    with pytest.raises(ValidationError) as excinfo:
        connection_create(actor=admin, **arguments)  # type: ignore[arg-type]
    assert message in " ".join(errors_of(excinfo)[field])
    assert not AwsConnection.objects.filter(name="Partner").exists()


def test_it_refuses_a_second_connection_of_the_same_name(admin: User) -> None:
    connection_default()
    with pytest.raises(ValidationError) as excinfo:
        connection_create(actor=admin, name="default", regions=["us-east-1"])
    assert errors_of(excinfo)["name"] == ["There is already a connection named “default”."]


def test_it_stores_no_secret() -> None:
    names = {f.name for f in AwsConnection._meta.get_fields()}
    assert not [n for n in names if "secret" in n or "access_key" in n or "token" in n]


def test_it_moves_the_default_and_then_deletes_the_old_one(admin: User) -> None:
    first = connection_default()
    other = connection_create(actor=admin, name="Partner", role_arn=ROLE, regions=["eu-west-1"])
    with pytest.raises(NotReady, match="is the default connection"):
        connection_delete(actor=admin, connection=first)
    connection_update(
        actor=admin,
        connection=other,
        name="Partner",
        role_arn=ROLE,
        external_id="tollgate-demo",
        regions=["eu-west-1"],
        make_default=True,
    )
    assert list(AwsConnection.objects.filter(is_default=True)) == [other]
    first.refresh_from_db()
    connection_delete(actor=admin, connection=first)
    assert list(AwsConnection.objects.all()) == [other]
    updated = AuditEvent.objects.get(action="aws_connection.updated")
    assert updated.after == {"external_id": "tollgate-demo", "is_default": True}
    assert AuditEvent.objects.filter(action="aws_connection.deleted").count() == 1


def _covered_stage(connection: AwsConnection, region: str) -> None:
    from plans.models import ApiStage
    from plans.services import plan_create
    from tests.conftest import FREE

    stage = ApiStage.objects.create(
        connection=connection,
        region=region,
        rest_api_id="abc123",
        stage_name="prod",
        api_name="Weather API",
        available=True,
    )
    plan_create(actor=None, data=dict(FREE), stages=[stage])


def test_a_connection_whose_stages_live_tiers_cover_is_not_deleted(admin: User) -> None:
    connection_default()
    partner = connection_create(actor=admin, name="Partner", role_arn=ROLE, regions=["us-east-1"])
    _covered_stage(partner, "us-east-1")
    with pytest.raises(NotReady, match="Live tiers cover 1 API stage"):
        connection_delete(actor=admin, connection=partner)
    assert AwsConnection.objects.filter(pk=partner.pk).exists()
    assert not AuditEvent.objects.filter(action="aws_connection.deleted").exists()


def test_a_connection_with_only_unused_stages_is_deleted_with_them(admin: User) -> None:
    from plans.models import ApiStage

    connection_default()
    partner = connection_create(actor=admin, name="Partner", role_arn=ROLE, regions=["us-east-1"])
    ApiStage.objects.create(
        connection=partner, region="us-east-1", rest_api_id="x1", stage_name="prod", api_name="A"
    )
    connection_delete(actor=admin, connection=partner)
    assert not AwsConnection.objects.filter(pk=partner.pk).exists()
    assert not ApiStage.objects.filter(rest_api_id="x1").exists()


def test_a_region_live_tiers_use_cannot_be_dropped(admin: User) -> None:
    default = connection_default()
    default = connection_update(
        actor=admin,
        connection=default,
        name=default.name,
        role_arn="",
        external_id="",
        regions=["us-east-1", "eu-west-1"],
    )
    _covered_stage(default, "eu-west-1")
    with pytest.raises(ValidationError) as refused:
        connection_update(
            actor=admin,
            connection=default,
            name=default.name,
            role_arn="",
            external_id="",
            regions=["us-east-1"],
        )
    assert "eu-west-1" in errors_of(refused)["regions"][0]
    assert AwsConnection.objects.get(pk=default.pk).regions == ["us-east-1", "eu-west-1"]


def test_rows_from_before_any_connection_move_onto_the_default_one(admin: User) -> None:
    from keys.models import ApiKey, KeyCopy
    from plans.models import ApiStage, PlanCopy
    from plans.services import plan_create
    from portal.customers.models import Customer
    from tests.conftest import FREE

    stage = ApiStage.objects.create(
        region="us-east-1", rest_api_id="abc123", stage_name="prod", api_name="A", available=True
    )
    plan = plan_create(actor=None, data=dict(FREE), stages=[stage])
    PlanCopy.objects.create(plan=plan, region="us-east-1", aws_id="up1")
    key = ApiKey.objects.create(customer=Customer.objects.create(name="Acme"), name="k")
    KeyCopy.objects.create(key=key, region="us-east-1", aws_id="k1")

    default = connection_default()

    assert ApiStage.objects.get(pk=stage.pk).connection_id == default.pk
    assert PlanCopy.objects.get(aws_id="up1").connection_id == default.pk
    assert KeyCopy.objects.get(aws_id="k1").connection_id == default.pk
