"""Personal access tokens through the API: `GET tokens` (staff: everyone's; anyone else: their own)
and `POST tokens/{id}/revoke` (admins: anyone's; a person: their own). Creating one stays on the
settings page, where its secret is shown once."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import models
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from portal.access import is_staff
from portal.rest.filters import IdFilter
from portal.rest.permissions import ANYONE
from portal.rest.viewsets import ScopedViewSet, request_ip
from portal.tokens.models import PersonalAccessToken, TokenScope
from portal.tokens.services import token_revoke


class TokenSerializer(serializers.ModelSerializer[PersonalAccessToken]):
    owner = serializers.EmailField(source="user.email", read_only=True)
    state = serializers.CharField(source="state_label", read_only=True)

    class Meta:
        model = PersonalAccessToken
        fields = [
            "id",
            "name",
            "prefix",
            "owner",
            "scope",
            "state",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
        ]
        read_only_fields = fields


class TokenFilter(django_filters.FilterSet):
    user = IdFilter(field_name="user_id")
    scope = django_filters.ChoiceFilter(choices=TokenScope.choices)
    revoked = django_filters.BooleanFilter(
        field_name="revoked_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = PersonalAccessToken
        fields = ["user", "scope", "revoked"]


@extend_schema_view(
    list=extend_schema(summary="List personal access tokens (staff: everyone's; others: your own)"),
    retrieve=extend_schema(summary="One personal access token (never its secret)"),
)
class TokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    # Ops and people without an organisation have tokens too; the queryset decides what they see.
    audience = ANYONE
    queryset = PersonalAccessToken.objects.select_related("user")
    serializer_class = TokenSerializer
    filterset_class = TokenFilter
    ordering = ("-created_at", "-pk")
    ordering_fields = ["created_at", "expires_at", "last_used_at", "pk"]

    def restrict(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        # Tokens are a person's, not an organisation's: staff see every one, anyone else theirs.
        if is_staff(self.request.user):
            return queryset
        return queryset.filter(user=self.request.user)

    @extend_schema(summary="Revoke a token (admins: anyone's; others: your own)", request=None)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        token = self.get_object()
        token_revoke(user=request.user, token=token, ip=request_ip(request))
        token.refresh_from_db()
        return Response(self.get_serializer(token).data)
