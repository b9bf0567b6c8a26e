from typing import Any

from django.http import HttpRequest

from portal.access import is_staff, memberships


def organisations(request: HttpRequest) -> dict[str, Any]:
    """The organisation a customer works in, the others they can switch to, and whether they
    own it (the navigation shows Members, Settings and the audit log accordingly). One query."""
    # Always the same names: a template asking for a missing one makes Django log the whole
    # context at DEBUG, and a page's context may hold a secret shown once.
    none: dict[str, Any] = {
        "organisation": None,
        "organisation_role": None,
        "other_organisations": [],
    }
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or is_staff(user):
        return none
    found = memberships(user)
    if not found:
        return none
    current = found[0]
    return {
        "organisation": current.customer,
        "organisation_role": current.role,
        "other_organisations": [m.customer for m in found[1:]],
    }
