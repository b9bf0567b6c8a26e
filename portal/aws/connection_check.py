"""Can Tollgate work through this connection? Who it is there, and a dry read of every
permission it needs, in every region, each answer in words a person can act on.

Every read asks for one item at most (limit=1): the check costs one call per permission and
region, whatever the account holds. The IAM actions are API Gateway's "apigateway:GET on a
resource path" form: https://docs.aws.amazon.com/apigateway/latest/developerguide/
security_iam_service-with-iam.html
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from portal.aws.clients import API_GATEWAY_CONFIG
from portal.aws.connections import ConnectionClients, CredentialSource, chain_session, clients_for
from portal.aws.errors import describe
from portal.aws.limiter import RateBudgetWait

DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedException"}
# What STS and API Gateway answer for credentials a region does not accept: an opt-in region
# the account has not enabled, or keys that are not (or no longer) valid.
UNRECOGNISED_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "ExpiredToken",
    "ExpiredTokenException",
}
THROTTLED_CODES = {"TooManyRequestsException", "Throttling", "ThrottlingException"}


@dataclass(frozen=True)
class Read:
    operation: str
    permission: str  # the IAM action (and resource) it needs
    needed_for: str
    call: Callable[[ConnectionClients], object]


# One datapoint query, the smallest read of what Tollgate charts.
_ONE_METRIC: Any = {
    "Id": "count",
    "MetricStat": {
        "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": "Count"},
        "Period": 300,
        "Stat": "Sum",
    },
}

READS: tuple[Read, ...] = (
    Read(
        "GetRestApis",
        "apigateway:GET on /restapis",
        "to discover the API stages tiers cover",
        lambda c: c.apigateway.get_rest_apis(limit=1),
    ),
    Read(
        "GetUsagePlans",
        "apigateway:GET on /usageplans",
        "to keep tiers in step with their usage plans",
        lambda c: c.apigateway.get_usage_plans(limit=1),
    ),
    Read(
        "GetApiKeys",
        "apigateway:GET on /apikeys",
        "to keep customers' keys in step with API Gateway",
        lambda c: c.apigateway.get_api_keys(limit=1),
    ),
    Read(
        "GetDomainNames",
        "apigateway:GET on /domainnames",
        "to show stages at their custom domain",
        lambda c: c.apigateway.get_domain_names(limit=1),
    ),
    Read(
        "GetAccount",
        "apigateway:GET on /account",
        "to read the account's own throttle",
        lambda c: c.apigateway.get_account(),
    ),
    Read(
        # What the ops page calls (portal.aws.metrics); ListMetrics would test a permission
        # Tollgate never uses.
        "GetMetricData",
        "cloudwatch:GetMetricData",
        "to show API Gateway's metrics",
        lambda c: c.cloudwatch.get_metric_data(
            MetricDataQueries=[_ONE_METRIC],
            StartTime=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5),
            EndTime=datetime.datetime.now(datetime.UTC),
        ),
    ),
)


@dataclass(frozen=True)
class ReadOutcome:
    operation: str
    ok: bool
    words: str


@dataclass
class CheckReport:
    account_id: str = ""
    identity_arn: str = ""
    problem: str = ""  # why nothing could be read at all; blank when the identity was found
    regions: dict[str, list[ReadOutcome]] = field(default_factory=dict)
    # GetAccount's throttleSettings per region ({"rateLimit": 10000.0, "burstLimit": 5000}): the
    # throttle every request of the account shares there (portal/connections/capacity.py).
    account_throttle: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return [o.words for outcomes in self.regions.values() for o in outcomes if not o.ok]

    @property
    def status(self) -> str:
        """ "ok", "missing" (some reads refused or failed) or "failed" (no identity at all)."""
        if self.problem:
            return "failed"
        return "missing" if self.missing else "ok"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


NO_CREDENTIALS = (
    "Tollgate found no AWS credentials: give its processes an instance or task role, a profile "
    "(AWS_PROFILE), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in their environment."
)


def _chain_identity() -> str:
    """The ARN of the process's own identity, to name it when a role refuses it."""
    try:
        identity = chain_session().client("sts", config=API_GATEWAY_CONFIG).get_caller_identity()
    except (ClientError, BotoCoreError):
        return "Tollgate's own identity"
    return str(identity.get("Arn", "Tollgate's own identity"))


def identity_problem(exc: Exception, connection: CredentialSource) -> str:
    """Why GetCallerIdentity (through the role, when there is one) failed, in words."""
    if isinstance(exc, NoCredentialsError):
        return NO_CREDENTIALS
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if exc.operation_name == "AssumeRole" and code in DENIED_CODES:
            return (
                f"Tollgate's identity ({_chain_identity()}) may not assume "
                f"{connection.role_arn}: check that the role's trust policy names that identity "
                "and that the external id matches the one the trust policy asks for."
            )
        if code in UNRECOGNISED_CODES:
            return (
                "AWS does not recognise Tollgate's credentials: they are invalid or expired. "
                f"({describe(exc)})"
            )
        return f"Could not learn which AWS account this is: {describe(exc)}"
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
        return f"Could not reach AWS STS: {exc}"
    return f"Could not learn which AWS account this is: {exc}"


def read_outcome(read: Read, region: str, exc: Exception | None) -> ReadOutcome:
    """One dry read's answer in words: what is missing, where, and what it is needed for."""
    if exc is None:
        return ReadOutcome(read.operation, True, f"{read.permission} in {region}: allowed")
    words = f"{read.operation} in {region} failed: {exc}"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in DENIED_CODES or (status == 403 and code not in UNRECOGNISED_CODES):
            words = f"missing {read.permission} in {region} (needed {read.needed_for})"
        elif code in UNRECOGNISED_CODES:
            words = (
                f"{region} does not accept these credentials: enable the region in the AWS "
                "account (opt-in regions are off by default) or remove it from this connection"
            )
        elif code in THROTTLED_CODES or status == 429:
            words = f"{read.operation} in {region} was throttled by AWS: check again in a minute"
        else:
            words = f"{read.operation} in {region}: {describe(exc)}"
    elif isinstance(exc, RateBudgetWait):
        words = f"{read.operation} in {region} waits for Tollgate's rate budget: check again soon"
    elif isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
        service = "CloudWatch" if read.permission.startswith("cloudwatch:") else "API Gateway"
        words = f"could not reach {service} in {region}: {exc}"
    return ReadOutcome(read.operation, False, words)


def _throttle_settings(answer: object) -> dict[str, float]:
    settings = answer.get("throttleSettings", {}) if isinstance(answer, dict) else {}
    return {
        name: float(settings[name])
        for name in ("rateLimit", "burstLimit")
        if isinstance(settings.get(name), (int, float))
    }


def check_connection(connection: CredentialSource, regions: list[str]) -> CheckReport:
    """Ask STS who this connection is, then make each dry read in each region."""
    report = CheckReport()
    if not regions:
        report.problem = "This connection names no region."
        return report
    try:
        identity = clients_for(connection, regions[0]).sts.get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        report.problem = identity_problem(exc, connection)
        return report
    report.account_id = str(identity.get("Account", ""))
    report.identity_arn = str(identity.get("Arn", ""))
    for region in regions:
        clients = clients_for(connection, region)
        outcomes = []
        for read in READS:
            failure: Exception | None = None
            try:
                answer = read.call(clients)
            except (ClientError, BotoCoreError, RateBudgetWait) as exc:
                failure = exc
            else:
                if read.operation == "GetAccount":
                    throttle = _throttle_settings(answer)
                    if throttle:
                        report.account_throttle[region] = throttle
            outcomes.append(read_outcome(read, region, failure))
        report.regions[region] = outcomes
    return report
