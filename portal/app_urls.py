"""The customer's pages: their keys, their tier and their usage."""

from django.urls import path

from keys import views as key_views
from keys import views_expiry as expiry_views
from plans import views as plan_views
from plans import views_approvals as approval_views
from portal.mfa import views as mfa_views
from portal.teams.urls import app_patterns as team_patterns
from portal.usage import customer_views as usage_views

app_name = "app"
urlpatterns = [
    path("", key_views.key_list, name="keys"),
    path("keys/new/", key_views.key_create, name="key-create"),
    path("keys/<uuid:public_id>/", key_views.key_detail, name="key"),
    path("keys/<uuid:public_id>/status/", key_views.key_status, name="key-status"),
    path("keys/<uuid:public_id>/secret/", key_views.key_secret, name="key-secret"),
    path("keys/<uuid:public_id>/rename/", key_views.key_rename, name="key-rename"),
    path("keys/<uuid:public_id>/enabled/", key_views.key_enabled, name="key-enabled"),
    path("keys/<uuid:public_id>/revoke/", key_views.key_revoke, name="key-revoke"),
    path("keys/<uuid:public_id>/roll/", key_views.key_roll, name="key-roll"),
    path("keys/<uuid:public_id>/retry/", key_views.key_retry, name="key-retry"),
    path("keys/<uuid:public_id>/expiry/", expiry_views.key_expiry, name="key-expiry"),
    path("tier/", plan_views.my_tier, name="tier"),
    path("tier/switch/", plan_views.my_tier_switch, name="tier-switch"),
    path("tier/<slug:slug>/request/", approval_views.tier_request_new, name="tier-request"),
    path(
        "tier/requests/<int:request_id>/withdraw/",
        approval_views.tier_request_withdraw_page,
        name="tier-request-withdraw",
    ),
    path("usage/", usage_views.usage_page, name="usage"),
    path("usage.csv", usage_views.usage_csv, name="usage-csv"),
    path("settings/", mfa_views.organisation_settings, name="settings"),
    *team_patterns,
]
