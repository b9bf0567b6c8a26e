from typing import Any

from django.http import HttpRequest


def audience(request: HttpRequest) -> dict[str, Any]:
    """Which navigation the base layout shows: the staff console or the customer's pages."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"audience": "visitor"}
    if user.is_tollgate_staff:
        return {"audience": "staff", "is_admin": user.is_tollgate_admin}
    return {"audience": "customer"}
