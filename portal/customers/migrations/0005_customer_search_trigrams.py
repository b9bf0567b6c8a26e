"""Trigram indexes for the customer search (part of a name or slug, any case) on PostgreSQL.

`name__icontains` is `UPPER(name) LIKE UPPER('%…%')`: no B-tree helps, and at 10,000 customers
every search read the whole table. A GIN trigram index on the same expressions answers it from
the index. PostgreSQL only, and only where pg_trgm may be installed: SQLite (tests, the demo)
keeps scanning its few rows, and a database that refuses the extension keeps working, slower.
"""

from typing import Any

from django.db import DatabaseError, migrations, transaction

INDEXES = {
    "customer_name_trigrams": 'UPPER("name"::text)',
    "customer_slug_trigrams": 'UPPER("slug"::text)',
}


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            for name, expression in INDEXES.items():
                schema_editor.execute(
                    f"CREATE INDEX IF NOT EXISTS {name} ON customers_customer "
                    f"USING gin ({expression} gin_trgm_ops)"
                )
    except DatabaseError:
        return  # no pg_trgm here, or no right to install it: the search scans instead


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_customer_name_order")]

    operations = [migrations.RunPython(create, drop)]
