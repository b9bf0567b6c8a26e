"""The one access policy: who may see and do what, for pages and the REST API alike.

NetBox's `restrict()` idea: every list a person sees is a queryset scoped to them here, and each
"may this person do this?" is one function here. Pages use the decorators below; the API's
permission class and base viewset (portal/rest/) call the same functions. Roles:

- staff admin: everything; staff ops: reads everything, changes nothing;
- a customer (a member of an organisation): that organisation's objects only — another
  organisation's object is a 404, never a 403.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from portal.customers.models import Customer, Membership, MembershipRole
from portal.customers.selectors import customer_for_user

View = Callable[..., HttpResponse]
Row = TypeVar("Row", bound=models.Model)


def is_staff(user: Any) -> bool:
    """Admins and ops: people who see every organisation."""
    return bool(getattr(user, "is_tollgate_staff", False))


def is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_tollgate_admin", False))


def organisation_of(user: Any) -> Customer | None:
    """The organisation a signed-in customer acts for, or None (staff have none of their own,
    and nor has someone who belongs to no organisation)."""
    if user is None or not getattr(user, "is_authenticated", False) or is_staff(user):
        return None
    return customer_for_user(user)


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


def is_owner_of(user: Any, customer: Customer | None) -> bool:
    """An owner of this organisation (members are not): reads its audit log."""
    if customer is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return Membership.objects.filter(
        user_id=user.pk, customer_id=customer.pk, role=MembershipRole.OWNER
    ).exists()


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


def customer_required(view: View) -> View:
    """A member of an organisation; the view receives it as `customer`."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = organisation_of(request.user)
        if customer is None:
            if is_staff(request.user) and request.method in ("GET", "HEAD"):
                return redirect("console:overview")  # staff have no organisation of their own
            raise PermissionDenied
        return view(request, *args, customer=customer, **kwargs)

    return wrapper
