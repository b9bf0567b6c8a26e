from django.contrib import admin

from portal.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "target_repr", "ip")
    list_filter = ("action",)
    search_fields = ("target_repr", "actor__email")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
