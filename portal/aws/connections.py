"""AWS clients per connection and region: the process's own credentials, or a role assumed
from them (README "AWS connections").

A connection names where its credentials come from, never a secret: blank `role_arn` is the
standard chain of the Tollgate process (environment, profile, instance or task role); a role is
assumed from that chain with STS AssumeRole, through botocore's own AssumeRoleCredentialFetcher
and DeferredRefreshableCredentials, which assume the role on first use and again before the
temporary credentials expire. Clients keep the default clients' Config (no botocore retries,
short timeouts) and the API Gateway limiter hook.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import boto3
import botocore.session
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.exceptions import NoCredentialsError

from portal.aws.clients import (
    API_GATEWAY_CONFIG,
    CLOUDWATCH_CONFIG,
    count_against_limiter,
    thread_cache,
)

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_cloudwatch import CloudWatchClient

# The name AWS CloudTrail shows for Tollgate's calls through an assumed role.
ROLE_SESSION_NAME = "tollgate"


class CredentialSource(Protocol):
    """What a connection tells this module: the role to assume (blank: the chain itself)."""

    @property
    def role_arn(self) -> str: ...

    @property
    def external_id(self) -> str: ...


@dataclass(frozen=True)
class ConnectionClients:
    """The clients of one connection in one region."""

    region: str
    apigateway: APIGatewayClient
    cloudwatch: CloudWatchClient
    sts: Any  # no STS stubs installed


def known_regions() -> frozenset[str]:
    """Every region botocore knows API Gateway in, in every partition (opt-in ones included:
    whether this account enabled them is the check's business)."""
    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("apigateway", partition_name=partition)
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
        client_creator=functools.partial(source._session.create_client, config=API_GATEWAY_CONFIG),
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


def clients_for(connection: CredentialSource, region: str) -> ConnectionClients:
    """The clients of `connection` in `region`, kept per thread (a client is thread-safe, a
    session is not) and per credential source, so the assumed role is reused until it expires;
    portal.aws.clients.reset_clients() forgets them."""
    cache = thread_cache("connection_clients")
    key = (connection.role_arn, connection.external_id, region)
    if key not in cache:
        if connection.role_arn:
            session = _assumed_role_session(connection.role_arn, connection.external_id)
        else:
            session = chain_session()
        apigateway: Any = session.client(
            "apigateway", region_name=region, config=API_GATEWAY_CONFIG
        )
        apigateway.meta.events.register("before-call.api-gateway", count_against_limiter)
        cache[key] = ConnectionClients(
            region=region,
            apigateway=apigateway,
            cloudwatch=session.client("cloudwatch", region_name=region, config=CLOUDWATCH_CONFIG),
            sts=session.client("sts", region_name=region, config=API_GATEWAY_CONFIG),
        )
    clients: ConnectionClients = cache[key]
    return clients
