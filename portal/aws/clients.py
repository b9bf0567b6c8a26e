"""boto3 clients for the current location (portal/aws/location.py), cached per thread.

AWS_ENDPOINT_URL, the process's credentials and its default region come from the standard
chain. A location with a role assumes it from that chain with STS AssumeRole, through
botocore's own AssumeRoleCredentialFetcher and DeferredRefreshableCredentials, which assume the
role on first use and again before the temporary credentials expire (README "AWS connections").
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.exceptions import NoCredentialsError
from django.conf import settings

from portal.aws.limiter import get_limiter
from portal.aws.location import Location, current_location

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_cloudwatch import CloudWatchClient

_local = threading.local()

# The name AWS CloudTrail shows for Tollgate's calls through an assumed role.
ROLE_SESSION_NAME = "tollgate"

# botocore must not retry on its own: a create retried inside botocore after AWS applied it but
# answered 5xx makes a duplicate. Our sync tasks retry instead, and look for an orphan (by its
# tag) before every create. Short timeouts keep a worker from hanging inside one call.
_CONFIG = Config(
    connect_timeout=5,
    read_timeout=20,
    retries={"mode": "standard", "total_max_attempts": 1},
)


def unanswered_call_lands_within() -> float:
    """Seconds after a call went unanswered (the client gave up after its read timeout) by
    which AWS has applied it or never will: three more read timeouts, our assumption, since
    AWS publishes no bound. Until then a read of AWS may not show it yet."""
    read_timeout: float = _CONFIG.read_timeout  # type: ignore[attr-defined]  # set in __init__
    return 3 * read_timeout


def _limit_rate(model: Any, *, scope: str = "", **kwargs: Any) -> None:
    """botocore's before-call hook: wait for the API Gateway rate budget of the client's
    account and region (`scope`, limiter.py), shared by every worker.

    It must return None: a value returned from before-call would replace the AWS response.
    """
    get_limiter().acquire(model.name, scope=scope)


# CloudWatch reads serve pages (through a 60-s cache): a page must not wait long for them.
_CLOUDWATCH_CONFIG = Config(
    connect_timeout=3,
    read_timeout=15,
    retries={"mode": "standard", "total_max_attempts": 1},
)


def chain_session() -> boto3.session.Session:
    """A session on the process's standard credential chain."""
    return boto3.session.Session()


def _assumed_role_session(role_arn: str, external_id: str) -> boto3.session.Session:
    source = chain_session()
    source_credentials = source.get_credentials()
    if source_credentials is None:
        raise NoCredentialsError()  # nothing to assume the role with
    extra_args: dict[str, Any] = {"RoleSessionName": ROLE_SESSION_NAME}
    if external_id:
        extra_args["ExternalId"] = external_id
    botocore_session = botocore.session.Session()
    fetcher = AssumeRoleCredentialFetcher(
        # The STS client that assumes the role gets the same timeouts and no retries.
        client_creator=functools.partial(source._session.create_client, config=_CONFIG),
        source_credentials=source_credentials,
        role_arn=role_arn,
        extra_args=extra_args,
    )
    # botocore has no public setter for refreshable credentials (set_credentials takes static
    # keys); this is how its own assume-role provider's results end up on a session.
    botocore_session._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
        refresh_using=fetcher.fetch_credentials, method="assume-role"
    )
    return boto3.session.Session(botocore_session=botocore_session)


def _session(location: Location) -> boto3.session.Session:
    """One session per credential source and thread (a session is not thread-safe), so an
    assumed role is reused until it expires."""
    sessions = thread_cache("sessions")
    source = (location.role_arn, location.external_id)
    if source not in sessions:
        sessions[source] = _assumed_role_session(*source) if location.role_arn else chain_session()
    return sessions[source]


def _client(service: str, region: str | None = None, config: Config = _CONFIG) -> Any:
    """`service`'s client for the current location (or the process's chain in AWS_REGION);
    `region` overrides the location's region (CloudWatch of a stage in another region)."""
    location = current_location() or Location(region=settings.AWS_REGION)
    region = region or location.region
    clients: dict[Any, Any] = thread_cache("clients")
    name = (service, location.role_arn, location.external_id, region)
    if name not in clients:
        session: Any = _session(location)
        client = session.client(service, region_name=region, config=config)
        if service == "apigateway":
            # Every API Gateway call, paginated ones included, passes here once ("apigateway" is
            # botocore's alias of the event's service id "api-gateway"). CloudWatch has other
            # limits and is not counted.
            scope = Location(region, location.role_arn).budget_scope
            client.meta.events.register(
                "before-call.api-gateway", functools.partial(_limit_rate, scope=scope)
            )
        clients[name] = client
    return clients[name]


# The configs the connection check's own clients take too.
API_GATEWAY_CONFIG = _CONFIG
CLOUDWATCH_CONFIG = _CLOUDWATCH_CONFIG


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
    """CloudWatch of the current location, in `region` if given; not subject to the API
    Gateway limiter."""
    client: CloudWatchClient = _client("cloudwatch", region, _CLOUDWATCH_CONFIG)
    return client


def sts() -> Any:  # no STS stubs installed
    return _client("sts")


def reset_clients() -> None:
    """Forget cached clients and sessions (tests point AWS_ENDPOINT_URL at a fresh server)."""
    _local.clients = {}
    _local.sessions = {}
