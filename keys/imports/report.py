"""The report of an import: every row and what became of it, as CSV."""

from __future__ import annotations

import csv
import io

from keys.models import KeyImport

REPORT_COLUMNS = ["line", "customer", "name", "status", "message", "key_prefix", "api_key_id"]


def report_csv(imp: KeyImport) -> str:
    """Every row and what became of it; no secret (only the 5-character prefix)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    for row in imp.rows.select_related("key").order_by("line").iterator(chunk_size=2000):
        writer.writerow(
            [
                row.line,
                row.customer_ref,
                row.name,
                row.status,
                row.message,
                row.display_prefix,
                row.key.aws_id if row.key else "",
            ]
        )
    return out.getvalue()
