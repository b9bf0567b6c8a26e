from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from django.conf import settings

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient

_local = threading.local()

# Our own task retries own the backoff; botocore gets a short leash so a worker thread is never
# stuck for minutes inside one call. AWS_ENDPOINT_URL, credentials and region come from the
# standard chain.
_CONFIG = Config(
    connect_timeout=5,
    read_timeout=20,
    retries={"mode": "standard", "max_attempts": 3},
)


def _client(service: str) -> Any:
    clients: dict[str, Any] = getattr(_local, "clients", None) or {}
    _local.clients = clients
    if service not in clients:
        clients[service] = boto3.session.Session().client(
            service, region_name=settings.AWS_REGION, config=_CONFIG
        )
    return clients[service]


def apigateway() -> APIGatewayClient:
    client: APIGatewayClient = _client("apigateway")
    return client


def reset_clients() -> None:
    """Forget cached clients (tests point AWS_ENDPOINT_URL at a fresh local server)."""
    _local.clients = {}
