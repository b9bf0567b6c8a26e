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

from portal.api.permissions import CUSTOMER, customer_of, is_staff
from portal.customers.models import Customer


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

    `customer_path` is the lookup from the model to its Customer ("customer", "key__customer").
    """

    audience = CUSTOMER
    customer_actions: frozenset[str] = frozenset()
    customer_path = "customer"

    def get_queryset(self) -> models.QuerySet[Any]:
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        if is_staff(self.request.user):
            return queryset
        customer = customer_of(self.request)
        if customer is None:
            return queryset.none()
        return self.scope_for_customer(queryset, customer)

    def scope_for_customer(
        self, queryset: models.QuerySet[Any], customer: Customer
    ) -> models.QuerySet[Any]:
        return queryset.filter(**{self.customer_path: customer})

    def get_object(self) -> Any:
        try:
            return super().get_object()
        except (ValueError, TypeError, OverflowError, DataError) as exc:
            # An id no row can have (too big, not a number): simply not found.
            raise exceptions.NotFound() from exc
