"""/api/v1/aws-connections: the console's connection pages over the same services (staff
read, admins change; portal.rest.permissions)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from portal.access import is_staff
from portal.connections import services
from portal.connections.models import AwsConnection, AwsCopy
from portal.rest.permissions import STAFF
from portal.rest.viewsets import ScopedViewSet, request_ip

CONNECTION_EXAMPLE = {
    "name": "Europe (partner account)",
    "role_arn": "arn:aws:iam::222222222222:role/TollgateAccess",
    "external_id": "tollgate-demo",
    "regions": ["eu-west-1"],
}


class AwsConnectionSerializer(serializers.ModelSerializer[AwsConnection]):
    class Meta:
        model = AwsConnection
        fields = [
            "id",
            "name",
            "role_arn",
            "external_id",
            "regions",
            "is_default",
            "account_id",
            "identity_arn",
            "check_status",
            "checked_at",
            "check_report",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AwsConnectionWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=80)
    role_arn = serializers.CharField(
        max_length=2048,
        required=False,
        allow_blank=True,
        default="",
        help_text="Blank: Tollgate's own credential chain; else the IAM role to assume.",
    )
    external_id = serializers.CharField(
        max_length=1224,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the role's trust policy asks for in sts:ExternalId.",
    )
    regions = serializers.ListField(
        child=serializers.CharField(max_length=30),
        max_length=40,
        help_text="AWS region codes, at least one.",
    )
    is_default = serializers.BooleanField(
        required=False, help_text="true moves the default here (on a change only)."
    )


@extend_schema_view(
    list=extend_schema(summary="List AWS connections (staff)"),
    retrieve=extend_schema(summary="One AWS connection, with its last check in words"),
    create=extend_schema(
        summary="Add an AWS connection (admin); it is checked at once",
        request=AwsConnectionWriteSerializer,
        responses={201: AwsConnectionSerializer},
        examples=[
            OpenApiExample("A role in another account", value=CONNECTION_EXAMPLE, request_only=True)
        ],
    ),
    partial_update=extend_schema(
        summary="Change an AWS connection (admin); a new role or region is checked again",
        request=AwsConnectionWriteSerializer,
        examples=[
            OpenApiExample(
                "Add a region", value={"regions": ["us-east-1", "eu-west-1"]}, request_only=True
            )
        ],
    ),
    destroy=extend_schema(
        summary="Delete an AWS connection (admin); the default one cannot be deleted (409)"
    ),
)
class AwsConnectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    audience = STAFF
    queryset = AwsConnection.objects.all()
    serializer_class = AwsConnectionSerializer
    ordering = ("name", "pk")
    ordering_fields = ["name", "created_at", "pk"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.connection_default()  # the first one, from the settings, if there is none yet
        return super().list(request, *args, **kwargs)

    def _respond(self, connection: AwsConnection, code: int = status.HTTP_200_OK) -> Response:
        connection.refresh_from_db()
        return Response(self.get_serializer(connection).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = AwsConnectionWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        connection = services.connection_create(
            actor=request.user,
            name=data["name"],
            role_arn=data["role_arn"],
            external_id=data["external_id"],
            regions=data["regions"],
            ip=request_ip(request),
        )
        return self._respond(connection, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        connection = self.get_object()
        body = AwsConnectionWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.connection_update(
            actor=request.user,
            connection=connection,
            name=data.get("name", connection.name),
            role_arn=data.get("role_arn", connection.role_arn),
            external_id=data.get("external_id", connection.external_id),
            regions=data.get("regions", connection.regions),
            make_default=bool(data.get("is_default")),
            ip=request_ip(request),
        )
        return self._respond(connection)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.connection_delete(
            actor=request.user, connection=self.get_object(), ip=request_ip(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Check the connection now (admin)",
        description="A worker asks STS GetCallerIdentity and makes one dry read per permission "
        'and region; answers 202 at once with `check_status` "checking": read the connection '
        "again in a moment for the report.",
        request=None,
        responses={202: AwsConnectionSerializer},
    )
    @action(detail=True, methods=["post"])
    def check(self, request: Request, pk: str | None = None) -> Response:
        connection = services.connection_check_requested(
            actor=request.user, connection=self.get_object(), ip=request_ip(request)
        )
        return self._respond(connection, status.HTTP_202_ACCEPTED)


class CopySerializer(serializers.Serializer[Any]):
    """One AWS copy of a tier or key (portal.connections.models.AwsCopy), for their APIs."""

    where = serializers.CharField(read_only=True, help_text="“eu-west-1” or “Partner · us-east-1”.")
    region = serializers.CharField(read_only=True)
    account_id = serializers.SerializerMethodField(help_text="The AWS account (staff only).")
    aws_id = serializers.SerializerMethodField(help_text="Its id in that account (staff only).")
    state = serializers.ChoiceField(
        choices=["in_sync", "pending", "behind"],
        read_only=True,
        help_text="behind: the last change did not reach this copy; `error` says why.",
    )
    error = serializers.CharField(read_only=True)

    def _staff(self) -> bool:
        """`staff` in the context, or else the asking person's: nested in a list's serializer,
        the context is the view's."""
        if "staff" in self.context:
            return bool(self.context["staff"])
        request = self.context.get("request")
        return request is not None and is_staff(request.user)

    def get_account_id(self, copy: AwsCopy) -> str:
        connection = copy.connection
        return connection.account_id if self._staff() and connection is not None else ""

    def get_aws_id(self, copy: AwsCopy) -> str:
        return copy.aws_id if self._staff() else ""

    def to_representation(self, instance: AwsCopy) -> dict[str, Any]:
        """The fields above, read directly (a key list of 50 has 100 copies; checked against
        the field walk in tests/api/test_fast_representations.py)."""
        staff = self._staff()
        connection = instance.connection
        return {
            "where": instance.where,
            "region": instance.region,
            "account_id": connection.account_id if staff and connection is not None else "",
            "aws_id": instance.aws_id if staff else "",
            "state": instance.state,
            "error": instance.error,
        }
