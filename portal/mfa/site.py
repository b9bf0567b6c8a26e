"""Django's admin site, behind allauth's sign-in and MFA.

It has no password form of its own: /django-admin/login/ sends people to allauth's sign-in
(its rate limits, its MFA step) and back with ?next=. Only an active superuser whose session
passed a second factor gets in: allauth records each sign-in step in the session, and one of
them must be "mfa" (signing in with a code or a security key, or confirming one later at
/accounts/2fa/reauthenticate/).
"""

from __future__ import annotations

from typing import Any

from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

CONFIRM_MFA = "Confirm your second factor to open Django's admin."
SET_UP_MFA = "Django's admin needs two-factor authentication: set it up first."


def passed_mfa(request: HttpRequest) -> bool:
    """This session's sign-in (or a later confirmation) used a second factor."""
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def may_use_admin(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_superuser and passed_mfa(request))


class TollgateAdminSite(admin.AdminSite):
    site_header = "Tollgate · Django admin"
    site_title = "Tollgate admin"

    def has_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request)

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """No form here: allauth's sign-in, or the missing step for someone signed in."""
        target = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
            target = ""
        target = target or reverse("admin:index", current_app=self.name)
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(target, reverse("account_login"))
        if not (user.is_active and user.is_superuser):
            raise PermissionDenied("Django's admin is for Tollgate's superusers only.")
        if not is_mfa_enabled(user):
            messages.warning(request, SET_UP_MFA)
            return redirect("mfa_index")
        if not passed_mfa(request):
            messages.info(request, CONFIRM_MFA)
            return redirect_to_login(target, reverse("mfa_reauthenticate"))
        return redirect(target)
