import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from keys.expiry import parse_expiry, retention_days
from keys.models import ApiKey
from keys.places import copies_of
from keys.rotation import GRACE_WORDS, grace_named, key_rotate, successor_of
from keys.selectors import SecretState, key_page, sample_call_for, secret_state
from keys.services import (
    SecretUnavailable,
    key_retry_sync,
    key_reveal_secret,
    key_set_enabled,
)
from keys.services import (
    key_create as create_key,
)
from keys.services import (
    key_rename as rename_key,
)
from keys.services import (
    key_revoke as revoke_key,
)
from plans.selectors import active_subscription
from portal.access import customer_required, may_manage_key, restrict
from portal.customers.models import Customer
from portal.errors import NotAllowed, Refused
from portal.http import HtmxHttpRequest, client_ip


def _can_reveal(key: ApiKey, user: object) -> bool:
    """The page offers the secret when the one rule (keys.selectors.secret_state) allows it."""
    return secret_state(key, user) == SecretState.READY


def _own_key(request: HttpRequest, customer: Customer, public_id: uuid.UUID) -> ApiKey:
    """Through the access policy: another organisation's key is simply not found."""
    keys = restrict(ApiKey.objects.select_related("customer"), request.user, customer=customer)
    return get_object_or_404(keys, public_id=public_id)


@customer_required
def key_list(request: HttpRequest, customer: Customer) -> HttpResponse:
    keys = restrict(ApiKey.objects.all(), request.user, customer=customer)
    show_revoked = request.GET.get("revoked") == "1"
    if not show_revoked:
        keys = keys.filter(revoked_at__isnull=True)
    page = key_page(keys.select_related("rotated_from"), request.GET.get("page"))
    key_rows = list(page.object_list)
    # "replaced by …" on an old key whose successor may be on another page: one query.
    successors = {
        k.rotated_from_id: k
        for k in restrict(ApiKey.objects.all(), request.user, customer=customer).filter(
            rotated_from__in=[row.pk for row in key_rows]
        )
    }
    for row in key_rows:
        row.replaced_by = successors.get(row.pk)  # type: ignore[attr-defined]
    return render(
        request,
        "keys/keys.html",
        {
            "customer": customer,
            "keys": key_rows,
            "page": page,
            "any_pending": any(key.is_sync_pending for key in key_rows),
            "show_revoked": show_revoked,
            "subscription": active_subscription(customer),
        },
    )


@customer_required
def key_create(request: HttpRequest, customer: Customer) -> HttpResponse:
    error = expiry_error = ""
    name = expires = ""
    if request.method == "POST":
        name = request.POST.get("name", "")
        expires = request.POST.get("expires_at", "").strip()
        try:
            key = create_key(
                actor=request.user,
                customer=customer,
                name=name,
                ip=client_ip(request),
                expires_at=parse_expiry(expires) if expires else None,
            )
        except ValidationError as exc:
            fields = dict(exc.message_dict) if hasattr(exc, "error_dict") else {"": exc.messages}
            expiry_error = " ".join(fields.pop("expires_at", []))
            error = " ".join(message for found in fields.values() for message in found)
        else:
            return redirect("app:key", public_id=key.public_id)
    context = {"customer": customer, "error": error, "name": name}
    context |= {"expires": expires, "expiry_error": expiry_error}
    return render(request, "keys/key_create.html", context)


@never_cache
@customer_required
def key_detail(request: HttpRequest, customer: Customer, public_id: uuid.UUID) -> HttpResponse:
    key = _own_key(request, customer, public_id)
    return render(
        request,
        "keys/key_detail.html",
        {
            "customer": customer,
            "key": key,
            "can_reveal": _can_reveal(key, request.user),
            "copies": copies_of(key),
            "can_manage": may_manage_key(request.user, key),
            "replaced_by": successor_of(key),
            "graces": GRACE_WORDS,
            "subscription": active_subscription(customer),
            "retention_days": retention_days(),
        },
    )


@never_cache
@customer_required
def key_status(request: HttpRequest, customer: Customer, public_id: uuid.UUID) -> HttpResponse:
    """The htmx-polled status block; once the key reaches AWS it offers the one-time secret."""
    key = _own_key(request, customer, public_id)
    return render(
        request,
        "keys/_key_status.html",
        {"key": key, "can_reveal": _can_reveal(key, request.user), "copies": copies_of(key)},
    )


@never_cache
@customer_required
@require_POST
def key_secret(request: HttpRequest, customer: Customer, public_id: uuid.UUID) -> HttpResponse:
    key = _own_key(request, customer, public_id)
    try:
        secret = key_reveal_secret(actor=request.user, key=key, ip=client_ip(request))
    except SecretUnavailable as exc:
        return render(request, "keys/_secret_gone.html", {"key": key, "reason": str(exc)})
    response = render(
        request,
        "keys/_secret_once.html",
        {"key": key, "secret": secret, "call": sample_call_for(customer)},
    )
    response["Cache-Control"] = "no-store"
    return response


@customer_required
@require_POST
def key_rename(request: HttpRequest, customer: Customer, public_id: uuid.UUID) -> HttpResponse:
    key = _own_key(request, customer, public_id)
    try:
        rename_key(
            actor=request.user, key=key, name=request.POST.get("name", ""), ip=client_ip(request)
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Key renamed.")
    return redirect("app:key", public_id=key.public_id)


@customer_required
@require_POST
def key_enabled(request: HttpRequest, customer: Customer, public_id: uuid.UUID) -> HttpResponse:
    key = _own_key(request, customer, public_id)
    enabled = request.POST.get("enabled") == "1"
    try:
        key_set_enabled(actor=request.user, key=key, enabled=enabled, ip=client_ip(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            "Key enabled."
            if enabled
            else "Key disabled: API Gateway will refuse it until you enable it.",
        )
    return redirect("app:key", public_id=key.public_id)


@customer_required
@require_POST
def key_revoke(request: HttpRequest, customer: Customer, public_id: uuid.UUID) -> HttpResponse:
    key = _own_key(request, customer, public_id)
    try:
        revoke_key(actor=request.user, key=key, ip=client_ip(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("app:key", public_id=key.public_id)
    messages.success(request, f"Key “{key.name}” revoked; it is being deleted from API Gateway.")
    return redirect("app:keys")


@customer_required
@require_POST
def key_retry(request: HtmxHttpRequest, customer: Customer, public_id: uuid.UUID) -> HttpResponse:
    key = _own_key(request, customer, public_id)
    key_retry_sync(actor=request.user, key=key, ip=client_ip(request))
    if request.htmx:
        key.refresh_from_db()
        return render(
            request,
            "keys/_key_status.html",
            {"key": key, "can_reveal": _can_reveal(key, request.user), "copies": copies_of(key)},
        )
    return redirect("app:key", public_id=key.public_id)


@customer_required
@require_POST
def key_roll(request: HttpRequest, customer: Customer, public_id: uuid.UUID) -> HttpResponse:
    """Roll the key (keys.rotation): the new key's page then shows its secret, once."""
    key = _own_key(request, customer, public_id)
    try:
        new = key_rotate(
            actor=request.user,
            key=key,
            grace=grace_named(request.POST.get("grace", "")),
            ip=client_ip(request),
        )
    except NotAllowed:
        raise
    except (Refused, ValidationError) as exc:
        messages.error(request, exc.message if isinstance(exc, Refused) else " ".join(exc.messages))
        return redirect("app:key", public_id=key.public_id)
    messages.success(
        request,
        f"New key “{new.name}” created; “{key.name}” keeps working until its grace period ends.",
    )
    return redirect("app:key", public_id=new.public_id)
