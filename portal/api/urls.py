"""/api/: version 1 of the REST API, its OpenAPI schema and its docs (served locally)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from portal.api import views
from portal.api.errors import not_found
from portal.api.schema import API_DESCRIPTION

router = SimpleRouter(trailing_slash=False)
router.register("stages", views.StageViewSet, basename="stage")
router.register("tiers", views.TierViewSet, basename="tier")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("subscriptions", views.SubscriptionViewSet, basename="subscription")
router.register("keys", views.KeyViewSet, basename="key")
router.register("usage/days", views.UsageDayViewSet, basename="usage-day")
router.register("usage/summary", views.UsageSummaryViewSet, basename="usage-summary")
router.register("sync/drift/tiers", views.TierDriftViewSet, basename="drift-tier")
router.register("sync/drift/keys", views.KeyDriftViewSet, basename="drift-key")

v1 = [
    path("me", views.MeView.as_view(), name="me"),
    path(
        "subscription/switch",
        views.SubscriptionSwitchView.as_view(),
        name="subscription-switch",
    ),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
    path("sync/status", views.SyncStatusView.as_view(), name="sync-status"),
    path("sync/drift", views.DriftSummaryView.as_view(), name="sync-drift"),
    *router.urls,
]

urlpatterns = [
    path("v1/", include((v1, "api"), namespace="v1")),
    path(
        "schema/",
        SpectacularAPIView.as_view(custom_settings={"DESCRIPTION": API_DESCRIPTION}),
        name="api-schema",
    ),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    re_path(r"^.*$", not_found),
]
