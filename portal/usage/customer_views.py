"""Usage pages: a customer's own (with a CSV export), and the same page for staff in the console,
where admins may grant a key extra quota for the current period."""

from __future__ import annotations

import csv
import datetime
import io

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from keys.models import ApiKey
from plans.selectors import active_subscription
from portal.access import admin_required, customer_required, staff_required
from portal.customers.models import Customer
from portal.http import client_ip
from portal.usage.periods import resets_at
from portal.usage.quota import ExtraQuotaRefused, grant_extra_quota
from portal.usage.selectors import SERIES_DAYS, customer_usage, usage_rows_for_csv

MAX_EXTRA = 2_147_483_647  # API Gateway's quotas are 32-bit integers


@customer_required
def usage_page(request: HttpRequest, customer: Customer) -> HttpResponse:
    return render(
        request,
        "usage/usage.html",
        {"customer": customer, "usage": customer_usage(customer), "can_grant": False},
    )


@customer_required
def usage_csv(request: HttpRequest, customer: Customer) -> HttpResponse:
    """The last 30 days of the customer's own keys, one row per key, day and region with
    requests."""
    today = timezone.now().date()
    start = today - datetime.timedelta(days=SERIES_DAYS - 1)
    body = io.StringIO()
    writer = csv.writer(body)
    writer.writerow(["date", "key", "requests", "remaining", "region"])
    writer.writerows(
        (day.isoformat(), key, requests, "" if remaining is None else remaining, where)
        for day, key, requests, remaining, where in usage_rows_for_csv(customer, start, today)
    )
    response = HttpResponse(body.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="usage-{customer.slug}-{today.isoformat()}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_required
def console_customer_usage(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    return render(
        request,
        "usage/console_customer_usage.html",
        {
            "customer": customer,
            "usage": customer_usage(customer),
            "can_grant": request.user.is_tollgate_admin,  # type: ignore[union-attr]
        },
    )


def parse_extra(raw: str) -> tuple[int | None, str | None]:
    """The number of extra requests typed in the form, or the reason it is not one."""
    text = raw.strip().replace(",", "").replace("_", "").replace(" ", "")
    if not text:
        return None, "Enter how many extra requests to grant, such as 5000."
    if not text.lstrip("-+").isdecimal():
        return None, f"“{raw.strip()}” is not a whole number of requests; enter one such as 5000."
    extra = int(text)
    if extra < 1:
        return None, "Grant at least 1 extra request."
    if extra > MAX_EXTRA:
        return None, "Grant at most 2,147,483,647 extra requests: API Gateway's quota limit."
    return extra, None


@admin_required
@require_POST
def grant_quota(request: HttpRequest, customer_id: int, key_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id)
    key = get_object_or_404(ApiKey.objects.select_related("customer"), pk=key_id, customer=customer)
    extra, problem = parse_extra(request.POST.get("extra", ""))
    if extra is None:
        messages.error(request, f"Key “{key.name}”: {problem}")
        return redirect("console:customer-usage", customer_id=customer.pk)
    try:
        remaining = grant_extra_quota(
            actor=request.user, key=key, extra=extra, ip=client_ip(request)
        )
    except ExtraQuotaRefused as exc:
        messages.error(request, f"Key “{key.name}”: {exc}")
        return redirect("console:customer-usage", customer_id=customer.pk)
    subscription = active_subscription(customer)
    plan = subscription.plan if subscription else None
    until = "the quota resets"
    if plan is not None and plan.quota_period:
        reset = resets_at(plan.quota_period, timezone.now().date())
        until = f"{reset:%a} {reset.day} {reset:%b}, {reset:%H:%M} UTC"
    messages.success(
        request,
        f"Key “{key.name}” may make {remaining:,} more requests until {until} "
        f"({extra:,} extra granted).",
    )
    return redirect("console:customer-usage", customer_id=customer.pk)
