"""The base of every API view: organisation scoping, ETags, and lookups that never crash."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import DataError, models
from django.http import HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from rest_framework import exceptions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.access import is_staff, restrict
from portal.customers.models import Customer
from portal.http import client_ip
from portal.rest.permissions import CUSTOMER, customer_of

# Lookups in URLs: a key's public id, a tier's slug.
UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
SLUG_RE = r"[-a-zA-Z0-9_]+"


def request_ip(request: Request) -> str | None:
    """The address audit events record, as the pages record it."""
    return client_ip(request._request)


def customer_named(request: Request, named: int | None, *, missing: str) -> Customer:
    """Whom a write is for. Staff must name the customer (`missing` says so when they did not);
    a customer acts for its own organisation, and naming another one finds nothing (404)."""
    if is_staff(request.user):
        if named is None:
            raise exceptions.ValidationError({"customer": [missing]})
        customer = Customer.objects.filter(pk=named).first()
        if customer is None:
            raise exceptions.ValidationError({"customer": ["No such customer."]})
        return customer
    own = customer_of(request)
    assert own is not None  # TollgatePermission refused people without one
    if named is not None and named != own.pk:
        raise exceptions.NotFound("No such customer.")
    return own


class ETagMixin(APIView):
    """A strong ETag from the body's SHA-256 on every successful read; 304 when unchanged."""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        if not isinstance(response, Response):
            return response
        response.render()
        etag = f'"{hashlib.sha256(response.content).hexdigest()[:40]}"'
        response["ETag"] = etag
        # The body depends on who asks.
        patch_vary_headers(response, ("Authorization", "Cookie"))
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "private, no-cache"
        if etag in parse_etags(request.headers.get("If-None-Match", "")):
            not_modified = HttpResponseNotModified()
            for header in ("ETag", "Vary", "Cache-Control"):
                not_modified[header] = response[header]
            return not_modified  # type: ignore[return-value]  # Django sends any response
        return response


class ScopedViewSet(ETagMixin, viewsets.GenericViewSet):
    """Staff see every row; a customer sees its own organisation's rows and nothing else.

    Scoping is the access policy's (portal.access.restrict); a domain whose rule differs (which
    tiers a customer sees) overrides `restrict` with that domain's selector.
    """

    audience = CUSTOMER
    customer_actions: frozenset[str] = frozenset()

    def get_queryset(self) -> models.QuerySet[Any]:
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return self.restrict(queryset)

    def restrict(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        return restrict(queryset, self.request.user, customer=self.acting_customer())

    def acting_customer(self) -> Customer | None:
        """The organisation a customer acts for; None for staff (who see every row), without
        looking it up."""
        return None if is_staff(self.request.user) else customer_of(self.request)

    def get_object(self) -> Any:
        try:
            return super().get_object()
        except (ValueError, TypeError, OverflowError, DataError) as exc:
            # An id no row can have (too big, not a number): simply not found.
            raise exceptions.NotFound() from exc
