from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from keys.models import ApiKey
from plans.models import Plan
from portal.access import admin_required, staff_required
from portal.customers.models import Customer
from portal.forms import parse_id
from portal.http import client_ip
from portal.reconcile.adoption import adopt_usage_plan
from portal.reconcile.drift import drift_accept_aws, drift_push_ours
from portal.reconcile.selectors import drift_rows, latest_run, unsettled_keys, unsettled_tiers
from portal.reconcile.services import reconcile_requested
from portal.sync import SyncState

KINDS: dict[str, type[SyncState]] = {"tier": Plan, "key": ApiKey}


@staff_required
def drift_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reconcile/drift.html",
        {
            "drifted": drift_rows(),
            "unsettled_tiers": unsettled_tiers(),
            "unsettled_keys": unsettled_keys()[:200],
            "run": latest_run(),
        },
    )


def _drifted_object(kind: str, object_id: int) -> SyncState:
    model = KINDS.get(kind)
    if model is None:
        raise Http404
    return get_object_or_404(model, pk=object_id)


@admin_required
@require_POST
def drift_settle(request: HttpRequest, kind: str, object_id: int, side: str) -> HttpResponse:
    obj = _drifted_object(kind, object_id)
    settle = {"ours": drift_push_ours, "aws": drift_accept_aws}.get(side)
    if settle is None:
        raise Http404
    try:
        settle(actor=request.user, obj=obj, ip=client_ip(request))
    except ValidationError as exc:
        messages.error(request, f"{obj}: {' '.join(exc.messages)}")
    else:
        messages.success(
            request,
            f"{obj}: pushing Tollgate's values to AWS."
            if side == "ours"
            else f"{obj}: AWS's values are now Tollgate's.",
        )
    return redirect("console:drift")


@admin_required
@require_POST
def reconcile_now(request: HttpRequest) -> HttpResponse:
    reconcile_requested(actor=request.user, ip=client_ip(request))
    messages.info(request, "Comparing Tollgate with API Gateway; reload in a moment.")
    return redirect("console:drift")


@staff_required
def import_page(request: HttpRequest) -> HttpResponse:
    run = latest_run()
    return render(
        request,
        "reconcile/import.html",
        {
            "run": run,
            "foreign_plans": run.foreign_usage_plans if run else [],
            "customers": Customer.objects.order_by("name"),
        },
    )


@admin_required
@require_POST
def import_usage_plan(request: HttpRequest, aws_plan_id: str) -> HttpResponse:
    customer_id = parse_id(request.POST.get("customer"))
    customer = Customer.objects.filter(pk=customer_id).first() if customer_id else None
    # Where the last reconcile found it (the import page's hidden fields); else adoption asks.
    region = request.POST.get("region", "").strip()
    where = (parse_id(request.POST.get("connection")), region) if region else None
    try:
        result = adopt_usage_plan(
            actor=request.user,
            aws_plan_id=aws_plan_id,
            customer=customer,
            new_customer_name=request.POST.get("new_customer", "") if customer is None else "",
            tier_name=request.POST.get("tier_name", ""),
            where=where,
            ip=client_ip(request),
        )
    except ValidationError as exc:
        messages.error(
            request, f"Usage plan {aws_plan_id} was not imported: {' '.join(exc.messages)}"
        )
        return redirect("console:import")
    messages.success(
        request,
        f"Usage plan {aws_plan_id} is now the tier “{result.plan.name}”; "
        f"{result.keys_imported} keys belong to {result.customer.name}.",
    )
    return redirect("console:customer", customer_id=result.customer.pk)
