"""Mounted at the root by portal.urls: the console's page under /console/, owners' under /app/."""

from django.urls import path

from portal.auditlog import views

app_name = "audit"
urlpatterns = [
    path("console/audit/", views.console_audit, name="console"),
    path("console/audit.csv", views.console_audit_csv, name="console-csv"),
    path("app/audit/", views.app_audit, name="app"),
    path("app/audit.csv", views.app_audit_csv, name="app-csv"),
]
