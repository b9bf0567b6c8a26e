"""The organisation's people (/app/members/), choosing an organisation, and the invitation link
(/invitations/…). Every write goes through portal.teams.services, which checks the policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from allauth.account import views as allauth_views
from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.access import (
    admin_required,
    customer_required,
    is_staff,
    may_manage_organisation,
    organisation_of,
    owner_required,
)
from portal.accounts.models import User
from portal.customers.models import Customer, Invitation, Membership, MembershipRole
from portal.customers.selectors import invitations_for
from portal.customers.services import customer_onboard
from portal.errors import Refused
from portal.forms import parse_id
from portal.http import client_ip
from portal.teams.forms import SESSION_TOKEN
from portal.teams.services import (
    invitation_accept,
    invitation_accept_pending,
    invitation_by_token,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    membership_remove,
    membership_set_role,
    organisation_choose,
    ownership_transfer,
)

# The invitation's token travels from the emailed link into the session (SESSION_TOKEN), and
# the page is then shown at an address without it (Django's password-reset pattern): it does not
# leak through the Referer header, the browser history or a sign-in's ?next=.


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect(fallback)


@never_cache
@customer_required
def member_list(request: HttpRequest, customer: Customer) -> HttpResponse:
    members = list(customer.memberships.select_related("user").order_by("-role", "user__email"))
    invitations = customer.invitations.select_related("invited_by", "accepted_by")[:50]
    mine = next((m for m in members if m.user_id == request.user.pk), None)
    owners = sum(1 for m in members if m.is_owner)
    return render(
        request,
        "teams/members.html",
        {
            "customer": customer,
            "members": members,
            "invitations": invitations,
            "last_owner": bool(mine and mine.is_owner and owners == 1),
            "can_manage": may_manage_organisation(request.user, customer),
            "roles": MembershipRole.choices,
        },
    )


def _on_members_page(
    request: HttpRequest, action: Callable[[], Any], success: Callable[[Any], str]
) -> HttpResponse:
    """Every owner action of the Members page: do it, say what happened (or the service's
    refusal), back to the page."""
    try:
        result = action()
    except Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success(result))
    return redirect("app:members")


def _invitation(customer: Customer, invitation_id: int) -> Invitation:
    return get_object_or_404(Invitation, pk=invitation_id, customer=customer)


def _membership(customer: Customer, membership_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "customer"), pk=membership_id, customer=customer
    )


@owner_required
@require_POST
def member_invite(request: HttpRequest, customer: Customer) -> HttpResponse:
    return _on_members_page(
        request,
        lambda: invitation_create(
            actor=request.user,
            customer=customer,
            email=request.POST.get("email", ""),
            role=request.POST.get("role", MembershipRole.MEMBER),
            base_url=base_url(request),
            ip=client_ip(request),
        ),
        lambda sent: f"Invitation sent to {sent.invitation.email}; the link works for 7 days.",
    )


@owner_required
@require_POST
def invitation_resend_view(
    request: HttpRequest, customer: Customer, invitation_id: int
) -> HttpResponse:
    invitation = _invitation(customer, invitation_id)
    return _on_members_page(
        request,
        lambda: invitation_resend(
            actor=request.user,
            invitation=invitation,
            base_url=base_url(request),
            ip=client_ip(request),
        ),
        lambda _: f"A new link went to {invitation.email}; the old one is dead.",
    )


@owner_required
@require_POST
def invitation_revoke_view(
    request: HttpRequest, customer: Customer, invitation_id: int
) -> HttpResponse:
    invitation = _invitation(customer, invitation_id)
    return _on_members_page(
        request,
        lambda: invitation_revoke(actor=request.user, invitation=invitation, ip=client_ip(request)),
        lambda _: f"The invitation to {invitation.email} no longer works.",
    )


@owner_required
@require_POST
def member_role(request: HttpRequest, customer: Customer, membership_id: int) -> HttpResponse:
    membership = _membership(customer, membership_id)
    return _on_members_page(
        request,
        lambda: membership_set_role(
            actor=request.user,
            membership=membership,
            role=request.POST.get("role", ""),
            ip=client_ip(request),
        ),
        lambda changed: f"{changed.user.email} is now {changed.get_role_display()}.",
    )


@owner_required
@require_POST
def member_remove(request: HttpRequest, customer: Customer, membership_id: int) -> HttpResponse:
    membership = _membership(customer, membership_id)
    if membership.user_id == request.user.pk:
        messages.error(request, "To leave the organisation, use “Leave”.")
        return redirect("app:members")
    return _on_members_page(
        request,
        lambda: membership_remove(actor=request.user, membership=membership, ip=client_ip(request)),
        lambda _: f"{membership.user.email} is no longer in {customer.name}.",
    )


@owner_required
@require_POST
def member_transfer(request: HttpRequest, customer: Customer, membership_id: int) -> HttpResponse:
    membership = _membership(customer, membership_id)
    return _on_members_page(
        request,
        lambda: ownership_transfer(
            actor=request.user, customer=customer, to=membership, ip=client_ip(request)
        ),
        lambda _: f"{membership.user.email} owns {customer.name} now; you are a member.",
    )


@customer_required
@require_POST
def member_leave(request: HttpRequest, customer: Customer) -> HttpResponse:
    membership = get_object_or_404(Membership, user=request.user, customer=customer)
    try:
        membership_remove(actor=request.user, membership=membership, ip=client_ip(request))
    except Refused as exc:
        messages.error(request, exc.message)
        return redirect("app:members")
    messages.success(request, f"You left {customer.name}.")
    return redirect("home")


@login_required
@require_POST
def organisation_switch(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    chosen = parse_id(request.POST.get("customer"))
    customer = Customer.objects.filter(pk=chosen).first() if chosen else None
    if customer is None or not customer.memberships.filter(user=user).exists():
        messages.error(request, "You are not in that organisation.")
        return redirect("home")
    organisation_choose(user=user, customer=customer)
    messages.success(request, f"You are working in {customer.name}.")
    return _back(request, reverse("app:keys"))


# --- the invitation link ----------------------------------------------------------------------


class SignupView(allauth_views.SignupView):
    """allauth's sign-up, telling the form about an invitation the visitor came through."""

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["request"] = self.request
        return kwargs


@never_cache
def invitation_link(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: keep its token in the session and show the page without it."""
    request.session[SESSION_TOKEN] = token
    return redirect("invitation")


@never_cache
def invitation_page(request: HttpRequest) -> HttpResponse:
    """Who invited whom to what, and the way in: accept, sign in, or create an account."""
    token = request.session.get(SESSION_TOKEN, "")
    invitation = invitation_by_token(token) if token else None
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?next={reverse('invitation')}")
        if invitation is None:
            messages.error(request, "This invitation link is not valid; ask for a new one.")
            return redirect("invitation")
        try:
            membership = invitation_accept(user=request.user, token=token, ip=client_ip(request))
        except Refused as exc:
            messages.error(request, exc.message)
            return redirect("invitation")
        request.session.pop(SESSION_TOKEN, None)
        messages.success(
            request,
            f"Welcome to {membership.customer.name}: you are a {membership.get_role_display()}.",
        )
        return redirect("app:keys")
    if invitation is None:
        return render(request, "teams/invitation.html", {"invitation": None}, status=404)
    has_account = User.objects.filter(email=invitation.email).exists()
    if invitation.state == "pending" and not has_account:
        # The link reached this address: signing up with it needs no confirmation email.
        get_adapter(request).stash_verified_email(request, invitation.email)
    user = request.user
    return render(
        request,
        "teams/invitation.html",
        {
            "invitation": invitation,
            "state": invitation.state,
            "has_account": has_account,
            "signed_in_as_invitee": user.is_authenticated
            and user.email.lower() == invitation.email,
        },
    )


# --- someone in no organisation ----------------------------------------------------------------


@never_cache
@login_required
def welcome(request: HttpRequest) -> HttpResponse:
    """For someone signed in who is in no organisation (they left it, or signed up before an
    invitation came): the invitations waiting for their address, or a new organisation."""
    user = cast(User, request.user)
    if is_staff(user):
        return redirect("console:overview")
    error = ""
    if request.method == "POST":
        try:
            customer_onboard(
                owner=user, organisation_name=request.POST.get("name", ""), ip=client_ip(request)
            )
        except Refused as exc:
            error = exc.message
        else:
            messages.success(request, "Your organisation is ready: create its first key.")
            return redirect("app:keys")
    elif organisation_of(user) is not None:
        return redirect("app:keys")
    return render(
        request,
        "teams/welcome.html",
        {"invitations": invitations_for(user), "error": error},
        status=400 if error else 200,
    )


@login_required
@require_POST
def welcome_accept(request: HttpRequest, invitation_id: int) -> HttpResponse:
    user = cast(User, request.user)
    invitation = get_object_or_404(invitations_for(user), pk=invitation_id)
    try:
        membership = invitation_accept_pending(
            user=user, invitation=invitation, ip=client_ip(request)
        )
    except Refused as exc:
        messages.error(request, exc.message)
        return redirect("welcome")
    messages.success(request, f"Welcome to {membership.customer.name}.")
    return redirect("app:keys")


# --- the console: the first owner of an imported or adopted organisation ----------------------


@admin_required
@require_POST
def console_invite(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    try:
        sent = invitation_create(
            actor=request.user,
            customer=customer,
            email=request.POST.get("email", ""),
            role=request.POST.get("role", MembershipRole.OWNER),
            base_url=base_url(request),
            ip=client_ip(request),
        )
    except Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation to {customer.name} sent to {sent.invitation.email}.")
    return redirect("console:customer", customer_id=customer.pk)
