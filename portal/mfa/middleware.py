"""Pages: someone who must use MFA and has not set it up goes to /accounts/2fa/ first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import ResolverMatch, reverse
from django_htmx.http import HttpResponseClientRedirect

from portal.access import mfa_setup_required

# Reachable without MFA: allauth's own pages (sign-in and out, the 2FA set-up, password and
# email), the public catalog, and Django's admin (its site asks for more: portal.mfa.site).
# The REST API refuses on its own (portal.rest.permissions): a token is only known there.
OPEN_URL_NAME_PREFIXES = ("account_", "mfa_")
# Choosing another organisation (one that does not require MFA) and an invitation's link.
OPEN_URL_NAMES = {"organisation-switch", "invitation-link", "invitation"}
OPEN_NAMESPACES = {"catalog", "admin"}
OPEN_ROUTE_PREFIXES = ("api/",)


def is_open(match: ResolverMatch | None) -> bool:
    if match is None:
        return True  # nothing answers here: the 404 page says so to anyone
    name = match.url_name or ""
    if name.startswith(OPEN_URL_NAME_PREFIXES) or (name in OPEN_URL_NAMES and not match.namespace):
        return True
    if OPEN_NAMESPACES.intersection(match.namespaces):
        return True
    return (match.route or "").startswith(OPEN_ROUTE_PREFIXES)


class MfaRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or is_open(request.resolver_match):
            return None
        reason = mfa_setup_required(user)
        if reason is None:
            return None
        messages.warning(request, reason)
        if getattr(request, "htmx", False):  # a fragment would land inside the page
            return HttpResponseClientRedirect(reverse("mfa_index"))
        return redirect("mfa_index")
