"""A trigram index for the staff key search by part of a name, on PostgreSQL.

`name__icontains` is `UPPER(name) LIKE UPPER('%…%')`: no B-tree helps, and the search's OR of
name, display prefix and API Gateway id read all 50,000 keys (22-38 ms) unless every branch had
an index (0009 has the other two). PostgreSQL only, as customers 0005: where pg_trgm cannot be
installed the search scans, slower.
"""

from typing import Any

from django.db import DatabaseError, migrations, transaction

INDEX = "apikey_name_trigrams"


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON keys_apikey "
                'USING gin (UPPER("name"::text) gin_trgm_ops)'
            )
    except DatabaseError:
        return  # no pg_trgm here, or no right to install it: the search scans instead


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("keys", "0009_key_search_indexes")]

    operations = [migrations.RunPython(create, drop)]
