"""What Tollgate asks of API Gateway and reads back from it, as plain values.

These dataclasses are the vocabulary of the boundary: callers build specs (a usage plan, an API
key) and get these back, never boto3's dictionaries. They hold no client and make no call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from portal.wording import throttle_in_words

# Every object we create carries this tag, so a create that crashed before we saved the AWS id
# is found and adopted on the next attempt instead of being created twice.
OWNER_TAG = "tollgate:id"


@dataclass(frozen=True)
class StageRef:
    rest_api_id: str
    stage_name: str

    @property
    def patch_value(self) -> str:
        return f"{self.rest_api_id}:{self.stage_name}"


@dataclass(frozen=True)
class DiscoveredStage:
    rest_api_id: str
    api_name: str
    stage_name: str
    description: str
    deployment_id: str


@dataclass(frozen=True)
class CustomDomainAddress:
    """Where a custom domain serves a stage: https://{domain_name}/{path}."""

    domain_name: str  # "api.example.com"
    path: str  # after the domain, "" at its root; "v1"; "v1/prod" for a mapping without a stage


@dataclass(frozen=True)
class CustomDomains:
    """The custom-domain address of each stage that has one, and why none could be read."""

    addresses: dict[StageRef, CustomDomainAddress]
    unreadable: str = ""  # "" when every domain was read, else AWS's refusal in words


@dataclass(frozen=True)
class Throttle:
    rate: Decimal
    burst: int


@dataclass(frozen=True)
class Quota:
    limit: int
    period: str
    offset: int


@dataclass(frozen=True)
class MethodLimit:
    """A per-method throttle: apiStages[].throttle["{resourcePath}/{httpMethod}"] of one stage."""

    stage: StageRef
    resource_path: str
    http_method: str
    rate: Decimal
    burst: int

    @property
    def key(self) -> str:
        return f"{self.resource_path}/{self.http_method}"

    @property
    def patch_path(self) -> str:
        """UpdateUsagePlan's path to this method's throttle (the API reference's Patch Operations
        table: /apiStages/{apiId:stage}/throttle/{resourcePath}/{httpMethod}); the resource path
        keeps its leading "/" unescaped, as Terraform's AWS provider sends it."""
        return f"/apiStages/{self.stage.patch_value}/throttle/{self.key}"

    def words(self) -> str:
        return f"{self.http_method} {self.resource_path} on {self.stage.patch_value}: " + (
            throttle_in_words(self.rate, self.burst)
        )


@dataclass(frozen=True)
class UsagePlanSpec:
    owner_id: str
    name: str
    description: str
    stages: frozenset[StageRef]
    throttle: Throttle | None
    quota: Quota | None
    method_throttles: frozenset[MethodLimit] = frozenset()

    def method_throttles_of(self, stage: StageRef) -> dict[str, MethodLimit]:
        return {m.key: m for m in self.method_throttles if m.stage == stage}


@dataclass(frozen=True)
class ApiKeySpec:
    owner_id: str
    name: str
    description: str
    enabled: bool


@dataclass(frozen=True)
class CreatedApiKey:
    aws_id: str
    secret_sha256: str
    display_prefix: str


@dataclass
class AwsApiKey:
    aws_id: str
    name: str
    description: str
    enabled: bool
    tags: dict[str, str] = field(default_factory=dict)
