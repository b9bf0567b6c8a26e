"""The console's bulk onboarding pages: upload a CSV of existing keys, watch it, get the report."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from keys.imports.checking import MAX_BYTES, MAX_ROWS, FileRefused
from keys.imports.report import report_csv
from keys.imports.starting import CHUNK_SIZE, is_stalled, resume_import, start_import
from keys.models import KeyImport, KeyImportRowStatus
from portal.access import admin_required, staff_required
from portal.http import client_ip

SHOWN_PROBLEMS = 500


def _form_page(
    request: HttpRequest, *, error: str = "", refused: list[object] | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "keys/key_import.html",
        {
            "imp": None,
            "error": error,
            "refused_rows": (refused or [])[:SHOWN_PROBLEMS],
            "refused_total": len(refused or []),
            "recent": KeyImport.objects.select_related("created_by")[:10],
            "max_rows": MAX_ROWS,
            "chunk_size": CHUNK_SIZE,
        },
        status=status,
    )


@admin_required
@sensitive_variables()
def key_import(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _form_page(request)
    upload = request.FILES.get("file")
    if upload is None:
        return _form_page(request, error="Choose a CSV file to upload.", status=400)
    if upload.size is not None and upload.size > MAX_BYTES:
        return _form_page(
            request,
            error=f"The file is {upload.size / 1024 / 1024:.1f} MB; import at most 2 MB "
            f"({MAX_ROWS:,} rows) at a time: split it.",
            status=400,
        )
    try:
        imp, checked = start_import(
            actor=request.user,
            data=upload.read(),
            file_name=upload.name or "",
            ip=client_ip(request),
        )
    except FileRefused as exc:
        bad = [row for row in exc.rows if not row.ok]
        return _form_page(request, error=exc.message, refused=list(bad), status=400)
    skipped = len(checked.bad)
    note = (
        f" {skipped} row{'s' if skipped != 1 else ''} with problems "
        f"{'were' if skipped != 1 else 'was'} skipped: see below."
        if skipped
        else ""
    )
    messages.success(
        request, f"{imp.total} key{'s' if imp.total != 1 else ''} queued for API Gateway.{note}"
    )
    return redirect("console:key-import-detail", import_id=imp.pk)


def _progress_context(imp: KeyImport) -> dict[str, object]:
    problems = imp.rows.filter(
        status__in=[KeyImportRowStatus.FAILED, KeyImportRowStatus.SKIPPED]
    ).order_by("line")
    return {
        "imp": imp,
        "problems": problems[:SHOWN_PROBLEMS],
        "problem_total": imp.failed + imp.skipped,
        "stalled": is_stalled(imp),
    }


@staff_required
def key_import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    imp = get_object_or_404(KeyImport, pk=import_id)
    return render(request, "keys/key_import.html", _progress_context(imp))


@staff_required
@never_cache
def key_import_progress(request: HttpRequest, import_id: int) -> HttpResponse:
    imp = get_object_or_404(KeyImport, pk=import_id)
    return render(request, "keys/_key_import_progress.html", _progress_context(imp))


@staff_required
@never_cache
def key_import_report(request: HttpRequest, import_id: int) -> HttpResponse:
    imp = get_object_or_404(KeyImport, pk=import_id)
    response = HttpResponse(report_csv(imp), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="key-import-{imp.pk}-report.csv"'
    return response


@admin_required
@require_POST
def key_import_resume(request: HttpRequest, import_id: int) -> HttpResponse:
    imp = get_object_or_404(KeyImport, pk=import_id)
    if imp.is_active:
        resume_import(actor=request.user, imp=imp, ip=client_ip(request))
        messages.info(request, "Sent the import to a worker again.")
    return redirect("console:key-import-detail", import_id=imp.pk)
