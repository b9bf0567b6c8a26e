"""Pages of the approval workflow: an owner asks for an approval-only tier (and may withdraw),
staff see the queue in the console and admins approve or reject. Thin callers of plans.approvals,
the same services the REST API calls."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from plans.approvals import (
    tier_request_approve,
    tier_request_create,
    tier_request_reject,
    tier_request_withdraw,
)
from plans.models import MAX_TEXT, Plan, Subscription, TierRequest, TierRequestState
from plans.selectors import tier_request_queue, tiers_offered
from portal.access import admin_required, owner_required, restrict, staff_required
from portal.customers.models import Customer
from portal.errors import Refused
from portal.http import client_ip


def _refusal(exc: ValidationError | Refused) -> str:
    return exc.message if isinstance(exc, Refused) else " ".join(exc.messages)


# --- the customer's side (/app/tier/) -----------------------------------------------------------


@owner_required
def tier_request_new(request: HttpRequest, customer: Customer, slug: str) -> HttpResponse:
    """The form an owner sends to ask for an approval-only tier, with a message for the admins."""
    plan = tiers_offered().filter(slug=slug, self_serve=False).first()
    if plan is None:
        raise Http404("No approval-only tier by that name.")
    message, error = "", ""
    if request.method == "POST":
        message = request.POST.get("message", "")
        try:
            tier_request_create(
                actor=request.user,
                customer=customer,
                plan=plan,
                message=message,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            field_errors = exc.message_dict if hasattr(exc, "error_dict") else {}
            if "message" not in field_errors:
                messages.error(request, _refusal(exc))
                return redirect("app:tier")
            error = " ".join(field_errors["message"])
        except Refused as exc:
            messages.error(request, exc.message)
            return redirect("app:tier")
        else:
            messages.success(
                request,
                f"Request for the {plan.name} tier sent. An admin will answer by email; "
                "nothing changes for your keys until then.",
            )
            return redirect("app:tier")
    return render(
        request,
        "plans/tier_request_form.html",
        {
            "customer": customer,
            "plan": plan,
            "message": message,
            "error": error,
            "max_length": MAX_TEXT,
        },
    )


@owner_required
@require_POST
def tier_request_withdraw_page(
    request: HttpRequest, customer: Customer, request_id: int
) -> HttpResponse:
    tier_request = get_object_or_404(
        restrict(
            TierRequest.objects.select_related("customer", "plan"), request.user, customer=customer
        ),
        pk=request_id,
    )
    try:
        tier_request_withdraw(actor=request.user, request=tier_request, ip=client_ip(request))
    except Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Your request for the {tier_request.plan.name} tier is withdrawn."
        )
    return redirect("app:tier")


def confirm_leaving_approval_tier(
    request: HttpRequest, current: Subscription | None, plan: Plan
) -> HttpResponse | None:
    """Leaving an approval-only tier for a self-serve one is one click away from not being able
    to come back alone: the switch asks first (a page, then the same form with `confirmed`)."""
    if current is None or current.plan.self_serve or current.plan_id == plan.pk:
        return None
    if request.POST.get("confirmed") == "1":
        return None
    return render(
        request, "plans/tier_switch_confirm.html", {"current": current.plan, "plan": plan}
    )


# --- the console's queue (/console/tier-requests/) ----------------------------------------------

STATES = [
    ("pending", "Pending"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("withdrawn", "Withdrawn"),
    ("all", "All"),
]


@staff_required
def tier_request_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", TierRequestState.PENDING)
    if state not in {*TierRequestState.values, "all"}:
        state = TierRequestState.PENDING
    requests = tier_request_queue("" if state == "all" else state)[:200]
    return render(
        request,
        "plans/tier_requests.html",
        {"requests": requests, "state": state, "states": STATES, "max_length": MAX_TEXT},
    )


def _queued(request_id: int) -> TierRequest:
    return get_object_or_404(TierRequest.objects.select_related("customer", "plan"), pk=request_id)


@admin_required
@require_POST
def tier_request_approve_page(request: HttpRequest, request_id: int) -> HttpResponse:
    tier_request = _queued(request_id)
    try:
        tier_request_approve(actor=request.user, request=tier_request, ip=client_ip(request))
    except (ValidationError, Refused) as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(
            request,
            f"Approved: {tier_request.customer.name} is on {tier_request.plan.name}; its keys are "
            "moving to the tier's usage plan.",
        )
    return redirect("console:tier-requests")


@admin_required
@require_POST
def tier_request_reject_page(request: HttpRequest, request_id: int) -> HttpResponse:
    tier_request = _queued(request_id)
    try:
        tier_request_reject(
            actor=request.user,
            request=tier_request,
            reason=request.POST.get("reason", ""),
            ip=client_ip(request),
        )
    except (ValidationError, Refused) as exc:
        messages.error(request, f"Not rejected: {_refusal(exc)}")
    else:
        messages.success(
            request,
            f"Rejected {tier_request.customer.name}'s request for {tier_request.plan.name}.",
        )
    return redirect("console:tier-requests")
