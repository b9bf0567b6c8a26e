"""Writes to an organisation's people. Every one is audited and checks the access policy itself,
so the pages, the REST API and anything else that calls them follow the same rule."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from portal.access import (
    OWNER_ONLY_MESSAGE,
    forget_memberships,
    is_staff,
    require_organisation_manager,
)
from portal.accounts.models import User
from portal.audit.services import audit
from portal.customers.models import (
    INVITATION_LIFETIME,
    Customer,
    Invitation,
    Membership,
    MembershipRole,
)
from portal.errors import NoLongerAvailable, NotAllowed, NotReady, Refused

ROLES = {MembershipRole.OWNER.value, MembershipRole.MEMBER.value}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _role(value: str) -> str:
    if value not in ROLES:
        raise Refused('A role is "owner" or "member".')
    return value


def _owners(customer: Customer) -> int:
    return Membership.objects.filter(customer=customer, role=MembershipRole.OWNER).count()


# --- invitations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    link: str  # the one copy of the token: it goes in the email and nowhere else


def _send(invitation: Invitation, token: str, *, base_url: str) -> str:
    link = f"{base_url.rstrip('/')}/invitations/{token}/"
    inviter = invitation.invited_by.email if invitation.invited_by else "Tollgate"
    context = {"invitation": invitation, "link": link, "inviter": inviter}
    # On commit: a rolled-back invitation sends nothing, and a failing mail server after the
    # commit leaves a pending invitation an owner can resend.
    transaction.on_commit(
        lambda: send_mail(
            f"{inviter} invited you to {invitation.customer.name} on Tollgate",
            render_to_string("teams/invitation_email.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [invitation.email],
        )
    )
    return link


def _fresh_token(invitation: Invitation) -> str:
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_hash = token_digest(token)
    invitation.sent_at = now
    invitation.expires_at = now + INVITATION_LIFETIME
    return token


@transaction.atomic
def invitation_create(
    *,
    actor: Any,
    customer: Customer,
    email: str,
    role: str = MembershipRole.MEMBER,
    base_url: str,
    ip: str | None = None,
) -> SentInvitation:
    """Invite someone by email to join `customer` as `role` (an owner's or an admin's job; an
    admin invites the first owner of an organisation created by an import or an adoption)."""
    require_organisation_manager(actor, customer)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise Refused("Enter a valid email address.") from None
    role = _role(role)
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    if Membership.objects.filter(customer=customer, user__email=email).exists():
        raise Refused(f"{email} is already in {customer.name}.")
    stale = Invitation.objects.filter(
        customer=customer, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).first()
    if stale is not None:
        if stale.state == "pending":
            raise NotReady(f"{email} has a pending invitation already; resend it instead.")
        stale.revoked_at = timezone.now()  # expired: make way for the new one
        stale.save(update_fields=["revoked_at"])
    invitation = Invitation(
        customer=customer,
        email=email,
        role=role,
        invited_by=actor if getattr(actor, "pk", None) else None,
    )
    token = _fresh_token(invitation)
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:
        raise NotReady(f"{email} has a pending invitation already; resend it instead.") from None
    audit(
        actor=actor,
        action="invitation.created",
        target=invitation,
        after={"email": email, "role": role, "expires_at": invitation.expires_at.isoformat()},
        ip=ip,
    )
    return SentInvitation(invitation, _send(invitation, token, base_url=base_url))


def _open_invitation(invitation_id: int, customer: Customer) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .filter(pk=invitation_id, customer=customer)
        .select_related("customer", "invited_by")
        .first()
    )
    if invitation is None:
        raise Refused("No such invitation.")
    if invitation.accepted_at or invitation.revoked_at:
        raise NoLongerAvailable(f"That invitation was {invitation.state} already.")
    return invitation


@transaction.atomic
def invitation_resend(
    *, actor: Any, invitation: Invitation, base_url: str, ip: str | None = None
) -> SentInvitation:
    """A new link (the old one stops working) valid for another full lifetime."""
    require_organisation_manager(actor, invitation.customer)
    invitation = _open_invitation(invitation.pk, invitation.customer)
    before = {"expires_at": invitation.expires_at.isoformat()}
    token = _fresh_token(invitation)
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at"])
    audit(
        actor=actor,
        action="invitation.resent",
        target=invitation,
        before=before,
        after={"expires_at": invitation.expires_at.isoformat()},
        ip=ip,
    )
    return SentInvitation(invitation, _send(invitation, token, base_url=base_url))


@transaction.atomic
def invitation_revoke(*, actor: Any, invitation: Invitation, ip: str | None = None) -> Invitation:
    require_organisation_manager(actor, invitation.customer)
    invitation = _open_invitation(invitation.pk, invitation.customer)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit(
        actor=actor,
        action="invitation.revoked",
        target=invitation,
        before={"email": invitation.email, "role": invitation.role},
        ip=ip,
    )
    return invitation


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation a link names, in whatever state (the page explains expired or used)."""
    if not token or len(token) > 100:
        return None
    return (
        Invitation.objects.select_related("customer", "invited_by")
        .filter(token_hash=token_digest(token))
        .first()
    )


@transaction.atomic
def invitation_accept(*, user: User, token: str, ip: str | None = None) -> Membership:
    """The invited person joins through the emailed link. Single use; only by the invited
    address (the link went to that address, so following it and signing in as it proves it)."""
    found = invitation_by_token(token)
    if found is None:
        raise Refused("This invitation link is not valid; ask for a new one.")
    return _join(user, found, ip)


@transaction.atomic
def invitation_accept_pending(
    *, user: User, invitation: Invitation, ip: str | None = None
) -> Membership:
    """Join without the link, from the list of invitations to one's own confirmed address
    (someone who lost the email, or signed up before opening it)."""
    confirmed = EmailAddress.objects.filter(
        user=user, email__iexact=invitation.email, verified=True
    )
    if not confirmed.exists():
        raise NotAllowed("Confirm your email address first, or use the link in the invitation.")
    return _join(user, invitation, ip)


def _join(user: User, found: Invitation, ip: str | None) -> Membership:
    invitation = _open_invitation(found.pk, found.customer)
    if invitation.expires_at <= timezone.now():
        raise NoLongerAvailable("This invitation has expired; ask for a new one.")
    if is_staff(user):
        raise NotAllowed("Tollgate staff cannot join a customer organisation.")
    if user.email.lower() != invitation.email:
        raise NotAllowed(
            f"This invitation is for {invitation.email}; you are signed in as {user.email}."
        )
    membership, created = Membership.objects.get_or_create(
        user=user,
        customer=invitation.customer,
        defaults={"role": invitation.role, "selected_at": timezone.now()},
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit(
        actor=user,
        action="invitation.accepted",
        target=invitation,
        after={"email": invitation.email, "role": membership.role},
        ip=ip,
    )
    if created:
        audit(
            actor=user,
            action="membership.created",
            target=membership,
            after={"email": user.email, "role": membership.role},
            ip=ip,
        )
    else:  # already in (an owner added them meanwhile): working in it now is what they asked
        Membership.objects.filter(pk=membership.pk).update(selected_at=timezone.now())
    forget_memberships(user)
    return membership


# --- members ----------------------------------------------------------------------------------


def _locked_membership(membership: Membership) -> Membership:
    Customer.objects.select_for_update().filter(pk=membership.customer_id).first()
    locked = Membership.objects.select_related("user", "customer").filter(pk=membership.pk).first()
    if locked is None:
        raise NoLongerAvailable("That person is no longer in the organisation.")
    return locked


def _keep_an_owner(membership: Membership, what: str) -> None:
    if membership.is_owner and _owners(membership.customer) <= 1:
        raise Refused(
            f"{membership.user.email} is the last owner of {membership.customer.name}: {what}. "
            "Make someone else an owner first."
        )


@transaction.atomic
def membership_set_role(
    *, actor: Any, membership: Membership, role: str, ip: str | None = None
) -> Membership:
    require_organisation_manager(actor, membership.customer)
    role = _role(role)
    membership = _locked_membership(membership)
    if membership.role == role:
        return membership
    if role == MembershipRole.MEMBER:
        _keep_an_owner(membership, "an organisation needs one")
    before = {"role": membership.role}
    membership.role = role
    membership.save(update_fields=["role"])
    forget_memberships(actor)
    audit(
        actor=actor,
        action="membership.role_changed",
        target=membership,
        before=before,
        after={"email": membership.user.email, "role": role},
        ip=ip,
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Any, membership: Membership, ip: str | None = None) -> None:
    """An owner removes someone, or someone leaves (`actor` is the member themselves)."""
    leaving = getattr(actor, "pk", None) == membership.user_id
    if not leaving:
        require_organisation_manager(actor, membership.customer)
    membership = _locked_membership(membership)
    _keep_an_owner(membership, "they cannot leave" if leaving else "they cannot be removed")
    audit(
        actor=actor,
        action="membership.left" if leaving else "membership.removed",
        target=membership,
        before={"email": membership.user.email, "role": membership.role},
        ip=ip,
    )
    membership.delete()
    forget_memberships(actor)


@transaction.atomic
def ownership_transfer(
    *, actor: Any, customer: Customer, to: Membership, ip: str | None = None
) -> Membership:
    """Hand the organisation over: `to` becomes an owner and the acting owner a member."""
    require_organisation_manager(actor, customer)
    if to.customer_id != customer.pk:
        raise Refused("That person is not in this organisation.")
    actor_id = getattr(actor, "pk", None)
    mine = (
        Membership.objects.filter(user_id=actor_id, customer=customer).first()
        if actor_id is not None
        else None
    )
    if mine is None or not mine.is_owner:
        raise NotAllowed(OWNER_ONLY_MESSAGE.format(organisation=customer.name))
    if to.pk == mine.pk:
        raise Refused("You own it already; choose someone else.")
    membership_set_role(actor=actor, membership=to, role=MembershipRole.OWNER, ip=ip)
    return membership_set_role(actor=actor, membership=mine, role=MembershipRole.MEMBER, ip=ip)


def organisation_choose(*, user: User, customer: Customer) -> Membership:
    """Work in this organisation from now on (pages and API). Not audited: it changes what a
    person looks at, not what anybody may do."""
    membership = Membership.objects.filter(user_id=user.pk, customer_id=customer.pk).first()
    if membership is None:
        raise Refused("You are not in that organisation.")
    Membership.objects.filter(pk=membership.pk).update(selected_at=timezone.now())
    forget_memberships(user)
    return membership
