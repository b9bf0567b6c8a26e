"""The API's permission class: the pages' access policy (portal/access.py) applied to DRF.

- no credentials → 401;
- someone who must use MFA and has not set it up (portal.access.mfa_setup_required) → 403,
  `"type": "mfa_required"`, saying why;
- a read-scope token → 403 on any method that changes something;
- a leak-report token (scope "leaks") → 403 everywhere but the view that says `leak_report =
  True` (POST keys/leaked), which takes nothing else, and only from an admin's token;
- admins may do everything; ops may read everything and change nothing;
- customers never reach staff endpoints, and change only what a view lists in
  `customer_actions` (their keys, their tier); which objects they see at all is the queryset's
  business (`ScopedViewSet`), so another organisation's object is a 404, never a 403.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from portal.access import is_admin, is_staff, mfa_setup_required, organisation_of
from portal.customers.models import Customer

CUSTOMER = "customer"  # customers reach it, scoped to their organisation
STAFF = "staff"  # admins and ops only
ANYONE = "anyone"  # any signed-in person, e.g. /me
LEAK_REPORT_ONLY = (
    "Report leaked keys with a leak-report token (scope “leaks”), which Tollgate admins create."
)


def customer_of(request: Request) -> Customer | None:
    """The organisation of the person making the request (looked up once per request)."""
    if not hasattr(request, "_tollgate_customer"):
        request._tollgate_customer = organisation_of(request.user)  # type: ignore[attr-defined]
    return request._tollgate_customer  # type: ignore[attr-defined]


class TollgatePermission(BasePermission):
    message = "You may not do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False  # DRF turns this into a 401 (the bearer scheme asks for credentials)
        # Staff, and people whose organisation requires it, set up MFA first: by session or
        # token alike (the pages send them to /accounts/2fa/; portal.mfa.middleware).
        reason = mfa_setup_required(user, customer=None if is_staff(user) else customer_of(request))
        if reason is not None:
            raise PermissionDenied(reason, code="mfa_required")
        # A leak-report token reaches the leak endpoint only, and that endpoint takes nothing else.
        leak_token = getattr(request.auth, "reports_leaks_only", False) is True
        if getattr(view, "leak_report", False):
            if leak_token and is_admin(user):
                return True
            self.message = LEAK_REPORT_ONLY
            return False
        if leak_token:
            self.message = "This token can only report leaked keys (POST /api/v1/keys/leaked)."
            return False
        safe = request.method in SAFE_METHODS
        # A personal access token (portal.tokens, a sibling layer) says itself whether it may
        # write; a session has no `can_write` and is limited by the role alone.
        if not safe and getattr(request.auth, "can_write", True) is False:
            self.message = "This token is read-only; create a write token to change anything."
            return False
        if is_admin(user):
            return True
        if is_staff(user):
            if safe:
                return True
            self.message = "Ops can read everything but change nothing."
            return False
        audience = getattr(view, "audience", CUSTOMER)
        if audience == ANYONE:
            return True
        if audience == STAFF:
            self.message = "Only Tollgate staff can see this."
            return False
        if customer_of(request) is None:
            self.message = "You do not belong to an organisation yet."
            return False
        if (
            safe
            or getattr(view, "customer_may_write", False)
            or getattr(view, "action", None) in getattr(view, "customer_actions", ())
        ):
            return True
        self.message = "Only Tollgate admins can do this."
        return False
