"""Who may open which page. Customers only ever reach their own organisation's objects."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from portal.customers.selectors import customer_for_user

View = Callable[..., HttpResponse]


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def staff_required(view: View) -> View:
    """Admins and ops: read every customer (ops cannot change anything)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_tollgate_staff:  # type: ignore[union-attr]
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_tollgate_admin:  # type: ignore[union-attr]
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def customer_required(view: View) -> View:
    """A member of an organisation; the view receives it as `customer`."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer = customer_for_user(request.user)  # type: ignore[arg-type]
        if customer is None:
            if request.user.is_tollgate_staff:  # type: ignore[union-attr]
                return redirect("console:overview")
            raise PermissionDenied
        return view(request, *args, customer=customer, **kwargs)

    return wrapper
