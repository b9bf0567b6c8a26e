"""Mounted at the root by portal.urls: members under /app/, the invitation link at the top, the
console's invite under /console/."""

from django.urls import path

from portal.teams import views

urlpatterns = [
    path("invitations/<str:token>/", views.invitation_link, name="invitation-link"),
    path("invitation/", views.invitation_page, name="invitation"),
    path("organisation/", views.organisation_switch, name="organisation-switch"),
    path("welcome/", views.welcome, name="welcome"),
    path("welcome/invitations/<int:invitation_id>/", views.welcome_accept, name="welcome-accept"),
    path(
        "console/customers/<int:customer_id>/invite/",
        views.console_invite,
        name="console-customer-invite",
    ),
]

app_patterns = [
    path("members/", views.member_list, name="members"),
    path("members/invite/", views.member_invite, name="member-invite"),
    path("members/leave/", views.member_leave, name="member-leave"),
    path("members/<int:membership_id>/role/", views.member_role, name="member-role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member-remove"),
    path("members/<int:membership_id>/transfer/", views.member_transfer, name="member-transfer"),
    path(
        "invitations/<int:invitation_id>/resend/",
        views.invitation_resend_view,
        name="invitation-resend",
    ),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke_view,
        name="invitation-revoke",
    ),
]
