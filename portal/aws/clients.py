from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from django.conf import settings

from portal.aws.limiter import get_limiter

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_cloudwatch import CloudWatchClient

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


def _limit_rate(model: Any, **kwargs: Any) -> None:
    """botocore's before-call hook: wait for the shared API Gateway rate budget (limiter.py).

    It must return None: a value returned from before-call would replace the AWS response.
    """
    get_limiter().acquire(model.name)


# CloudWatch reads serve pages (through a 60-s cache): a page must not wait long for them.
_CLOUDWATCH_CONFIG = Config(
    connect_timeout=3,
    read_timeout=15,
    retries={"mode": "standard", "total_max_attempts": 1},
)


def _client(service: str, region: str | None = None, config: Config = _CONFIG) -> Any:
    clients: dict[str, Any] = getattr(_local, "clients", None) or {}
    _local.clients = clients
    region = region or settings.AWS_REGION
    name = service if region == settings.AWS_REGION else f"{service}@{region}"
    if name not in clients:
        session: Any = boto3.session.Session()
        client = session.client(service, region_name=region, config=config)
        if service == "apigateway":
            # Every API Gateway call, paginated ones included, passes here once ("apigateway" is
            # botocore's alias of the event's service id "api-gateway"). CloudWatch has other
            # limits and is not counted.
            client.meta.events.register("before-call.api-gateway", _limit_rate)
        clients[name] = client
    return clients[name]


# The clients of AWS connections (portal/aws/connections.py) take the same settings and hook.
API_GATEWAY_CONFIG = _CONFIG
CLOUDWATCH_CONFIG = _CLOUDWATCH_CONFIG
count_against_limiter = _limit_rate


def thread_cache(name: str) -> dict[Any, Any]:
    """A dict kept per thread (a client is thread-safe, a session is not), which
    reset_clients() empties."""
    cache: dict[Any, Any] | None = getattr(_local, name, None)
    if cache is None:
        cache = {}
        setattr(_local, name, cache)
    return cache


def apigateway() -> APIGatewayClient:
    client: APIGatewayClient = _client("apigateway")
    return client


def cloudwatch(region: str | None = None) -> CloudWatchClient:
    """CloudWatch in `region` (default AWS_REGION); not subject to the API Gateway limiter."""
    client: CloudWatchClient = _client("cloudwatch", region, _CLOUDWATCH_CONFIG)
    return client


def reset_clients() -> None:
    """Forget cached clients (tests point AWS_ENDPOINT_URL at a fresh local server)."""
    _local.clients = {}
    _local.connection_clients = {}
