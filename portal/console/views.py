from typing import cast

from django.core.cache import cache
from django.db.models import Count, Prefetch, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from keys.api.filters import KEY_TROUBLE, CustomerListFilter
from keys.models import ApiKey
from keys.selectors import KeyFigures, key_figures_for, key_page
from keys.services import key_retry_sync
from plans.models import Plan, Subscription
from plans.services import plan_retry_sync
from portal.access import admin_required, staff_required
from portal.customers.models import Customer
from portal.customers.selectors import BadCursor, customer_page
from portal.http import HtmxHttpRequest, client_ip
from portal.reconcile.selectors import unsettled_keys, unsettled_tiers
from portal.sync import SyncState, SyncStatus

SYNCED_KINDS: dict[str, type[SyncState]] = {"tier": Plan, "key": ApiKey}
NO_TIER = "none"  # the customer list's "No active tier" choice


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("catalog:pricing")  # a visitor sees what is on offer, and signs up there
    if request.user.is_tollgate_staff:
        return redirect("console:overview")
    return redirect("app:keys")


# The overview's totals are counted at most once a minute: a count of every key grows with the
# keys, and "about 50,000 in AWS" need not be exact to the second. What needs attention (pending,
# failed, drifted) is counted on every view, from the sync-status index, over those rows only.
TOTALS_CACHE_KEY = "console:overview-totals"
TOTALS_SECONDS = 60
TROUBLE = (SyncStatus.PENDING, SyncStatus.FAILED, SyncStatus.DRIFTED)
ATTENTION_ROWS = 20


def _trouble_counts(model: type[SyncState]) -> dict[str, int]:
    rows = (
        model._default_manager.filter(sync_status__in=TROUBLE)
        .values("sync_status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    found = {row["sync_status"]: row["n"] for row in rows}
    return {status: found.get(status, 0) for status in TROUBLE}


def _totals() -> dict[str, int]:
    def count() -> dict[str, int]:
        return {"customers": Customer.objects.count(), "keys": ApiKey.objects.count()}

    return cast(dict[str, int], cache.get_or_set(TOTALS_CACHE_KEY, count, TOTALS_SECONDS))


@staff_required
def overview(request: HttpRequest) -> HttpResponse:
    totals = _totals()
    tier_counts = _trouble_counts(Plan)
    key_counts = _trouble_counts(ApiKey)
    return render(
        request,
        "console/overview.html",
        {
            "tier_counts": tier_counts,
            "tier_total": Plan.objects.count(),  # a few dozen at most
            "key_counts": key_counts,
            "key_total": totals["keys"],
            "customer_total": totals["customers"],
            # The first few; the counts above link to every customer with such keys.
            "attention_keys": unsettled_keys()[:ATTENTION_ROWS],
            "attention_plans": unsettled_tiers(),
        },
    )


CUSTOMERS_PER_PAGE = 50
COUNT_CAP = 1000  # "more than 1,000 customers found" is as useful as the exact figure


def _customer_filters(request: HttpRequest) -> CustomerListFilter:
    """The list's form, in the REST API's words (keys.api.filters.CustomerListFilter): one
    select says "tier", and its last choice, no tier at all, is `has_tier=false` there."""
    params = request.GET.copy()
    if params.get("tier") == NO_TIER:
        params.pop("tier")
        params["has_tier"] = "false"
    return CustomerListFilter(params, queryset=Customer.objects.all())


@staff_required
def customer_list(request: HttpRequest) -> HttpResponse:
    filters = _customer_filters(request)
    errors: list[str] = []
    if filters.is_valid():
        customers = filters.qs
    else:
        errors = [message for found in filters.errors.values() for message in found]
        customers = Customer.objects.all()
    try:
        page = customer_page(
            customers,
            after=request.GET.get("after"),
            before=request.GET.get("before"),
            size=CUSTOMERS_PER_PAGE,
        )
    except BadCursor:
        errors.append("That page link is damaged or cut short: here is the first page.")
        page = customer_page(customers, size=CUSTOMERS_PER_PAGE)
    # The figures of this page's customers only: two queries however many customers there are.
    prefetch_related_objects(
        page.customers,
        Prefetch(
            "subscriptions",
            queryset=Subscription.objects.active().select_related("plan"),
            to_attr="active_subscriptions",
        ),
    )
    figures = key_figures_for([customer.pk for customer in page.customers])
    rows = [(customer, figures.get(customer.pk, KeyFigures())) for customer in page.customers]
    filtered = filters.is_valid() and any(
        value not in (None, "") for value in filters.form.cleaned_data.values()
    )
    # Counting every match costs what reading them all does: matches are counted up to a bound,
    # everyone from the overview's totals (counted once a minute).
    total = customers.order_by()[: COUNT_CAP + 1].count() if filtered else _totals()["customers"]
    # The position is the page's own: a new search or filter starts again at the first page.
    kept = request.GET.copy()
    for position in ("after", "before"):
        kept.pop(position, None)
    return render(
        request,
        "console/customers.html",
        {
            "rows": rows,
            "page": page,
            "total": total,
            "total_capped": filtered and total > COUNT_CAP,
            "errors": errors,
            "search": request.GET.get("search", "").strip(),
            "tier": request.GET.get("tier", ""),
            "key_sync_status": request.GET.get("key_sync_status", ""),
            "tiers": Plan.objects.order_by("name"),
            "no_tier": NO_TIER,
            "key_trouble": KEY_TROUBLE,
            "filtered": filtered,
            "kept": kept.urlencode(),
        },
        status=400 if errors else 200,
    )


@staff_required
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    subscriptions = customer.subscriptions.select_related("plan").order_by("-created_at")
    active = next((s for s in subscriptions if s.is_active), None)
    keys = key_page(
        ApiKey.objects.filter(customer=customer).prefetch_related("copies__connection"),
        request.GET.get("keys_page"),
    )
    return render(
        request,
        "console/customer_detail.html",
        {
            "customer": customer,
            "members": customer.memberships.select_related("user"),
            "invitations": customer.invitations.filter(accepted_at__isnull=True)[:10],
            "subscriptions": subscriptions,
            "active": active,
            "keys": keys,
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
