"""Custom domain names: the public addresses sellers publish their stages at.

API Gateway answers every stage at https://{api}.execute-api.{region}.amazonaws.com/{stage}, but
what a seller gives customers is a custom domain (GetDomainNames) whose base path mappings
(GetBasePathMappings) send https://{domain}/{basePath}/... to one stage of one API. A mapping
without a stage serves every stage of its API, the stage's name following the base path.

Read-only, like stage discovery: one GetDomainNames page (up to 500 domains) and one
GetBasePathMappings page per domain that serves requests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from portal.aws.apigateway.paging import paged
from portal.aws.apigateway.specs import CustomDomainAddress, CustomDomains, StageRef
from portal.aws.errors import AwsAccessDenied, AwsNotFound

# A domain answers requests in these states; PENDING_* ones wait for a certificate or ownership.
_SERVING = frozenset({"AVAILABLE", "UPDATING"})
# How GetBasePathMappings spells "at the domain's root" and "no stage: the caller names one".
_NONE = "(none)"


def _preference(address: CustomDomainAddress) -> tuple[int, str, str]:
    """Among several domains serving one stage: the shortest path, then by path and domain name
    alphabetically, so every refresh picks the same one."""
    return (len(address.path), address.path, address.domain_name)


def _publishable(domain: dict[str, Any]) -> bool:
    """A domain customers can call: serving, not private to a VPC, and one name rather than a
    wildcard ("*.example.com" is no address anyone can type)."""
    types = (domain.get("endpointConfiguration") or {}).get("types") or []
    return (
        domain.get("domainNameStatus", "AVAILABLE") in _SERVING
        and "PRIVATE" not in types
        and not str(domain.get("domainName", "")).startswith("*")
    )


def _targets(mapping: dict[str, Any], stages_of: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(stage name, path after the domain) for each stage one base path mapping serves."""
    base = str(mapping.get("basePath") or _NONE).strip("/")
    base = "" if base == _NONE else base
    stage = str(mapping.get("stage") or _NONE)
    if stage != _NONE:
        return [(stage, base)]
    return [
        (name, f"{base}/{name}".lstrip("/")) for name in stages_of.get(mapping["restApiId"], [])
    ]


def custom_domains(stages: Iterable[StageRef]) -> CustomDomains:
    """The custom-domain address of each of `stages` that one maps (several: `_preference`).

    Credentials without permission to read domain names (AccessDenied) give no addresses and
    say why in `unreadable`: the stages keep their execute-api URLs, and discovery goes on.
    """
    wanted = set(stages)
    stages_of: dict[str, list[str]] = {}
    for ref in sorted(wanted, key=lambda r: (r.rest_api_id, r.stage_name)):
        stages_of.setdefault(ref.rest_api_id, []).append(ref.stage_name)
    try:
        domains = paged("get_domain_names")
    except AwsAccessDenied as exc:
        return CustomDomains({}, unreadable=str(exc))
    found: dict[StageRef, list[CustomDomainAddress]] = {}
    unreadable = ""
    for domain in filter(_publishable, domains):
        name = str(domain["domainName"])
        try:
            mappings = paged("get_base_path_mappings", domainName=name)
        except AwsNotFound:
            continue  # deleted since GetDomainNames listed it
        except AwsAccessDenied as exc:
            unreadable = str(exc)  # IAM may allow the listing but not one domain's mappings
            continue
        for mapping in mappings:
            for stage_name, path in _targets(mapping, stages_of):
                ref = StageRef(str(mapping["restApiId"]), stage_name)
                if ref in wanted:
                    found.setdefault(ref, []).append(CustomDomainAddress(name, path))
    return CustomDomains(
        {ref: min(addresses, key=_preference) for ref, addresses in found.items()},
        unreadable=unreadable,
    )
