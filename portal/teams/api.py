"""/api/v1/memberships, /api/v1/invitations and /api/v1/me/organisation: the pages' team
actions over the same services (portal.teams.services checks who may)."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.models import User
from portal.customers.models import Customer, Invitation, Membership, MembershipRole
from portal.errors import NotAllowed, Refused
from portal.rest.filters import IdFilter
from portal.rest.permissions import ANYONE
from portal.rest.viewsets import ScopedViewSet, customer_named, request_ip
from portal.teams import services
from portal.teams.views import base_url


class MembershipFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    role = django_filters.ChoiceFilter(choices=MembershipRole.choices)

    class Meta:
        model = Membership
        fields = ["customer", "role"]


class InvitationFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    email = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Invitation
        fields = ["customer", "email"]


ROLE_CHOICES = MembershipRole.choices


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "customer", "email", "role", "created_at"]
        read_only_fields = fields


class RoleSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=ROLE_CHOICES)


class InvitationSerializer(serializers.ModelSerializer[Invitation]):
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, default=None)
    accepted_by = serializers.EmailField(source="accepted_by.email", read_only=True, default=None)
    state = serializers.CharField(read_only=True, help_text="pending, accepted, revoked, expired")

    class Meta:
        model = Invitation
        fields = [
            "id",
            "customer",
            "email",
            "role",
            "state",
            "invited_by",
            "accepted_by",
            "sent_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        ]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=ROLE_CHOICES, default=MembershipRole.MEMBER.value)
    customer = serializers.IntegerField(
        required=False, help_text="Staff only: the organisation (a customer: its own)."
    )


@extend_schema_view(
    list=extend_schema(summary="List memberships: who belongs to which organisation"),
    retrieve=extend_schema(summary="One membership"),
    partial_update=extend_schema(summary="Change a member's role (owners)", request=RoleSerializer),
    destroy=extend_schema(summary="Remove a member (owners), or leave (your own membership)"),
)
class MembershipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    queryset = Membership.objects.select_related("user", "customer")
    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter
    ordering = ("created_at", "pk")
    ordering_fields = ["created_at", "pk"]
    customer_actions = frozenset({"partial_update", "destroy", "leave", "transfer_ownership"})
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        body = RoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = services.membership_set_role(
            actor=request.user,
            membership=self.get_object(),
            role=body.validated_data["role"],
            ip=request_ip(request),
        )
        return Response(MembershipSerializer(membership).data)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        membership = self.get_object()
        if membership.user_id == request.user.pk:
            raise Refused("To leave the organisation, POST to this membership's leave.")
        services.membership_remove(
            actor=request.user, membership=membership, ip=request_ip(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Leave the organisation (your own membership)", request=None)
    @action(detail=True, methods=["post"])
    def leave(self, request: Request, pk: str | None = None) -> Response:
        membership = self.get_object()
        if membership.user_id != request.user.pk:
            raise NotAllowed("You can only leave for yourself; an owner removes others.")
        services.membership_remove(
            actor=request.user, membership=membership, ip=request_ip(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Hand the organisation over: this member becomes an owner, you a member",
        request=None,
        responses=MembershipSerializer,
    )
    @action(detail=True, methods=["post"], url_path="transfer-ownership")
    def transfer_ownership(self, request: Request, pk: str | None = None) -> Response:
        to = self.get_object()
        services.ownership_transfer(
            actor=request.user, customer=to.customer, to=to, ip=request_ip(request)
        )
        to.refresh_from_db()
        return Response(MembershipSerializer(to).data)


@extend_schema_view(
    list=extend_schema(summary="List invitations (an organisation's own; staff: all)"),
    retrieve=extend_schema(summary="One invitation"),
    create=extend_schema(
        summary="Invite someone by email (owners; admins for any organisation)",
        request=InvitationCreateSerializer,
    ),
)
class InvitationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    queryset = Invitation.objects.select_related("invited_by", "accepted_by")
    serializer_class = InvitationSerializer
    filterset_class = InvitationFilter
    ordering = ("-created_at", "-pk")
    ordering_fields = ["created_at", "pk"]
    customer_actions = frozenset({"create", "resend", "revoke"})

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = InvitationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        customer = customer_named(
            request, body.validated_data.get("customer"), missing="Say which organisation."
        )
        sent = services.invitation_create(
            actor=request.user,
            customer=customer,
            email=body.validated_data["email"],
            role=body.validated_data["role"],
            base_url=base_url(request._request),
            ip=request_ip(request),
        )
        return Response(InvitationSerializer(sent.invitation).data, status=201)

    @extend_schema(summary="Send a new link (the old one stops working)", request=None)
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str | None = None) -> Response:
        sent = services.invitation_resend(
            actor=request.user,
            invitation=self.get_object(),
            base_url=base_url(request._request),
            ip=request_ip(request),
        )
        return Response(InvitationSerializer(sent.invitation).data)

    @extend_schema(summary="Withdraw an invitation", request=None)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        invitation = services.invitation_revoke(
            actor=request.user, invitation=self.get_object(), ip=request_ip(request)
        )
        return Response(InvitationSerializer(invitation).data)


class OrganisationChoiceSerializer(serializers.Serializer[Any]):
    customer = serializers.IntegerField(help_text="The organisation to work in from now on.")


class OrganisationView(APIView):
    """Which organisation you work in; switching changes it for the pages too."""

    audience = ANYONE

    @extend_schema(
        summary="Work in another of your organisations",
        request=OrganisationChoiceSerializer,
        responses=MembershipSerializer,
    )
    def post(self, request: Request) -> Response:
        body = OrganisationChoiceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        customer = Customer.objects.filter(
            pk=body.validated_data["customer"], memberships__user=user
        ).first()
        if customer is None:
            raise exceptions.NotFound("You are not in that organisation.")
        membership = services.organisation_choose(user=user, customer=customer)
        request._tollgate_customer = customer  # type: ignore[attr-defined]
        return Response(MembershipSerializer(membership).data)
