"""GetXxx listings walked to the end, so no caller ever sees a page or a position token.

AWS pages every list operation (at most 500 items a call); walking the pages here, once for
every listing, means no caller can forget to and miss the 501st key.
"""

from __future__ import annotations

from typing import Any

from portal.aws.clients import apigateway
from portal.aws.errors import aws_errors

PAGE_SIZE = 500  # the most API Gateway returns per page


def paged(operation: str, **params: Any) -> list[dict[str, Any]]:
    """Walk a GetXxx listing page by page (AWS returns at most 500 items per call)."""
    with aws_errors():
        paginator = apigateway().get_paginator(operation)  # type: ignore[call-overload]
        items: list[dict[str, Any]] = []
        for page in paginator.paginate(**params, PaginationConfig={"PageSize": PAGE_SIZE}):
            items.extend(page.get("items", []))
        return items
