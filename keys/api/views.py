"""API keys and bulk key imports over REST: thin callers of keys.services and keys.imports, the
same as the key pages and the console's import pages."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from keys import rotation
from keys import services as key_services
from keys.api import filters
from keys.api import serializers as s
from keys.expiry import key_set_expiry
from keys.imports.checking import FileRefused
from keys.imports.starting import resume_import, start_import
from keys.models import ApiKey, KeyImport, KeyImportRow
from keys.selectors import invoke_urls_for
from portal.rest.errors import Conflict
from portal.rest.permissions import STAFF
from portal.rest.serializers import ProblemSerializer
from portal.rest.viewsets import UUID_RE, ScopedViewSet, customer_named, request_ip

# --- keys ---------------------------------------------------------------------------------------

REVEAL_DESCRIPTION = (
    "Tollgate never stores a key's secret: the worker generates it inside the sync task and "
    "Tollgate keeps only its SHA-256. This call claims the one reveal (two racing calls cannot "
    "both win), reads the value from API Gateway, checks it against the SHA-256 and returns it "
    "with `Cache-Control: no-store` — the same service as the key page, and the same rule "
    "(`secret_state`). Answers **403** to anyone but the key's creator (whatever else is true "
    "of the key), **410** once the key was revoked, the secret was shown or the reveal window "
    "(TOLLGATE_SECRET_REVEAL_WINDOW_HOURS, 24 h) passed, **409** while API Gateway has not "
    "issued the key yet (poll the key until `secret_state` is `ready`). A lost secret is "
    "replaced by creating a new key and revoking the old one."
)
SECRET_EXAMPLE = {
    "id": "0b8e8d7e-5a38-4a8e-9a55-3f0f2b7c9a11",
    "prefix": "Xk2p9",
    "secret": "Xk2p9…(40 characters)",
    "invoke_urls": ["https://abc123.execute-api.us-east-1.amazonaws.com/prod"],
}


@extend_schema_view(
    list=extend_schema(summary="List API keys"),
    retrieve=extend_schema(summary="One API key"),
    create=extend_schema(
        summary="Create an API key",
        description="Answers 201 at once with `sync.status` **pending** and `secret` **null**: "
        "the worker generates the secret as the key reaches API Gateway. Poll the key until "
        "`secret_state` is `ready`, then POST /api/v1/keys/{id}/reveal — once.",
        request=s.KeyCreateSerializer,
        responses={201: s.KeySerializer},
        examples=[OpenApiExample("A key for CI", value={"name": "CI"}, request_only=True)],
    ),
    partial_update=extend_schema(
        summary="Rename a key, disable/enable it, or set or clear its expiry",
        request=s.KeyUpdateSerializer,
        examples=[
            OpenApiExample("Rename", value={"name": "production"}, request_only=True),
            OpenApiExample("Disable", value={"enabled": False}, request_only=True),
            OpenApiExample(
                "Expire", value={"expires_at": "2027-01-31T00:00:00Z"}, request_only=True
            ),
            OpenApiExample("Never expire", value={"expires_at": None}, request_only=True),
        ],
    ),
    destroy=extend_schema(summary="Revoke a key (same as POST …/revoke)"),
)
class KeyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    # Not the customer: the serializer gives only its id (a page of 50 made 50 unused rows).
    queryset = ApiKey.objects.select_related("rotated_from").prefetch_related("copies__connection")
    serializer_class = s.KeySerializer
    filterset_class = filters.KeyFilter
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = UUID_RE
    customer_actions = frozenset(
        {"create", "partial_update", "destroy", "revoke", "retry_sync", "reveal", "rotate"}
    )
    ordering = ("-created_at", "-pk")
    ordering_fields = ["name", "created_at", "pk"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def _respond(self, key: ApiKey, code: int = 200) -> Response:
        key.refresh_from_db()
        return Response(self.get_serializer(key).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.KeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        customer = customer_named(
            request,
            body.validated_data.get("customer"),
            missing="Say which customer the key is for.",
        )
        key = key_services.key_create(
            actor=request.user,
            customer=customer,
            name=body.validated_data["name"],
            ip=request_ip(request),
            expires_at=body.validated_data.get("expires_at"),
        )
        return self._respond(key, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, id: str | None = None) -> Response:
        key = self.get_object()
        body = s.KeyUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ip = request_ip(request)
        with transaction.atomic():
            if "name" in body.validated_data:
                key = key_services.key_rename(
                    actor=request.user, key=key, name=body.validated_data["name"], ip=ip
                )
            if "enabled" in body.validated_data:
                key = key_services.key_set_enabled(
                    actor=request.user, key=key, enabled=body.validated_data["enabled"], ip=ip
                )
            if "expires_at" in body.validated_data:
                key = key_set_expiry(
                    actor=request.user, key=key, expires_at=body.validated_data["expires_at"], ip=ip
                )
        return self._respond(key)

    def destroy(self, request: Request, id: str | None = None) -> Response:
        key_services.key_revoke(actor=request.user, key=self.get_object(), ip=request_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Revoke a key: it is deleted from API Gateway",
        request=None,
        responses=s.KeySerializer,
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, id: str | None = None) -> Response:
        key = key_services.key_revoke(
            actor=request.user, key=self.get_object(), ip=request_ip(request)
        )
        return self._respond(key)

    @extend_schema(
        summary="Send a key to API Gateway again",
        request=None,
        responses={202: s.KeySerializer},
    )
    @action(detail=True, methods=["post"], url_path="retry-sync")
    def retry_sync(self, request: Request, id: str | None = None) -> Response:
        key = self.get_object()
        key_services.key_retry_sync(actor=request.user, key=key, ip=request_ip(request))
        return self._respond(key, status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Roll a key: a new key now, the old one working for a grace period",
        description="Creates the new key at once (answered **201**, `sync.status` pending, "
        "`rotated_from` the old key) in the same usage plan; its creator reveals its secret "
        "once, as for any new key. The old key keeps working until its `grace_ends_at`, then it "
        "is deleted; with `none` it is revoked at once. The new key continues the old one's "
        "remaining quota for the period (UpdateUsage), and what the old key used meanwhile is "
        "taken off at the end. **409** for a revoked key or one being rolled already.",
        request=s.KeyRotateSerializer,
        responses={
            201: s.KeySerializer,
            409: OpenApiResponse(ProblemSerializer, description="Revoked, or being rolled."),
        },
        examples=[OpenApiExample("A day of overlap", value={"grace": "24h"}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, id: str | None = None) -> Response:
        key = self.get_object()
        body = s.KeyRotateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        new = rotation.key_rotate(
            actor=request.user,
            key=key,
            grace=rotation.grace_named(body.validated_data["grace"]),
            ip=request_ip(request),
        )
        return self._respond(new, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Reveal the key's secret — exactly once, to its creator",
        description=REVEAL_DESCRIPTION,
        request=None,
        responses={
            200: OpenApiResponse(
                s.RevealedSecretSerializer,
                examples=[OpenApiExample("The secret", value=SECRET_EXAMPLE)],
            ),
            409: OpenApiResponse(ProblemSerializer, description="Not issued by AWS yet."),
            410: OpenApiResponse(ProblemSerializer, description="Shown already, or too late."),
        },
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request: Request, id: str | None = None) -> Response:
        key = self.get_object()
        # keys.services.SecretUnavailable is a portal.errors.Refused: 403, 409 or 410 as it says.
        secret = key_services.key_reveal_secret(actor=request.user, key=key, ip=request_ip(request))
        response = Response(
            s.RevealedSecretSerializer(
                {
                    "id": key.public_id,
                    "prefix": key.display_prefix,
                    "secret": secret,
                    "invoke_urls": invoke_urls_for(key.customer),
                }
            ).data
        )
        response["Cache-Control"] = "no-store"
        return response


# --- bulk key imports ---------------------------------------------------------------------------

SHOWN_PROBLEMS = 500  # as on the console's import page
IMPORT_EXAMPLE = {
    "file_name": "keys.csv",
    "csv": "customer,name,key,enabled\nacme,production,Xk2p9s3cr3tVALUEfromTheirSystem01,true\n",
}


def _with_rows(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Every line of each import, with its key, in two more queries however many lines."""
    rows = KeyImportRow.objects.select_related("key").order_by("line")
    return queryset.prefetch_related(Prefetch("rows", queryset=rows))


@extend_schema_view(
    list=extend_schema(summary="List bulk key imports (staff)"),
    retrieve=extend_schema(
        summary="One key import: its progress and what became of every line (staff)",
        description="Never a secret: each line shows at most its key's 5-character prefix.",
        responses=s.KeyImportDetailSerializer,
    ),
)
class KeyImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The console's “Import keys from CSV” (/console/keys/import/), through keys.imports."""

    audience = STAFF
    queryset = KeyImport.objects.select_related("created_by")
    serializer_class = s.KeyImportSerializer
    filterset_class = filters.KeyImportFilter
    ordering = ("-created_at", "-pk")
    ordering_fields = ["created_at", "pk"]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        return _with_rows(queryset) if self.action == "retrieve" else queryset

    def get_serializer_class(self) -> Any:
        return s.KeyImportDetailSerializer if self.action == "retrieve" else s.KeyImportSerializer

    @extend_schema(
        summary="Import existing API keys from a CSV file (admin)",
        description="The console's import page as JSON: `csv` is the file's text. Every row is "
        "checked first; bad rows are skipped with their line and reason (they are in the "
        "answer's `rows`), the good ones are queued for API Gateway (ImportApiKeys) and the "
        "answer is **201** at once — follow `GET /api/v1/key-imports/{id}`. A file no row of "
        "which can be imported is a **400** naming each line (`errors`: `csv.<line>`), and "
        "changes nothing. The secrets travel encrypted to the worker and are never stored.",
        request=s.KeyImportCreateSerializer,
        responses={201: s.KeyImportDetailSerializer},
        examples=[OpenApiExample("Two columns and a key", value=IMPORT_EXAMPLE, request_only=True)],
    )
    @sensitive_variables()
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.KeyImportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            imp, _ = start_import(
                actor=request.user,
                data=body.validated_data["csv"].encode("utf-8"),
                file_name=body.validated_data.get("file_name", ""),
                ip=request_ip(request),
            )
        except FileRefused as exc:
            bad = [row for row in exc.rows if not row.ok][:SHOWN_PROBLEMS]
            raise exceptions.ValidationError(
                {"csv": [exc.message], **{f"csv.{row.line}": row.problems for row in bad}}
            ) from exc
        imp = _with_rows(KeyImport.objects.select_related("created_by")).get(pk=imp.pk)
        return Response(s.KeyImportDetailSerializer(imp).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Send a queued or running import to a worker again (admin)",
        description="For an import that stalled (a broker that was down, a worker that died "
        "holding it): rows already settled are not sent again. **409** once it finished.",
        request=None,
        responses={
            202: s.KeyImportSerializer,
            409: OpenApiResponse(ProblemSerializer, description="The import has finished."),
        },
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        imp = self.get_object()
        if not imp.is_active:
            raise Conflict("This import has finished; upload the rows that failed again instead.")
        resume_import(actor=request.user, imp=imp, ip=request_ip(request))
        return Response(s.KeyImportSerializer(imp).data, status=status.HTTP_202_ACCEPTED)
