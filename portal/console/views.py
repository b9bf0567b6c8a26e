from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from keys.models import ApiKey
from keys.services import key_retry_sync
from plans.models import Plan, Subscription
from plans.services import plan_retry_sync
from portal.access import admin_required, staff_required
from portal.customers.models import Customer
from portal.http import HtmxHttpRequest, client_ip
from portal.reconcile.selectors import status_counts, unsettled_keys, unsettled_tiers
from portal.sync import SyncState, SyncStatus

SYNCED_KINDS: dict[str, type[SyncState]] = {"tier": Plan, "key": ApiKey}


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("catalog:pricing")  # a visitor sees what is on offer, and signs up there
    if request.user.is_tollgate_staff:
        return redirect("console:overview")
    return redirect("app:keys")


@staff_required
def overview(request: HttpRequest) -> HttpResponse:
    attention_keys = unsettled_keys()[:50]
    attention_plans = unsettled_tiers()
    return render(
        request,
        "console/overview.html",
        {
            "tier_counts": status_counts(Plan),
            "key_counts": status_counts(ApiKey),
            "customer_total": Customer.objects.count(),
            "attention_keys": attention_keys,
            "attention_plans": attention_plans,
        },
    )


@staff_required
def customer_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    customers = Customer.objects.annotate(
        key_count=Count("api_keys", filter=Q(api_keys__revoked_at__isnull=True), distinct=True),
        failed_keys=Count(
            "api_keys",
            filter=Q(api_keys__revoked_at__isnull=True, api_keys__sync_status=SyncStatus.FAILED),
            distinct=True,
        ),
        pending_keys=Count(
            "api_keys",
            filter=Q(api_keys__revoked_at__isnull=True, api_keys__sync_status=SyncStatus.PENDING),
            distinct=True,
        ),
    ).prefetch_related(
        Prefetch(
            "subscriptions",
            queryset=Subscription.objects.active().select_related("plan"),
            to_attr="active_subscriptions",
        )
    )
    if query:
        customers = customers.filter(Q(name__icontains=query) | Q(slug__icontains=query))
    return render(request, "console/customers.html", {"customers": customers[:500], "query": query})


@staff_required
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    subscriptions = customer.subscriptions.select_related("plan").order_by("-created_at")
    active = next((s for s in subscriptions if s.is_active), None)
    return render(
        request,
        "console/customer_detail.html",
        {
            "customer": customer,
            "members": customer.memberships.select_related("user"),
            "invitations": customer.invitations.filter(accepted_at__isnull=True)[:10],
            "subscriptions": subscriptions,
            "active": active,
            "keys": ApiKey.objects.filter(customer=customer)
            .prefetch_related("copies__connection")
            .order_by("revoked_at", "-created_at"),
            "plans": Plan.objects.live(),
        },
    )


def _synced_object(kind: str, object_id: int) -> SyncState:
    model = SYNCED_KINDS.get(kind)
    if model is None:
        raise Http404
    return get_object_or_404(model, pk=object_id)


@never_cache
@staff_required
def sync_status(request: HttpRequest, kind: str, object_id: int) -> HttpResponse:
    """The htmx-polled status badge of one synced object."""
    obj = _synced_object(kind, object_id)
    return render(request, "partials/sync_status.html", {"obj": obj, "kind": kind})


@admin_required
@require_POST
def sync_retry(request: HtmxHttpRequest, kind: str, object_id: int) -> HttpResponse:
    obj = _synced_object(kind, object_id)
    if isinstance(obj, Plan):
        plan_retry_sync(actor=request.user, plan=obj, ip=client_ip(request))
    elif isinstance(obj, ApiKey):
        key_retry_sync(actor=request.user, key=obj, ip=client_ip(request))
    obj.refresh_from_db()
    if request.htmx:
        return render(request, "partials/sync_status.html", {"obj": obj, "kind": kind})
    return redirect("console:overview")
