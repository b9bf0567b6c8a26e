"""The console's AWS connection pages: staff read them, admins change them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.access import admin_required, staff_required
from portal.connections.capacity import warnings_by_connection
from portal.connections.forms import ConnectionForm
from portal.connections.models import AwsConnection, CheckStatus
from portal.connections.services import (
    connection_check_requested,
    connection_create,
    connection_default,
    connection_delete,
    connection_update,
)
from portal.errors import Refused
from portal.forms import apply_service_errors
from portal.http import HtmxHttpRequest, client_ip


@staff_required
def connection_list(request: HttpRequest) -> HttpResponse:
    connection_default()  # the first one, from the settings, if there is none yet
    connections = AwsConnection.objects.all()
    checking = any(c.check_status == CheckStatus.CHECKING for c in connections)
    return render(
        request,
        "connections/connections.html",
        {
            "connections": connections,
            "checking": checking,
            "capacity_warnings": warnings_by_connection(),
        },
    )


@staff_required
def connection_detail(request: HtmxHttpRequest, connection_id: int) -> HttpResponse:
    connection = get_object_or_404(AwsConnection, pk=connection_id)
    template = "connections/_report.html" if request.htmx else "connections/connection.html"
    return render(request, template, {"connection": connection})


@admin_required
def connection_create_page(request: HttpRequest) -> HttpResponse:
    form = ConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            connection = connection_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                role_arn=form.cleaned_data["role_arn"],
                external_id=form.cleaned_data["external_id"],
                regions=form.region_list(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Connection “{connection.name}” added; checking it…")
            return redirect("console:connection", connection.pk)
    return render(request, "connections/connection_form.html", {"form": form, "connection": None})


@admin_required
def connection_edit(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = get_object_or_404(AwsConnection, pk=connection_id)
    form = ConnectionForm.for_connection(connection, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            connection_update(
                actor=request.user,
                connection=connection,
                name=form.cleaned_data["name"],
                role_arn=form.cleaned_data["role_arn"],
                external_id=form.cleaned_data["external_id"],
                regions=form.region_list(),
                make_default=form.cleaned_data["make_default"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Connection “{connection.name}” saved.")
            return redirect("console:connection", connection.pk)
    return render(
        request, "connections/connection_form.html", {"form": form, "connection": connection}
    )


@admin_required
@require_POST
def connection_check_page(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = get_object_or_404(AwsConnection, pk=connection_id)
    connection_check_requested(actor=request.user, connection=connection, ip=client_ip(request))
    messages.info(request, f"Checking “{connection.name}” in AWS…")
    return redirect("console:connection", connection.pk)


@admin_required
@require_POST
def connection_delete_page(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = get_object_or_404(AwsConnection, pk=connection_id)
    try:
        connection_delete(actor=request.user, connection=connection, ip=client_ip(request))
    except Refused as exc:
        messages.error(request, exc.message)
        return redirect("console:connection", connection.pk)
    messages.success(request, f"Connection “{connection.name}” deleted.")
    return redirect("console:connections")
