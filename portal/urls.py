from django.contrib import admin
from django.urls import include, path

from portal.console import views as console_views

urlpatterns = [
    path("", console_views.home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("console/tokens/", include("portal.tokens.console_urls")),
    path("", include("portal.auditlog.urls")),  # /console/audit/ and /app/audit/
    path("console/", include("portal.console.urls")),
    path("app/", include("portal.app_urls")),
    path("", include("portal.catalog.urls")),
    path("api/", include("portal.api.urls")),
    path("settings/tokens/", include("portal.tokens.urls")),
    path("django-admin/", admin.site.urls),
]
