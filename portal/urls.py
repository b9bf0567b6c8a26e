from django.contrib import admin
from django.urls import include, path

from portal.console import views as console_views
from portal.mfa import views as mfa_views
from portal.teams import views as team_views

urlpatterns = [
    path("", console_views.home, name="home"),
    path("accounts/signup/", team_views.SignupView.as_view(), name="account_signup"),
    # allauth's own URLs and names, answered by its views with Tollgate's changes (portal.mfa):
    # the last-factor check, and no secret or recovery code in a template's context repr.
    path(
        "accounts/2fa/webauthn/keys/<int:pk>/remove/",
        mfa_views.remove_webauthn,
        name="mfa_remove_webauthn",
    ),
    path("accounts/2fa/totp/activate/", mfa_views.activate_totp, name="mfa_activate_totp"),
    path(
        "accounts/2fa/recovery-codes/",
        mfa_views.view_recovery_codes,
        name="mfa_view_recovery_codes",
    ),
    path("accounts/", include("allauth.urls")),
    path("", include("portal.teams.urls")),  # /invitations/…, /organisation/, console invites
    path("console/tokens/", include("portal.tokens.console_urls")),
    path("", include("portal.auditlog.urls")),  # /console/audit/ and /app/audit/
    path("console/", include("portal.console.urls")),
    path("app/", include("portal.app_urls")),
    path("", include("portal.catalog.urls")),
    path("api/", include("portal.api.urls")),
    path("settings/tokens/", include("portal.tokens.urls")),
    path("django-admin/", admin.site.urls),
]
