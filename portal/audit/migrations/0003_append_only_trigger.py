"""Fill the new columns of existing events, then make the table append-only on PostgreSQL.

The trigger refuses every UPDATE and DELETE of an audit row, with no exception: deleting a
person or an organisation never touches their events (no FK constraint, no on_delete action,
the person's email copied into `actor_email`), so nothing legitimate ever changes a row.
TRUNCATE (a test database being flushed, a deliberate wipe by the database owner) is not a row
trigger's business. SQLite gets the same rule in code (AuditEvent.save/delete, its queryset).
"""

from django.db import migrations
from django.db.models import OuterRef, Subquery

CREATE = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_auditevent_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_append_only();
"""


def backfill(apps, schema_editor):
    """Before the trigger exists: the actor's email, and the organisation of events about one."""
    event = apps.get_model("audit", "AuditEvent")
    user = apps.get_model("accounts", "User")
    email = user.objects.filter(pk=OuterRef("actor_id")).values("email")[:1]
    event.objects.filter(actor_id__isnull=False).update(actor_email=Subquery(email))
    for row in event.objects.filter(target_type="customers.customer").only("pk", "target_id"):
        if row.target_id.isdigit():
            event.objects.filter(pk=row.pk).update(customer_id=int(row.target_id))


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)  # no placeholders: % is plpgsql


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_with_organisation"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
