"""Public catalog pages: /pricing/, /apis/ and /apis/<stage>/."""

from django.urls import path

from portal.catalog import views

app_name = "catalog"
urlpatterns = [
    path("pricing/", views.pricing, name="pricing"),
    path("apis/", views.api_list, name="apis"),
    path("apis/<int:stage_id>/", views.reference, name="reference"),
]
