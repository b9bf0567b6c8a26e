"""GET /api/v1/capacity: the console's capacity page over REST (staff: admins and ops read)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.connections.capacity import Figure, PlaceCapacity
from portal.reconcile.capacity import capacity_with_foreign
from portal.rest.permissions import STAFF
from portal.rest.viewsets import ETagMixin


class FigureSerializer(serializers.Serializer[Any]):
    used = serializers.DecimalField(max_digits=14, decimal_places=2)
    limit = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        allow_null=True,
        help_text="null: not known yet (the account throttle before a connection check).",
    )
    percent = serializers.IntegerField()
    warning = serializers.BooleanField(help_text="At or past 80% of the limit.")
    full = serializers.BooleanField(help_text="At the limit: Tollgate refuses to add more.")


class TopTierSerializer(serializers.Serializer[Any]):
    tier = serializers.CharField()
    api_keys = serializers.IntegerField()


class PlaceSerializer(serializers.Serializer[Any]):
    connection_id = serializers.IntegerField(allow_null=True)
    connection_name = serializers.CharField()
    account_id = serializers.CharField(help_text="Blank until the connection was checked.")
    region = serializers.CharField()
    api_keys = FigureSerializer()
    usage_plans = FigureSerializer()
    throttle = FigureSerializer(
        help_text="Requests per second if every key used its tier's full rate, against the "
        "account throttle (GetAccount throttleSettings.rateLimit)."
    )
    burst_limit = serializers.IntegerField(allow_null=True)
    unthrottled_keys = serializers.IntegerField(
        help_text="Keys on tiers with no rate: only the account throttle bounds them."
    )
    foreign_counted = serializers.BooleanField(
        help_text="Whether keys and usage plans made outside Tollgate are in the figures (the "
        "reconciler counts them in one account and region)."
    )
    top_tiers = TopTierSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())
    counted_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the keys and usage plans were counted: the figures are at most a "
        "minute old (a write is checked against an exact count).",
    )


def _figure(figure: Figure) -> dict[str, Any]:
    return {
        "used": figure.used,
        "limit": figure.cap,
        "percent": figure.percent,
        "warning": figure.warn,
        "full": figure.full,
    }


def _place(place: PlaceCapacity) -> dict[str, Any]:
    location = place.location
    return {
        "connection_id": location.connection_id,
        "connection_name": place.connection_name,
        "account_id": location.account_id,
        "region": location.region,
        "api_keys": _figure(place.api_keys),
        "usage_plans": _figure(place.usage_plans),
        "throttle": _figure(place.throttle),
        "burst_limit": place.burst_limit,
        "unthrottled_keys": place.unthrottled_keys,
        "foreign_counted": place.foreign is not None,
        "top_tiers": [{"tier": name, "api_keys": count} for name, count in place.top_tiers],
        "warnings": place.warnings,
        "counted_at": place.counted_at,
    }


class CapacityView(ETagMixin, APIView):
    audience = STAFF

    @extend_schema(
        summary="Each AWS account and region against API Gateway's limits (staff)",
        description="API keys (10,000 per account and region, a hard limit), usage plans (300) "
        "and the account throttle, as the console's capacity page shows them. Tollgate warns at "
        "80% and refuses a key, a tier switch or a tier change that would pass a limit.",
        responses=PlaceSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        places = [_place(place) for place in capacity_with_foreign()]
        return Response(PlaceSerializer(places, many=True).data)
