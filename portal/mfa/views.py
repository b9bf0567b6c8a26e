"""The pages of MFA that are Tollgate's: allauth.mfa's "remove a security key" refusing a
required last factor (allauth asks the adapter, `can_delete_authenticator`, before removing an
authenticator app, not a security key; portal/urls.py mounts it at allauth's own URL), and the
organisation's settings page with the owner's "require MFA" switch and its key settings
(idle keys, leaked keys: portal.mfa.key_settings)."""

from __future__ import annotations

from typing import Any

from allauth.mfa import utils as mfa_utils
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.views import ViewRecoveryCodesView
from allauth.mfa.totp.views import ActivateTOTPView
from allauth.mfa.webauthn.views import RemoveWebAuthnView
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from portal.access import customer_required, is_owner_of
from portal.customers.models import Customer
from portal.errors import NotAllowed
from portal.http import client_ip
from portal.mfa.adapter import FACTORS, KEEP_A_FACTOR, is_required_last_factor
from portal.mfa.key_settings import LEAKED_KEY_ACTIONS, customer_set_key_settings
from portal.mfa.services import OWNERS_ONLY, customer_set_require_mfa


class Unprinted(list[str]):
    """Recovery codes in a page's context. A variable a template cannot find is logged (DEBUG,
    django.template) with the whole context's repr: the codes must never be in it."""

    def __repr__(self) -> str:
        return f"<{len(self)} recovery codes>"


class TollgateViewRecoveryCodesView(ViewRecoveryCodesView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["unused_codes"] = Unprinted(context["unused_codes"])
        return context


class TollgateActivateTOTPView(ActivateTOTPView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Without `totp_url` (an otpauth:// URL holding the secret, for the same reason); the
        page shows the QR code and the form's secret."""
        context = super().get_context_data(**kwargs)
        context.pop("totp_url", None)
        context.pop("totp_svg", None)
        return context


view_recovery_codes = TollgateViewRecoveryCodesView.as_view()
activate_totp = TollgateActivateTOTPView.as_view()


class TollgateRemoveWebAuthnView(RemoveWebAuthnView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if is_required_last_factor(self.object):
            context["refusal"] = KEEP_A_FACTOR
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        if is_required_last_factor(self.get_object()):
            messages.error(self.request, KEEP_A_FACTOR)
            return redirect("mfa_list_webauthn")
        return super().form_valid(form)


remove_webauthn = TollgateRemoveWebAuthnView.as_view()


# --- the organisation's settings (/app/settings/) ------------------------------------------------


@customer_required
def organisation_settings(request: HttpRequest, customer: Customer) -> HttpResponse:
    """Everyone in the organisation sees its settings; only an owner changes them."""
    owner = is_owner_of(request.user, customer)
    if request.method == "POST" and request.POST.get("section") == "keys":
        return _save_key_settings(request, customer)
    if request.method == "POST":
        if not owner:
            raise PermissionDenied(OWNERS_ONLY.format(organisation=customer.name))
        required = request.POST.get("require_mfa") in ("on", "1", "true")
        try:
            customer_set_require_mfa(
                actor=request.user, customer=customer, required=required, ip=client_ip(request)
            )
        except NotAllowed as refused:
            raise PermissionDenied(refused.message) from refused
        messages.success(
            request,
            f"{customer.name} now requires two-factor authentication of everyone in it."
            if required
            else f"{customer.name} no longer requires two-factor authentication.",
        )
        return redirect("app:settings")
    people = customer.memberships.values_list("user_id", flat=True)
    protected = (
        Authenticator.objects.filter(user_id__in=people, type__in=FACTORS)
        .values("user_id")
        .distinct()
        .count()
    )
    return render(
        request,
        "settings/organisation.html",
        {
            "customer": customer,
            "is_owner": owner,
            "people": customer.memberships.count(),
            "protected": protected,
            "me_protected": mfa_utils.is_mfa_enabled(request.user, list(FACTORS)),
            "leaked_key_actions": LEAKED_KEY_ACTIONS.items(),
        },
    )


def _save_key_settings(request: HttpRequest, customer: Customer) -> HttpResponse:
    """The "API keys" form: idle keys and leaked keys (portal.mfa.key_settings)."""
    try:
        customer_set_key_settings(
            actor=request.user,
            customer=customer,
            disable_idle_keys=request.POST.get("disable_idle_keys") in ("on", "1", "true"),
            leaked_key_action=request.POST.get("leaked_key_action") or customer.leaked_key_action,
            ip=client_ip(request),
        )
    except NotAllowed as refused:
        raise PermissionDenied(refused.message) from refused
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Key settings of {customer.name} saved.")
    return redirect("app:settings")
