"""The console's page of every person's tokens, mounted at /console/tokens/ (portal/urls.py)."""

from django.urls import path

from portal.tokens import views

app_name = "console-tokens"
urlpatterns = [
    path("", views.console_token_list, name="list"),
    path("<int:token_id>/revoke/", views.console_token_revoke, name="revoke"),
]
