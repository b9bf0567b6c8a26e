"""Every write to AWS connections: validate, save, audit, and schedule the check on commit."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from portal.audit.services import audit
from portal.aws.connection_check import check_connection
from portal.aws.connections import known_regions
from portal.connections.models import AwsConnection, CheckStatus
from portal.connections.signals import default_connection_made
from portal.errors import NotReady
from portal.sync import enqueue_on_commit

CHECK_TASK = "portal.connections.tasks.check_connection"
DEFAULT_NAME = "Default"
FIELDS = ("name", "role_arn", "external_id", "regions", "is_default")

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns
# and the AssumeRole reference for ExternalId (2 to 1224 characters of [\w+=,.@:/-]).
ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
ROLE_ARN_MESSAGE = (
    "Enter an IAM role ARN such as arn:aws:iam::222222222222:role/TollgateAccess, or leave it "
    "blank to use Tollgate's own credentials."
)


def _validated(
    *, name: str, role_arn: str, external_id: str, regions: list[str], pk: int | None
) -> dict[str, Any]:
    name, role_arn, external_id = name.strip(), role_arn.strip(), external_id.strip()
    chosen = list(dict.fromkeys(region.strip() for region in regions if region.strip()))
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the connection a name."]
    elif AwsConnection.objects.filter(name__iexact=name).exclude(pk=pk or 0).exists():
        errors["name"] = [f"There is already a connection named “{name}”."]
    if role_arn and not ROLE_ARN.match(role_arn):
        errors["role_arn"] = [ROLE_ARN_MESSAGE]
    if external_id and not role_arn:
        errors["external_id"] = ["An external id goes with a role to assume; name the role."]
    elif external_id and not EXTERNAL_ID.match(external_id):
        errors["external_id"] = [
            "An external id is 2 to 1224 letters, digits or any of + = , . @ : / - _"
        ]
    unknown = [region for region in chosen if region not in known_regions()]
    if not chosen:
        errors["regions"] = ["Name at least one region, e.g. us-east-1."]
    elif unknown:
        errors["regions"] = [
            f"API Gateway has no region {', '.join(unknown)}; use codes such as us-east-1."
        ]
    if errors:
        raise ValidationError(errors)
    return {"name": name, "role_arn": role_arn, "external_id": external_id, "regions": chosen}


def _state(connection: AwsConnection) -> dict[str, Any]:
    return {field: getattr(connection, field) for field in FIELDS}


def _checking(connection: AwsConnection, actor: Any) -> None:
    connection.check_status = CheckStatus.CHECKING
    enqueue_on_commit(CHECK_TASK, connection.pk, getattr(actor, "pk", None))


def connection_default() -> AwsConnection:
    """The default connection; the first one is made from the settings (TOLLGATE_AWS_REGIONS,
    TOLLGATE_AWS_ROLE_ARN, TOLLGATE_AWS_EXTERNAL_ID) the first time anyone asks, and checked
    straight away so its page shows the account instead of "not checked yet"."""
    found = AwsConnection.objects.filter(is_default=True).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            connection = AwsConnection(
                name=DEFAULT_NAME
                if not AwsConnection.objects.filter(name=DEFAULT_NAME).exists()
                else f"{DEFAULT_NAME} ({settings.AWS_REGION})",
                role_arn=settings.TOLLGATE_AWS_ROLE_ARN,
                external_id=settings.TOLLGATE_AWS_EXTERNAL_ID,
                regions=list(settings.TOLLGATE_AWS_REGIONS),
                is_default=True,
            )
            connection.save()
            _checking(connection, None)
            connection.save(update_fields=["check_status"])
            default_connection_made.send(sender=AwsConnection, connection=connection)
            return connection
    except IntegrityError:  # another request made it first
        return AwsConnection.objects.get(is_default=True)


@transaction.atomic
def connection_create(
    *,
    actor: Any,
    name: str,
    role_arn: str = "",
    external_id: str = "",
    regions: list[str],
    ip: str | None = None,
) -> AwsConnection:
    data = _validated(
        name=name, role_arn=role_arn, external_id=external_id, regions=regions, pk=None
    )
    first = not AwsConnection.objects.filter(is_default=True).exists()
    connection = AwsConnection.objects.create(**data, is_default=first)
    if first and (connection.role_arn, connection.external_id) == (
        settings.TOLLGATE_AWS_ROLE_ARN,
        settings.TOLLGATE_AWS_EXTERNAL_ID,
    ):
        # Reached as the settings' default is: the account rows without a connection are in.
        default_connection_made.send(sender=AwsConnection, connection=connection)
    _checking(connection, actor)
    connection.save(update_fields=["check_status"])
    audit(
        actor=actor,
        action="aws_connection.created",
        target=connection,
        after=_state(connection),
        ip=ip,
    )
    return connection


@transaction.atomic
def connection_update(
    *,
    actor: Any,
    connection: AwsConnection,
    name: str,
    role_arn: str,
    external_id: str,
    regions: list[str],
    make_default: bool = False,
    ip: str | None = None,
) -> AwsConnection:
    """Change a connection; a change of role or regions is checked again. `make_default` moves
    the default here (there is always exactly one, so it cannot be unset, only moved)."""
    data = _validated(
        name=name, role_arn=role_arn, external_id=external_id, regions=regions, pk=connection.pk
    )
    before = _state(connection)
    dropped = [region for region in before["regions"] if region not in data["regions"]]
    in_use = sorted(
        set(
            connection.stages.filter(  # ApiStage.connection
                region__in=dropped, plans__isnull=False, plans__archived_at__isnull=True
            ).values_list("region", flat=True)
        )
    )
    if in_use:
        raise ValidationError(
            {
                "regions": [
                    f"Live tiers cover stages in {', '.join(in_use)} through this connection: "
                    "take those stages out of the tiers before dropping the region."
                ]
            }
        )
    reach_changed = any(
        data[field] != before[field] for field in ("role_arn", "external_id", "regions")
    )
    for field, value in data.items():
        setattr(connection, field, value)
    if make_default and not connection.is_default:
        AwsConnection.objects.filter(is_default=True).update(is_default=False)
        connection.is_default = True
    after = _state(connection)
    if after == before:
        return connection
    if reach_changed:
        connection.account_id = connection.identity_arn = ""
        _checking(connection, actor)
    connection.save()
    audit(
        actor=actor,
        action="aws_connection.updated",
        target=connection,
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
        ip=ip,
    )
    return connection


@transaction.atomic
def connection_delete(*, actor: Any, connection: AwsConnection, ip: str | None = None) -> None:
    if connection.is_default:
        raise NotReady(
            f"“{connection.name}” is the default connection: make another connection the "
            "default first."
        )
    stages = connection.stages  # ApiStage.connection
    covered = stages.filter(plans__isnull=False, plans__archived_at__isnull=True).distinct().count()
    if covered:
        raise NotReady(
            f"Live tiers cover {covered} API stage{'s' if covered != 1 else ''} reached through "
            f"“{connection.name}”: take them out of every tier first (their usage plans and "
            "keys are then removed from AWS), or keep the connection."
        )
    audit(
        actor=actor,
        action="aws_connection.deleted",
        target=connection,
        before=_state(connection),
        ip=ip,
    )
    try:
        with transaction.atomic():
            stages.all().delete()  # found through it, in no live tier: forgotten with it
            connection.delete()
    except ProtectedError as exc:  # a tier's or key's copy still lives there
        raise NotReady(
            f"Tiers or keys still have copies in AWS through “{connection.name}”: move them "
            "to other regions first, or keep the connection."
        ) from exc


@transaction.atomic
def connection_check_requested(
    *, actor: Any, connection: AwsConnection, ip: str | None = None
) -> AwsConnection:
    """Check now: the worker asks STS and makes the dry reads (a page never waits on AWS)."""
    _checking(connection, actor)
    connection.save(update_fields=["check_status", "updated_at"])
    audit(actor=actor, action="aws_connection.check_requested", target=connection, ip=ip)
    return connection


def connection_check(*, connection: AwsConnection, actor: Any = None) -> AwsConnection:
    """Ask AWS who this connection is and what it may read, and record the answer (called by
    the worker; the AWS calls run outside any transaction)."""
    report = check_connection(connection, list(connection.regions))
    with transaction.atomic():
        connection.account_id = report.account_id
        connection.identity_arn = report.identity_arn
        connection.check_status = report.status
        connection.check_report = report.as_json()
        connection.checked_at = timezone.now()
        connection.save(
            update_fields=[
                "account_id",
                "identity_arn",
                "check_status",
                "check_report",
                "checked_at",
                "updated_at",
            ]
        )
        audit(
            actor=actor,
            action="aws_connection.checked",
            target=connection,
            after={
                "status": report.status,
                "account_id": report.account_id,
                "problem": report.problem,
                "missing": report.missing,
            },
        )
    return connection
