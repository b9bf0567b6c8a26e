from __future__ import annotations

from celery import shared_task

from portal.accounts.models import User
from portal.connections.models import AwsConnection
from portal.connections.services import connection_check


@shared_task(name="portal.connections.tasks.check_connection")
def check_connection(connection_id: int, actor_id: int | None = None) -> None:
    connection = AwsConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return  # deleted before the worker got to it
    actor = User.objects.filter(pk=actor_id).first() if actor_id is not None else None
    connection_check(connection=connection, actor=actor)
