"""The one access policy: who may see and do what, for pages and the REST API alike.

NetBox's `restrict()` idea: every list a person sees is a queryset scoped to them here, and each
"may this person do this?" is one function here. Pages use the decorators below; the API's
permission class and base viewset (portal/rest/) call the same functions. Roles:

- staff admin: everything; staff ops: reads everything, changes nothing;
- a customer: the objects of the organisation they work in (`organisation_of`; a person in
  several organisations chooses one) and nothing of any other — another organisation's object is
  a 404, never a 403. Within an organisation:
  - owner: what costs money or changes who is in: tier changes and tier requests, members and
    invitations, organisation settings, every key of the organisation;
  - member: keys and usage — creates keys, changes the keys they created, reads the rest.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from allauth.mfa import utils as mfa_utils
from allauth.mfa.models import Authenticator
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from portal.customers.models import Customer, Membership, MembershipRole
from portal.customers.selectors import memberships_of
from portal.errors import NotAllowed

View = Callable[..., HttpResponse]
Row = TypeVar("Row", bound=models.Model)


def is_staff(user: Any) -> bool:
    """Admins and ops: people who see every organisation."""
    return bool(getattr(user, "is_tollgate_staff", False))


def is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_tollgate_admin", False))


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


MEMBERSHIPS_CACHE = "_tollgate_memberships"


def memberships(user: Any) -> list[Membership]:
    """A person's memberships, the organisation they work in first; read once per request (kept
    on the user object, which lives as long as the request) for every question below."""
    if user is None or not _signed_in(user):
        return []
    cached: list[Membership] | None = user.__dict__.get(MEMBERSHIPS_CACHE)
    if cached is None:
        cached = user.__dict__[MEMBERSHIPS_CACHE] = list(memberships_of(user))
    return cached


def forget_memberships(user: Any) -> None:
    """After a change to this person's memberships in the same request."""
    if user is not None:
        user.__dict__.pop(MEMBERSHIPS_CACHE, None)


def organisation_of(user: Any) -> Customer | None:
    """The organisation a signed-in customer acts for, or None (staff have none of their own,
    and nor has someone who belongs to no organisation)."""
    if user is None or not getattr(user, "is_authenticated", False) or is_staff(user):
        return None
    found = memberships(user)
    return found[0].customer if found else None


def restrict(
    queryset: models.QuerySet[Row], user: Any, *, customer: Customer | None = None
) -> models.QuerySet[Row]:
    """The rows of `queryset` this person may see: staff every row, a customer its own
    organisation's (through the model's `customer_path`, default "customer"), anyone else none.

    `customer` saves a lookup when the caller already knows the person's organisation.
    """
    if is_staff(user):
        return queryset
    customer = customer or organisation_of(user)
    if customer is None:
        return queryset.none()
    path = getattr(queryset.model, "customer_path", "customer")
    return queryset.filter(**{path: customer.pk})


def role_in(user: Any, customer: Customer | None) -> str | None:
    """ "owner", "member", or None (not in this organisation)."""
    if customer is None:
        return None
    return next((m.role for m in memberships(user) if m.customer_id == customer.pk), None)


def is_owner_of(user: Any, customer: Customer | None) -> bool:
    """An owner of this organisation (members are not)."""
    return role_in(user, customer) == MembershipRole.OWNER


def may_manage_organisation(user: Any, customer: Customer | None) -> bool:
    """Tier changes and tier requests, members and invitations, organisation settings and its
    audit log: an owner of it. Admins act on any organisation from the console."""
    return is_admin(user) or is_owner_of(user, customer)


def may_manage_key(user: Any, key: Any) -> bool:
    """Rename, pause, revoke, retry: an owner of the key's organisation, or the member who
    created it (members share keys for reading, not for revoking one another's)."""
    if is_admin(user) or is_owner_of(user, key.customer):
        return True
    return role_in(user, key.customer) is not None and key.created_by_id == user.pk


OWNER_ONLY_MESSAGE = "Only an owner of {organisation} can do this; ask one of its owners."
KEY_CREATOR_ONLY_MESSAGE = (
    "Only the person who created this key, or an owner of {organisation}, can change it."
)


def require_organisation_manager(
    actor: Any, customer: Customer, message: str = OWNER_ONLY_MESSAGE
) -> None:
    """For services: refuse (NotAllowed) unless `may_manage_organisation`."""
    if not may_manage_organisation(actor, customer):
        raise NotAllowed(message.format(organisation=customer.name))


def require_key_manager(actor: Any, key: Any) -> None:
    """For services: refuse (NotAllowed) unless `may_manage_key`; Tollgate's own jobs and
    commands (no actor) act for the system."""
    if getattr(actor, "pk", None) is not None and not may_manage_key(actor, key):
        raise NotAllowed(KEY_CREATOR_ONLY_MESSAGE.format(organisation=key.customer.name))


def may_change_anything(user: Any) -> bool:
    """Console writes: tiers, stages, every customer's objects, drift, imports."""
    return is_admin(user)


# --- pages --------------------------------------------------------------------------------------


def staff_required(view: View) -> View:
    """Admins and ops: read every customer (ops cannot change anything)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_staff(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_change_anything(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(view: View) -> View:
    """An owner of the organisation the person works in (a member gets a 403 saying why); the
    view receives it as `customer`. Reads are for every member: use it on writes."""

    @customer_required
    @wraps(view)
    def wrapper(
        request: HttpRequest, *args: Any, customer: Customer, **kwargs: Any
    ) -> HttpResponse:
        if not may_manage_organisation(request.user, customer):
            raise PermissionDenied(OWNER_ONLY_MESSAGE.format(organisation=customer.name))
        return view(request, *args, customer=customer, **kwargs)

    return wrapper


def customer_required(view: View) -> View:
    """A member of an organisation; the view receives it as `customer`."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = organisation_of(request.user)
        if customer is None:
            if request.method not in ("GET", "HEAD"):
                raise PermissionDenied("You are not in an organisation.")
            if is_staff(request.user):
                return redirect("console:overview")  # staff have no organisation of their own
            return redirect("welcome")  # invitations waiting, or a new organisation
        return view(request, *args, customer=customer, **kwargs)

    return wrapper


# --- two-factor authentication (allauth.mfa) ---------------------------------------------------

MFA_REQUIRED_FOR_STAFF = (
    "Tollgate staff must use two-factor authentication: set up an authenticator app or a "
    "security key to continue."
)
MFA_REQUIRED_BY_ORGANISATION = (
    "{organisation} requires two-factor authentication: set up an authenticator app or a "
    "security key to continue."
)


def mfa_required_reason(user: Any, *, customer: Customer | None = None) -> str | None:
    """Why this person must use a second factor, whether they have one or not; None if they
    need not. Staff (admin and ops) always; anyone working in an organisation that asks for it
    (`Customer.require_mfa`). `customer` saves a lookup when the caller knows the person's
    organisation already."""
    if not _signed_in(user):
        return None
    if is_staff(user):
        return MFA_REQUIRED_FOR_STAFF
    customer = customer or organisation_of(user)
    if customer is None or not customer.require_mfa:
        return None
    return MFA_REQUIRED_BY_ORGANISATION.format(organisation=customer.name)


def mfa_setup_required(user: Any, *, customer: Customer | None = None) -> str | None:
    """Why this person must set up a second factor before going on, or None.

    A factor is an authenticator app (TOTP) or a security key (WebAuthn); recovery codes only
    back them up. Pages (portal.mfa's middleware) and the REST API (portal.rest.permissions)
    ask this alone; allauth's "remove the last factor" asks `mfa_required_reason`.
    """
    reason = mfa_required_reason(user, customer=customer)
    if reason is None:
        return None
    if mfa_utils.is_mfa_enabled(user, [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]):
        return None
    return reason
