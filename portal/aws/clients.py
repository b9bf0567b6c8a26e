from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from django.conf import settings

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient

_local = threading.local()

# botocore must not retry on its own: a create retried inside botocore after AWS applied it but
# answered 5xx makes a duplicate. Our sync tasks retry instead, and look for an orphan (by its
# tag) before every create. Short timeouts keep a worker from hanging inside one call.
# AWS_ENDPOINT_URL, credentials and region come from the standard chain.
_CONFIG = Config(
    connect_timeout=5,
    read_timeout=20,
    retries={"mode": "standard", "total_max_attempts": 1},
)


def _client(service: str) -> Any:
    clients: dict[str, Any] = getattr(_local, "clients", None) or {}
    _local.clients = clients
    if service not in clients:
        session: Any = boto3.session.Session()
        clients[service] = session.client(service, region_name=settings.AWS_REGION, config=_CONFIG)
    return clients[service]


def apigateway() -> APIGatewayClient:
    client: APIGatewayClient = _client("apigateway")
    return client


def reset_clients() -> None:
    """Forget cached clients (tests point AWS_ENDPOINT_URL at a fresh local server)."""
    _local.clients = {}
