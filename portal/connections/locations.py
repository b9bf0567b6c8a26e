"""Connections as places AWS calls go (portal.aws.location.Location), read once per question.

Every account-and-region Tollgate works in is a connection's region. Before any connection
row exists (a fresh install, most tests) the one place is the settings' default: the process's
credential chain, or TOLLGATE_AWS_ROLE_ARN, in AWS_REGION.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from portal.aws.location import Location
from portal.connections.models import AwsConnection


def location_of(connection: AwsConnection | None, region: str) -> Location:
    if connection is None:
        return Location(
            region=region,
            role_arn=settings.TOLLGATE_AWS_ROLE_ARN,
            external_id=settings.TOLLGATE_AWS_EXTERNAL_ID,
        )
    return Location(
        region=region,
        role_arn=connection.role_arn,
        external_id=connection.external_id,
        connection_id=connection.pk,
        # Pages name a place by its region alone in the default connection (AwsCopy.where).
        connection_name="" if connection.is_default else connection.name,
        account_id=connection.account_id,
    )


def default_connection() -> AwsConnection | None:
    """The default connection row, if one exists yet (connections.services makes it)."""
    return AwsConnection.objects.filter(is_default=True).first()


def home_location() -> Location:
    """Where a tier without stages keeps its usage plan (and its customers' keys): the default
    connection's first region, or the settings' default before any connection exists."""
    connection = default_connection()
    if connection is None or not connection.regions:
        return location_of(None, settings.AWS_REGION)
    region = settings.AWS_REGION if settings.AWS_REGION in connection.regions else None
    return location_of(connection, region or str(connection.regions[0]))


def all_locations() -> list[Location]:
    """Every account and region of every connection, default connection first."""
    connections = list(AwsConnection.objects.all())
    if not connections:
        return [home_location()]
    return [
        location_of(connection, str(region))
        for connection in connections
        for region in connection.regions
    ]


class Locations:
    """Resolves (connection id, region) pairs with one query, for loops over many rows."""

    def __init__(self, connection_ids: Iterable[int | None] = ()) -> None:
        wanted = {pk for pk in connection_ids if pk is not None}
        self._connections = {c.pk: c for c in AwsConnection.objects.filter(pk__in=wanted)}
        self._default: AwsConnection | None | bool = False  # False: not read yet

    def _default_connection(self) -> AwsConnection | None:
        if self._default is False:
            self._default = default_connection()
        return self._default if isinstance(self._default, AwsConnection) else None

    def at(self, connection_id: int | None, region: str) -> Location:
        """A null connection (a stage recorded before connections existed) is the default's."""
        if connection_id is None:
            return location_of(self._default_connection(), region)
        connection = self._connections.get(connection_id)
        if connection is None:
            connection = AwsConnection.objects.filter(pk=connection_id).first()
            if connection is not None:
                self._connections[connection_id] = connection
        return location_of(connection, region)
