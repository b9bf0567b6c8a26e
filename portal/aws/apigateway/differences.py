"""Where AWS and Tollgate disagree about a usage plan or an API key, in words.

Drift reports show these to a person deciding whose version wins, so each field is worded the
same way for both sides, in the words every page uses (portal/wording.py: "10 req/s, burst
20", "1,000 requests per month"), and can be compared at a glance. Nothing here calls AWS: both
sides arrive as specs.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.aws.apigateway.specs import (
    ApiKeySpec,
    AwsApiKey,
    MethodLimit,
    Quota,
    StageRef,
    Throttle,
    UsagePlanSpec,
)
from portal.wording import quota_in_words, throttle_in_words


@dataclass(frozen=True)
class Difference:
    """One field on which AWS and Tollgate disagree, in words a person can compare."""

    field: str
    ours: str
    aws: str


def _method_words(limits: frozenset[MethodLimit]) -> str:
    return "; ".join(sorted(m.words() for m in limits)) or "none"


def _throttle_words(throttle: Throttle | None) -> str:
    if throttle is None:
        return throttle_in_words(None, None)
    return throttle_in_words(throttle.rate, throttle.burst)


def _quota_words(quota: Quota | None) -> str:
    if quota is None:
        return quota_in_words(None, "")
    offset = f", offset {quota.offset:,}" if quota.offset else ""
    return quota_in_words(quota.limit, f"per {quota.period.lower()}") + offset


def _stage_words(stages: frozenset[StageRef]) -> str:
    return ", ".join(sorted(s.patch_value for s in stages)) or "none"


def usage_plan_differences(aws: UsagePlanSpec, ours: UsagePlanSpec) -> list[Difference]:
    found: list[Difference] = []
    if aws.name != ours.name:
        found.append(Difference("name", ours.name, aws.name))
    if aws.description != ours.description:
        found.append(Difference("description", ours.description, aws.description))
    if aws.stages != ours.stages:
        found.append(Difference("stages", _stage_words(ours.stages), _stage_words(aws.stages)))
    if aws.throttle != ours.throttle:
        found.append(
            Difference("throttle", _throttle_words(ours.throttle), _throttle_words(aws.throttle))
        )
    if aws.quota != ours.quota:
        found.append(Difference("quota", _quota_words(ours.quota), _quota_words(aws.quota)))
    if aws.method_throttles != ours.method_throttles:
        found.append(
            Difference(
                "method throttles",
                _method_words(ours.method_throttles),
                _method_words(aws.method_throttles),
            )
        )
    return found


def api_key_differences(aws: AwsApiKey, ours: ApiKeySpec) -> list[Difference]:
    found: list[Difference] = []
    if aws.name != ours.name:
        found.append(Difference("name in AWS", ours.name, aws.name))
    if aws.description != ours.description:
        found.append(Difference("description", ours.description, aws.description))
    if aws.enabled != ours.enabled:
        words = {True: "enabled", False: "disabled"}
        found.append(Difference("enabled", words[ours.enabled], words[aws.enabled]))
    return found
