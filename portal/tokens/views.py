from datetime import timedelta
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.access import admin_required, staff_required
from portal.accounts.models import User
from portal.errors import Refused
from portal.forms import apply_service_errors
from portal.http import client_ip
from portal.tokens.forms import TokenForm
from portal.tokens.models import PersonalAccessToken
from portal.tokens.services import token_create, token_revoke

CONSOLE_PAGE_SIZE = 50


@never_cache
@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, user=request.user)
    issued = None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in"]
        try:
            issued = token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=timezone.now() + timedelta(days=int(days)),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            form = TokenForm(user=request.user)
    response = render(
        request,
        "tokens/tokens.html",
        {
            "form": form,
            "issued": issued,
            "tokens": PersonalAccessToken.objects.filter(user=cast(User, request.user)).order_by(
                "revoked_at", "-created_at"
            ),
        },
    )
    return response


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(
        PersonalAccessToken.objects.filter(user=cast(User, request.user)), pk=token_id
    )
    token_revoke(user=request.user, token=token, ip=client_ip(request))
    messages.success(request, f"Token “{token.name}” revoked; it no longer works.")
    return redirect("tokens:list")


# --- the console: every person's tokens (staff read; admins revoke) ---------------------------


@never_cache
@staff_required
def console_token_list(request: HttpRequest) -> HttpResponse:
    tokens = PersonalAccessToken.objects.select_related("user").order_by("-created_at", "-pk")
    page = Paginator(tokens, CONSOLE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tokens/console_tokens.html", {"page": page, "tokens": page.object_list})


@admin_required
@require_POST
def console_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(PersonalAccessToken.objects.select_related("user"), pk=token_id)
    try:
        token_revoke(user=request.user, token=token, ip=client_ip(request))
    except Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Token “{token.name}” of {token.user.email} revoked; it no longer works."
        )
    return redirect("console-tokens:list")
