"""The REST API's settings: Django REST framework and drf-spectacular (the README's "REST API")."""

import os

REST_FRAMEWORK = {
    # Bearer first: its WWW-Authenticate header makes a request without credentials a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.tokens.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.rest.permissions.TollgatePermission"],
    "DEFAULT_PAGINATION_CLASS": "portal.rest.pagination.Cursor",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["portal.rest.throttling.PerUserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("TOLLGATE_API_RATE", "1200/min"),
        "leak_reports": os.environ.get("TOLLGATE_LEAK_REPORT_RATE", "30/min"),  # keys/leaked
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bounded in size (413) and nesting depth (400): never a RecursionError's 500.
    "DEFAULT_PARSER_CLASSES": ["portal.rest.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.TollgateAutoSchema",
    "EXCEPTION_HANDLER": "portal.rest.errors.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

_SYSTEM_FONTS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
SPECTACULAR_SETTINGS = {
    "TITLE": "Tollgate REST API",
    "VERSION": "1.0.0",
    # The long description (authentication, errors, secrets) is portal/api/schema.py's.
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc come from drf-spectacular-sidecar: served by Tollgate, never a CDN.
    # Redoc's page links no web fonts (templates/drf_spectacular/redoc.html): system fonts.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": _SYSTEM_FONTS,
                "headings": {"fontFamily": _SYSTEM_FONTS},
                "code": {"fontFamily": "ui-monospace, Menlo, Consolas, monospace"},
            }
        }
    },
    "ENUM_NAME_OVERRIDES": {
        "SyncStatusEnum": "portal.sync.SyncStatus",
        "QuotaPeriodEnum": "plans.models.QuotaPeriod",
        "SubscriptionStatusEnum": "plans.models.SubscriptionStatus",
        "SecretStateEnum": "keys.selectors.SecretState",
        "KeyImportStatusEnum": "keys.models.KeyImportStatus",
        "KeyImportRowStatusEnum": "keys.models.KeyImportRowStatus",
        "MembershipRoleEnum": "portal.customers.models.MembershipRole",
        "TierMoveStatusEnum": "plans.models.moves.TierMoveStatus",
    },
}
