"""The console's bulk tier moves: choose the tiers, see what it costs in AWS, watch it run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from plans.models import Plan, TierMove
from plans.move_estimate import MoveEstimate, move_estimate
from plans.moves import (
    is_stalled,
    move_problems,
    recent_moves,
    refuse_move,
    tier_move_cancel,
    tier_move_resume,
    tier_move_start,
)
from portal.access import admin_required, staff_required
from portal.errors import Refused
from portal.forms import apply_service_errors
from portal.http import client_ip


class TierMoveForm(forms.Form):
    from_tier = forms.ModelChoiceField(
        queryset=Plan.objects.live().order_by("name"),
        to_field_name="slug",
        label="Move every customer on",
        error_messages={"invalid_choice": "Choose a live tier to move customers from."},
    )
    to_tier = forms.ModelChoiceField(
        queryset=Plan.objects.live().order_by("name"),
        to_field_name="slug",
        label="to",
        error_messages={"invalid_choice": "Choose a live tier to move customers to."},
    )


@staff_required
def tier_move_list(request: HttpRequest) -> HttpResponse:
    return render(request, "plans/tier_moves.html", {"moves": recent_moves()})


def _form_page(
    request: HttpRequest,
    form: TierMoveForm,
    estimate: MoveEstimate | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "plans/tier_move_form.html",
        {"form": form, "estimate": estimate},
        status=status,
    )


@admin_required
def tier_move_new(request: HttpRequest) -> HttpResponse:
    """GET: the form, and with both tiers chosen what the move would do; POST: start it."""
    if request.method == "POST":
        form = TierMoveForm(request.POST)
        if not form.is_valid():
            return _form_page(request, form, status=400)
        try:
            move = tier_move_start(
                actor=request.user,
                from_plan=form.cleaned_data["from_tier"],
                to_plan=form.cleaned_data["to_tier"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return _form_page(request, form, status=400)
        except Refused as exc:
            form.add_error(None, exc.message)
            return _form_page(request, form, status=exc.status)
        messages.success(
            request,
            f"Moving {move.customers_total:,} customer{pluralize(move.customers_total)} from "
            f"{move.from_plan.name} to {move.to_plan.name}.",
        )
        return redirect("console:tier-move", move_id=move.pk)
    chosen = "from_tier" in request.GET and "to_tier" in request.GET
    form = TierMoveForm(
        request.GET if chosen else None, initial={"from_tier": request.GET.get("from_tier")}
    )
    estimate = None
    if chosen and form.is_valid():
        from_plan, to_plan = form.cleaned_data["from_tier"], form.cleaned_data["to_tier"]
        try:
            refuse_move(from_plan=from_plan, to_plan=to_plan)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except Refused as exc:
            form.add_error(None, exc.message)
        else:
            estimate = move_estimate(from_plan, to_plan)
    return _form_page(request, form, estimate)


def _progress_context(move: TierMove) -> dict[str, object]:
    return {"move": move, "problems": move_problems(move), "stalled": is_stalled(move)}


def _move(move_id: int) -> TierMove:
    return get_object_or_404(
        TierMove.objects.select_related("from_plan", "to_plan", "created_by"), pk=move_id
    )


@staff_required
def tier_move_detail(request: HttpRequest, move_id: int) -> HttpResponse:
    return render(request, "plans/tier_move.html", _progress_context(_move(move_id)))


@staff_required
@never_cache
def tier_move_progress(request: HttpRequest, move_id: int) -> HttpResponse:
    return render(request, "plans/_tier_move_progress.html", _progress_context(_move(move_id)))


def _act_on_move(
    request: HttpRequest, move_id: int, act: Callable[..., Any], done: str
) -> HttpResponse:
    """A button on a move's page: the service, then its message or its refusal's."""
    move = _move(move_id)
    try:
        act(actor=request.user, move=move, ip=client_ip(request))
    except Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, done)
    return redirect("console:tier-move", move_id=move.pk)


@admin_required
@require_POST
def tier_move_cancel_page(request: HttpRequest, move_id: int) -> HttpResponse:
    return _act_on_move(
        request,
        move_id,
        tier_move_cancel,
        "Move cancelled: the customers already moved stay on the new tier.",
    )


@admin_required
@require_POST
def tier_move_resume_page(request: HttpRequest, move_id: int) -> HttpResponse:
    return _act_on_move(request, move_id, tier_move_resume, "Sent the move to a worker again.")
