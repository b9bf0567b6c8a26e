from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from plans.forms import (
    BaseMethodThrottleFormSet,
    TierForm,
    method_suggestions,
    method_throttle_formset,
)
from plans.models import ApiStage, Plan
from plans.selectors import (
    active_subscription,
    customers_per_tier,
    latest_tier_request,
    tiers_offered,
)
from plans.services import plan_archive, plan_create, plan_update, subscription_switch
from plans.stages import (
    stage_set_available,
    stages_domains_unreadable,
    stages_refresh_requested,
    stages_refresh_requested_at,
)
from plans.views_approvals import confirm_leaving_approval_tier
from portal.access import (
    admin_required,
    customer_required,
    may_manage_organisation,
    owner_required,
    staff_required,
)
from portal.customers.models import Customer
from portal.forms import apply_service_errors, parse_id
from portal.http import HtmxHttpRequest, client_ip

# --- stages (console) -------------------------------------------------------------------------


@staff_required
def stage_list(request: HtmxHttpRequest) -> HttpResponse:
    stages = ApiStage.objects.select_related("connection").annotate(
        tier_count=Count("plans", filter=Q(plans__archived_at__isnull=True))
    )
    requested = stages_refresh_requested_at()
    last_seen = (
        ApiStage.objects.order_by("-last_seen_at").values_list("last_seen_at", flat=True).first()
    )
    discovering = bool(requested and (last_seen is None or last_seen < requested))
    template = "plans/_stage_table.html" if request.htmx else "plans/stages.html"
    return render(
        request,
        template,
        {
            "stages": stages,
            "discovering": discovering,
            "last_seen": last_seen,
            "domains_unreadable": stages_domains_unreadable(),
        },
    )


@admin_required
@require_POST
def stage_refresh(request: HttpRequest) -> HttpResponse:
    stages_refresh_requested(actor=request.user, ip=client_ip(request))
    messages.info(request, "Looking for REST API stages in AWS…")
    return redirect("console:stages")


@admin_required
@require_POST
def stage_availability(request: HttpRequest, stage_id: int) -> HttpResponse:
    stage = get_object_or_404(ApiStage, pk=stage_id)
    available = request.POST.get("available") == "1"
    try:
        stage_set_available(
            actor=request.user, stage=stage, available=available, ip=client_ip(request)
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"{stage} is {'now offered to tiers' if available else 'no longer offered'}."
        )
    return redirect("console:stages")


# --- tiers (console) --------------------------------------------------------------------------


@staff_required
def tier_list(request: HttpRequest) -> HttpResponse:
    show_archived = request.GET.get("archived") == "1"
    plans = Plan.objects.prefetch_related("stages__connection", "copies__connection").order_by(
        F("archived_at").asc(nulls_first=True), F("monthly_price").asc(nulls_first=True), "name"
    )
    if not show_archived:
        plans = plans.filter(archived_at__isnull=True)
    counts = customers_per_tier()
    tiers = list(plans)
    for tier in tiers:
        tier.customer_count = counts.get(tier.pk, 0)  # type: ignore[attr-defined]
    return render(
        request,
        "plans/tiers.html",
        {
            "plans": tiers,
            "show_archived": show_archived,
            "no_stages": not ApiStage.objects.filter(available=True).exists(),
        },
    )


@admin_required
def tier_create(request: HttpRequest) -> HttpResponse:
    form = TierForm(request.POST or None)
    throttles = method_throttle_formset(request.POST or None, form, None)
    if request.method == "POST" and _both_valid(form, throttles):
        try:
            plan = plan_create(
                actor=request.user,
                data=form.tier_data(),
                stages=form.cleaned_data["stages"],
                method_throttles=throttles.throttles_data(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            _show_service_errors(form, throttles, exc)
        else:
            messages.success(request, f"Tier “{plan.name}” created; sending it to API Gateway.")
            return redirect("console:tiers")
    return _tier_form_page(request, form, throttles, None)


def _both_valid(form: TierForm, throttles: BaseMethodThrottleFormSet) -> bool:
    return all([form.is_valid(), not throttles.is_bound or throttles.is_valid()])


def _show_service_errors(
    form: TierForm, throttles: BaseMethodThrottleFormSet, exc: ValidationError
) -> None:
    if hasattr(exc, "error_dict"):
        errors = exc.message_dict
        throttles.apply_service_errors(errors)
        rest = {k: v for k, v in errors.items() if not k.startswith("method_throttles.")}
        if rest:
            apply_service_errors(form, ValidationError(rest))
    else:
        apply_service_errors(form, exc)


def _tier_form_page(
    request: HttpRequest, form: TierForm, throttles: BaseMethodThrottleFormSet, plan: Plan | None
) -> HttpResponse:
    return render(
        request,
        "plans/tier_form.html",
        {
            "form": form,
            "plan": plan,
            "throttles": throttles,
            "method_suggestions": method_suggestions(form),
        },
    )


@admin_required
def tier_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_object_or_404(Plan, pk=plan_id)
    if plan.is_archived:
        messages.error(request, "This tier is archived; it can no longer be changed.")
        return redirect("console:tiers")
    form = TierForm(request.POST or None, instance=Plan.objects.get(pk=plan.pk))
    throttles = method_throttle_formset(request.POST or None, form, plan)
    if request.method == "POST" and _both_valid(form, throttles):
        try:
            plan = plan_update(
                actor=request.user,
                plan=plan,
                data=form.tier_data(),
                stages=form.cleaned_data["stages"],
                method_throttles=throttles.throttles_data(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            _show_service_errors(form, throttles, exc)
        else:
            messages.success(request, f"Tier “{plan.name}” saved.")
            return redirect("console:tiers")
    return _tier_form_page(request, form, throttles, plan)


@admin_required
@require_POST
def tier_archive(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_object_or_404(Plan, pk=plan_id)
    try:
        plan_archive(actor=request.user, plan=plan, ip=client_ip(request))
    except ValidationError as exc:
        messages.error(request, f"Could not archive “{plan.name}”: {' '.join(exc.messages)}")
    else:
        messages.success(request, f"Tier “{plan.name}” archived; removing it from API Gateway.")
    return redirect("console:tiers")


@admin_required
@require_POST
def customer_set_tier(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    plan_id = parse_id(request.POST.get("plan"))
    plan = Plan.objects.live().filter(pk=plan_id).first() if plan_id else None
    if plan is None:
        messages.error(request, "Choose a tier that is still offered.")
    else:
        try:
            subscription_switch(
                actor=request.user,
                customer=customer,
                plan=plan,
                ip=client_ip(request),
                by_staff=True,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{customer.name} moved to {plan.name}.")
    return redirect("console:customer", customer_id=customer.pk)


# --- the customer's tier ------------------------------------------------------------------------


@customer_required
def my_tier(request: HttpRequest, customer: Customer) -> HttpResponse:
    subscription = active_subscription(customer)
    plans = tiers_offered().prefetch_related("stages")
    return render(
        request,
        "plans/my_tier.html",
        {
            "customer": customer,
            "subscription": subscription,
            "plans": plans,
            # The approval workflow (plans/views_approvals.py): the last request and who may ask.
            "tier_request": latest_tier_request(customer),
            "may_request": may_manage_organisation(request.user, customer),
        },
    )


@owner_required
@require_POST
def my_tier_switch(request: HttpRequest, customer: Customer) -> HttpResponse:
    plan = tiers_offered().filter(slug=request.POST.get("plan", "")).first()
    if plan is None:
        messages.error(request, "That tier is not offered.")
        return redirect("app:tier")
    confirm = confirm_leaving_approval_tier(request, active_subscription(customer), plan)
    if confirm is not None:
        return confirm
    try:
        subscription_switch(actor=request.user, customer=customer, plan=plan, ip=client_ip(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("app:tier")
    messages.success(request, f"You are now on the {plan.name} tier; your keys are moving to it.")
    return redirect("app:keys")
