"""The staff console: admins change things, ops read."""

from django.urls import path

from keys import views_console as key_views
from plans import views as plan_views
from plans import views_approvals as approval_views
from plans import views_moves as move_views
from portal.connections import views as connection_views
from portal.console import capacity as capacity_views
from portal.console import views
from portal.reconcile import views as reconcile_views
from portal.usage import customer_views as usage_views
from portal.usage import views as metrics_views

app_name = "console"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("stages/", plan_views.stage_list, name="stages"),
    path("stages/refresh/", plan_views.stage_refresh, name="stage-refresh"),
    path(
        "stages/<int:stage_id>/availability/",
        plan_views.stage_availability,
        name="stage-availability",
    ),
    path("connections/", connection_views.connection_list, name="connections"),
    path("capacity/", capacity_views.capacity, name="capacity"),
    path("connections/new/", connection_views.connection_create_page, name="connection-create"),
    path(
        "connections/<int:connection_id>/",
        connection_views.connection_detail,
        name="connection",
    ),
    path(
        "connections/<int:connection_id>/edit/",
        connection_views.connection_edit,
        name="connection-edit",
    ),
    path(
        "connections/<int:connection_id>/check/",
        connection_views.connection_check_page,
        name="connection-check",
    ),
    path(
        "connections/<int:connection_id>/delete/",
        connection_views.connection_delete_page,
        name="connection-delete",
    ),
    path("tiers/", plan_views.tier_list, name="tiers"),
    path("tiers/new/", plan_views.tier_create, name="tier-create"),
    path("tiers/<int:plan_id>/edit/", plan_views.tier_edit, name="tier-edit"),
    path("tiers/<int:plan_id>/archive/", plan_views.tier_archive, name="tier-archive"),
    path("tiers/moves/", move_views.tier_move_list, name="tier-moves"),
    path("tiers/moves/new/", move_views.tier_move_new, name="tier-move-new"),
    path("tiers/moves/<int:move_id>/", move_views.tier_move_detail, name="tier-move"),
    path(
        "tiers/moves/<int:move_id>/progress/",
        move_views.tier_move_progress,
        name="tier-move-progress",
    ),
    path(
        "tiers/moves/<int:move_id>/cancel/",
        move_views.tier_move_cancel_page,
        name="tier-move-cancel",
    ),
    path(
        "tiers/moves/<int:move_id>/resume/",
        move_views.tier_move_resume_page,
        name="tier-move-resume",
    ),
    path("tier-requests/", approval_views.tier_request_list, name="tier-requests"),
    path(
        "tier-requests/<int:request_id>/approve/",
        approval_views.tier_request_approve_page,
        name="tier-request-approve",
    ),
    path(
        "tier-requests/<int:request_id>/reject/",
        approval_views.tier_request_reject_page,
        name="tier-request-reject",
    ),
    path("customers/", views.customer_list, name="customers"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer"),
    path("customers/<int:customer_id>/tier/", plan_views.customer_set_tier, name="customer-tier"),
    path(
        "customers/<int:customer_id>/usage/",
        usage_views.console_customer_usage,
        name="customer-usage",
    ),
    path(
        "customers/<int:customer_id>/keys/<int:key_id>/extra-quota/",
        usage_views.grant_quota,
        name="grant-quota",
    ),
    path("keys/import/", key_views.key_import, name="key-import"),
    path("keys/import/<int:import_id>/", key_views.key_import_detail, name="key-import-detail"),
    path(
        "keys/import/<int:import_id>/progress/",
        key_views.key_import_progress,
        name="key-import-progress",
    ),
    path(
        "keys/import/<int:import_id>/report.csv",
        key_views.key_import_report,
        name="key-import-report",
    ),
    path(
        "keys/import/<int:import_id>/resume/",
        key_views.key_import_resume,
        name="key-import-resume",
    ),
    path("metrics/", metrics_views.ops_metrics, name="metrics"),
    path("import/", reconcile_views.import_page, name="import"),
    path("import/<str:aws_plan_id>/", reconcile_views.import_usage_plan, name="import-plan"),
    path("sync/", reconcile_views.drift_page, name="drift"),
    path("sync/check/", reconcile_views.reconcile_now, name="reconcile-now"),
    path(
        "sync/<str:kind>/<int:object_id>/settle/<str:side>/",
        reconcile_views.drift_settle,
        name="drift-settle",
    ),
    path("sync/<str:kind>/<int:object_id>/", views.sync_status, name="sync-status"),
    path("sync/<str:kind>/<int:object_id>/retry/", views.sync_retry, name="sync-retry"),
]
