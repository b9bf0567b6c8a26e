"""/api/: version 1 of the REST API, its OpenAPI schema and its docs (served locally).

Every domain keeps its endpoints in its own `api` module; this router puts them under /api/v1/
(the names are `v1:<basename>-<action>`)."""

from csp.decorators import csp_update
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import SimpleRouter

from keys.api import leaks as key_leaks
from keys.api import views as keys
from plans.api import approvals as tier_requests
from plans.api import moves as tier_moves
from plans.api import views as plans
from portal.api import capacity, tokens, views
from portal.api.schema import API_DESCRIPTION
from portal.connections import api as connections
from portal.mfa import api as mfa
from portal.reconcile import api as reconcile
from portal.rest.errors import not_found
from portal.rest.viewsets import UUID_RE
from portal.teams import api as teams
from portal.usage import api as usage

router = SimpleRouter(trailing_slash=False)
router.register("stages", plans.StageViewSet, basename="stage")
router.register("aws-connections", connections.AwsConnectionViewSet, basename="aws-connection")
router.register("tiers", plans.TierViewSet, basename="tier")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("memberships", teams.MembershipViewSet, basename="membership")
router.register("invitations", teams.InvitationViewSet, basename="invitation")
router.register("subscriptions", plans.SubscriptionViewSet, basename="subscription")
router.register("tier-requests", tier_requests.TierRequestViewSet, basename="tier-request")
router.register("tier-moves", tier_moves.TierMoveViewSet, basename="tier-move")
router.register("keys", keys.KeyViewSet, basename="key")
router.register("key-imports", keys.KeyImportViewSet, basename="key-import")
router.register("tokens", tokens.TokenViewSet, basename="token")
router.register("usage/days", usage.UsageDayViewSet, basename="usage-day")
router.register("usage/summary", usage.UsageSummaryViewSet, basename="usage-summary")
router.register("sync/drift/tiers", reconcile.TierDriftViewSet, basename="drift-tier")
router.register("sync/drift/keys", reconcile.KeyDriftViewSet, basename="drift-key")

v1 = [
    path("me", views.MeView.as_view(), name="me"),
    path(
        "organisation/settings",
        mfa.OrganisationSettingsView.as_view(),
        name="organisation-settings",
    ),
    path("me/organisation", teams.OrganisationView.as_view(), name="me-organisation"),
    path(
        "subscription/switch",
        plans.SubscriptionSwitchView.as_view(),
        name="subscription-switch",
    ),
    # Extra quota is usage's (above keys in the layers), so it is its own route, not a KeyViewSet
    # action; the path reads as one.
    re_path(
        rf"^keys/(?P<id>{UUID_RE})/extra-quota$",
        usage.ExtraQuotaView.as_view(),
        name="key-extra-quota",
    ),
    # Before the router's keys/<id>: a secret scanner's report (leak-report tokens only).
    path("keys/leaked", key_leaks.LeakReportView.as_view(), name="key-leaked"),
    path("metrics", usage.MetricsView.as_view(), name="metrics"),
    path("capacity", capacity.CapacityView.as_view(), name="capacity"),
    path("sync/status", reconcile.SyncStatusView.as_view(), name="sync-status"),
    path("sync/reconcile", reconcile.ReconcileView.as_view(), name="sync-reconcile"),
    path("sync/drift", reconcile.DriftSummaryView.as_view(), name="sync-drift"),
    path(
        "sync/foreign-usage-plans",
        reconcile.ForeignUsagePlanListView.as_view(),
        name="foreign-usage-plan-list",
    ),
    re_path(
        rf"^sync/foreign-usage-plans/(?P<aws_id>{reconcile.AWS_ID_RE})/adopt$",
        reconcile.AdoptUsagePlanView.as_view(),
        name="foreign-usage-plan-adopt",
    ),
    *router.urls,
]

DOCS_CSP = {"style-src": ["'unsafe-inline'"]}

urlpatterns = [
    path("v1/", include((v1, "api"), namespace="v1")),
    path(
        "schema/",
        SpectacularAPIView.as_view(custom_settings={"DESCRIPTION": API_DESCRIPTION}),
        name="api-schema",
    ),
    # The docs pages keep the site's Content-Security-Policy (portal/settings.py) but for what
    # their bundles need: Swagger UI and ReDoc write <style> elements and style attributes, and
    # ReDoc searches in a worker it makes from a blob: URL. Swagger UI's start-up script is a
    # file of its own (the split view's ?script), so no inline script runs anywhere.
    path(
        "docs/",
        csp_update(DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path(
        "redoc/",
        csp_update({**DOCS_CSP, "worker-src": ["'self'", "blob:"]})(
            SpectacularRedocView.as_view(url_name="api-schema")
        ),
        name="api-redoc",
    ),
    re_path(r"^.*$", not_found),
]
