"""What the console's navigation shows on every staff page."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from plans.models import TierRequest
from portal.access import is_staff


def pending_tier_requests(request: HttpRequest) -> dict[str, Any]:
    """The badge on "Tier requests": one COUNT, for staff only, and only when a template shows
    it (a partial or a CSV never asks)."""
    if not is_staff(getattr(request, "user", None)):
        return {}
    return {
        "pending_tier_requests": SimpleLazyObject(lambda: TierRequest.objects.pending().count())
    }
