"""The stages Tollgate can sell: every stage of every REST API in the account and region.

Read-only discovery; the stages themselves are deployed outside Tollgate.
"""

from __future__ import annotations

from portal.aws.apigateway.paging import paged
from portal.aws.apigateway.specs import DiscoveredStage
from portal.aws.clients import apigateway
from portal.aws.errors import aws_errors


def list_stages() -> list[DiscoveredStage]:
    """Every stage of every REST API in the account and region (GetRestApis + GetStages)."""
    found: list[DiscoveredStage] = []
    for api in paged("get_rest_apis"):
        with aws_errors():
            stages = apigateway().get_stages(restApiId=api["id"]).get("item", [])
        for stage in stages:
            found.append(
                DiscoveredStage(
                    rest_api_id=api["id"],
                    api_name=api.get("name", ""),
                    stage_name=stage["stageName"],
                    description=stage.get("description", "") or api.get("description", "") or "",
                    deployment_id=stage.get("deploymentId", "") or "",
                )
            )
    return found
