"""The organisation's settings through the REST API: `GET organisation/settings` (anyone in the
organisation) and `PATCH organisation/settings` (its owners): `require_mfa`, the owner's switch
"require two-factor authentication for everyone in this organisation", and the key settings
`disable_idle_keys` and `leaked_key_action` (portal.mfa.key_settings)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.access import is_owner_of
from portal.customers.models import Customer
from portal.mfa.key_settings import LEAKED_KEY_ACTIONS, customer_set_key_settings
from portal.mfa.services import customer_set_require_mfa
from portal.rest.permissions import customer_of
from portal.rest.viewsets import ETagMixin, request_ip

STAFF_HAVE_NONE = (
    "Staff have no organisation of their own; read a customer at /api/v1/customers/{id}."
)


class OrganisationSettingsSerializer(serializers.ModelSerializer[Customer]):
    require_mfa = serializers.BooleanField(
        help_text="Everyone in the organisation must set up two-factor authentication before "
        "using its pages or this API (owners change it)."
    )
    disable_idle_keys = serializers.BooleanField(
        help_text="Keys with no requests for 90 days (and at least 90 days old) are disabled "
        "in API Gateway and the owners emailed (owners change it)."
    )
    leaked_key_action = serializers.ChoiceField(
        choices=list(LEAKED_KEY_ACTIONS.items()),
        help_text="What a leak report does to a key of ours: disable it, or roll it (a new "
        "key, the old one disabled) (owners change it).",
    )
    you_are_owner = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = ["id", "name", "slug", "require_mfa", "disable_idle_keys", "leaked_key_action"]
        fields += ["you_are_owner"]
        read_only_fields = ["id", "name", "slug", "you_are_owner"]

    def get_you_are_owner(self, customer: Customer) -> bool:
        return is_owner_of(self.context["request"].user, customer)


class OrganisationSettingsView(ETagMixin, APIView):
    """The organisation the caller works in; staff have none (403)."""

    customer_may_write = True  # owners only: the service refuses members (403)

    def _customer(self, request: Request) -> Customer:
        customer = customer_of(request)
        if customer is None:  # staff: TollgatePermission lets customers without one not in
            raise exceptions.PermissionDenied(STAFF_HAVE_NONE)
        return customer

    def _answer(self, request: Request, customer: Customer) -> Response:
        context: dict[str, Any] = {"request": request}
        return Response(OrganisationSettingsSerializer(customer, context=context).data)

    @extend_schema(
        summary="Your organisation's settings",
        responses=OrganisationSettingsSerializer,
    )
    def get(self, request: Request) -> Response:
        return self._answer(request, self._customer(request))

    @extend_schema(
        summary="Change your organisation's settings (owners)",
        description="An owner turns `require_mfa` or `disable_idle_keys` on or off and picks "
        "`leaked_key_action`; a member is refused with a 403. "
        "Once on, everyone in the organisation without a second factor is refused by this API "
        '(403, `"type": "mfa_required"`) until they set one up at /accounts/2fa/.',
        request=OrganisationSettingsSerializer,
        responses=OrganisationSettingsSerializer,
        examples=[
            OpenApiExample("Require MFA", value={"require_mfa": True}, request_only=True),
            OpenApiExample(
                "Disable idle keys, roll leaked ones",
                value={"disable_idle_keys": True, "leaked_key_action": "roll"},
                request_only=True,
            ),
        ],
    )
    def patch(self, request: Request) -> Response:
        customer = self._customer(request)
        body = OrganisationSettingsSerializer(customer, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with transaction.atomic():
            if "require_mfa" in data:
                customer = customer_set_require_mfa(
                    actor=request.user,
                    customer=customer,
                    required=data["require_mfa"],
                    ip=request_ip(request),
                )
            if "disable_idle_keys" in data or "leaked_key_action" in data:
                customer = customer_set_key_settings(
                    actor=request.user,
                    customer=customer,
                    disable_idle_keys=data.get("disable_idle_keys"),
                    leaked_key_action=data.get("leaked_key_action"),
                    ip=request_ip(request),
                )
        return self._answer(request, customer)
