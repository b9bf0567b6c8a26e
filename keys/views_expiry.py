"""The key page's expiry form (POST /app/keys/<id>/expiry/): set or clear it, through
keys.expiry.key_set_expiry like the REST API and `manage.py key_expiry`."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from keys.expiry import key_set_expiry, parse_expiry
from keys.models import ApiKey
from portal.access import customer_required, restrict
from portal.customers.models import Customer
from portal.http import client_ip


@customer_required
@require_POST
def key_expiry(request: HttpRequest, customer: Customer, public_id: uuid.UUID) -> HttpResponse:
    keys = restrict(ApiKey.objects.select_related("customer"), request.user, customer=customer)
    key = get_object_or_404(keys, public_id=public_id)
    clear = "clear" in request.POST
    try:
        expires_at = None if clear else parse_expiry(request.POST.get("expires_at", ""))
        key = key_set_expiry(
            actor=request.user, key=key, expires_at=expires_at, ip=client_ip(request)
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            "The key no longer expires."
            if clear
            else f"The key expires on {key.expires_at:%Y-%m-%d %H:%M} UTC (in {key.expires_in}).",
        )
    return redirect("app:key", public_id=key.public_id)
