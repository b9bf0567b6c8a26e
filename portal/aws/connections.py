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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import botocore.session

from portal.aws.clients import CLOUDWATCH_CONFIG, _client, chain_session
from portal.aws.location import Location, at

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_cloudwatch import CloudWatchClient

__all__ = ["ConnectionClients", "CredentialSource", "chain_session", "clients_for"]


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


def clients_for(connection: CredentialSource, region: str) -> ConnectionClients:
    """The clients of `connection` in `region`: the same per-thread clients `at()` a Location
    gives every other caller, so an assumed role is shared with the sync's calls;
    portal.aws.clients.reset_clients() forgets them."""
    where = Location(region, role_arn=connection.role_arn, external_id=connection.external_id)
    with at(where):
        return ConnectionClients(
            region=region,
            apigateway=_client("apigateway"),
            cloudwatch=_client("cloudwatch", None, CLOUDWATCH_CONFIG),
            sts=_client("sts"),
        )
