"""The audit log: staff read every event, an organisation's owners read their own (members do
not). Both pages are filtered the same way, paged, and exported as CSV with the same filters."""

from __future__ import annotations

import csv
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from portal.access import customer_required, is_owner_of, restrict, staff_required
from portal.audit.models import AuditEvent
from portal.auditlog.selectors import CSV_HEADER, changes, csv_row, filtered, filters_from
from portal.customers.models import Customer

PER_PAGE = 50


def _events(
    request: HttpRequest, filters: dict[str, str], customer: Customer | None
) -> QuerySet[AuditEvent]:
    events = restrict(AuditEvent.objects.all(), request.user, customer=customer)
    return filtered(events.select_related("customer"), filters)


def _page(
    request: HttpRequest,
    events: QuerySet[AuditEvent],
    filters: dict[str, str],
    context: dict[str, Any],
) -> HttpResponse:
    page = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
    rows = [(event, changes(event)) for event in page.object_list]
    return render(
        request,
        "audit/events.html",
        {**context, "page": page, "rows": rows, "filters": filters},
    )


def _csv(events: QuerySet[AuditEvent], name: str) -> HttpResponse:
    """Every matching event, read from the database in chunks."""
    today = timezone.now().date().isoformat()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{name}-{today}.csv"'
    response["Cache-Control"] = "no-store"
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    for event in events.iterator(chunk_size=2000):
        writer.writerow(csv_row(event))
    return response


@staff_required
def console_audit(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request.GET, organisation=True)
    return _page(
        request,
        _events(request, filters, None),
        filters,
        {
            "csv_url": "audit:console-csv",
            "for_staff": True,
        },
    )


@staff_required
def console_audit_csv(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request.GET, organisation=True)
    return _csv(_events(request, filters, None).select_related(None), "all")


def _owner(request: HttpRequest, customer: Customer) -> None:
    if not is_owner_of(request.user, customer):
        raise PermissionDenied("Only the organisation's owners read its audit log.")


@customer_required
def app_audit(request: HttpRequest, customer: Customer) -> HttpResponse:
    _owner(request, customer)
    filters = filters_from(request.GET, organisation=False)
    return _page(
        request,
        _events(request, filters, customer),
        filters,
        {"customer": customer, "csv_url": "audit:app-csv", "for_staff": False},
    )


@customer_required
def app_audit_csv(request: HttpRequest, customer: Customer) -> HttpResponse:
    _owner(request, customer)
    filters = filters_from(request.GET, organisation=False)
    return _csv(_events(request, filters, customer).select_related(None), customer.slug)
