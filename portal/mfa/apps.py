from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """django.contrib.admin with Tollgate's site (portal.mfa.site) as `admin.site`."""

    default_site = "portal.mfa.site.TollgateAdminSite"
