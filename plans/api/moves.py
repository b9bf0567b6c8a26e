"""Bulk tier moves over REST: thin callers of plans.moves, the same as the console's pages and
`manage.py move_tier`. Staff read them; admins start, cancel and resume them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from plans import moves
from plans.models import Plan, TierMove, TierMoveItem, TierMoveOutcome, TierMoveStatus
from portal.rest.permissions import STAFF
from portal.rest.serializers import ProblemSerializer
from portal.rest.viewsets import ScopedViewSet, request_ip


class TierMoveStartSerializer(serializers.Serializer[Any]):
    from_tier = serializers.SlugField(help_text="The slug of the tier whose customers move.")
    to_tier = serializers.SlugField(help_text="The slug of the live tier they move to.")


class TierMoveItemSerializer(serializers.ModelSerializer[TierMoveItem]):
    outcome = serializers.ChoiceField(choices=TierMoveOutcome.choices)

    class Meta:
        model = TierMoveItem
        fields = ["customer", "customer_name", "outcome", "reason", "created_at"]
        read_only_fields = fields


class TierMoveSerializer(serializers.ModelSerializer[TierMove]):
    from_tier = serializers.SlugField(source="from_plan.slug")
    to_tier = serializers.SlugField(source="to_plan.slug")
    status = serializers.ChoiceField(choices=TierMoveStatus.choices)
    stalled = serializers.SerializerMethodField(
        help_text="Queued or running, but no progress for two minutes: POST …/resume."
    )
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)

    class Meta:
        model = TierMove
        fields = ["id", "from_tier", "to_tier", "status", "customers_total", "customers_moved"]
        fields += ["customers_refused", "customers_failed", "keys_total", "keys_moved"]
        fields += ["keys_failed", "keys_waiting", "last_error", "stalled", "created_by"]
        fields += ["created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_stalled(self, move: TierMove) -> bool:
        return moves.is_stalled(move)


class TierMoveDetailSerializer(TierMoveSerializer):
    not_moved = serializers.SerializerMethodField(
        help_text=f"The customers refused or failed, and why (the first {moves.SHOWN_PROBLEMS})."
    )

    class Meta(TierMoveSerializer.Meta):
        fields = [*TierMoveSerializer.Meta.fields, "not_moved"]
        read_only_fields = fields

    def get_not_moved(self, move: TierMove) -> list[dict[str, Any]]:
        return list(TierMoveItemSerializer(moves.move_problems(move), many=True).data)


def _tier(slug: str, field: str) -> Plan:
    plan = Plan.objects.filter(slug=slug).first()
    if plan is None:
        raise exceptions.ValidationError({field: [f"No tier has the slug “{slug}”."]})
    return plan


@extend_schema_view(
    list=extend_schema(summary="List bulk tier moves, newest first (staff)"),
    retrieve=extend_schema(
        summary="One tier move: its progress, and the customers who did not move (staff)",
        responses=TierMoveDetailSerializer,
    ),
)
class TierMoveViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The console's “Move customers…” (/console/tiers/moves/), through plans.moves."""

    audience = STAFF
    queryset = TierMove.objects.select_related("from_plan", "to_plan", "created_by")
    serializer_class = TierMoveSerializer
    ordering = ("-created_at", "-pk")
    ordering_fields = ["created_at", "pk"]
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self) -> Any:
        return TierMoveDetailSerializer if self.action == "retrieve" else TierMoveSerializer

    def _respond(self, move: TierMove, code: int) -> Response:
        move = self.queryset.get(pk=move.pk)
        return Response(TierMoveDetailSerializer(move).data, status=code)

    @extend_schema(
        summary="Move every customer of one tier to another (admin)",
        description="Each customer moves as one switch would (its own audit event; its keys "
        "follow into the new tier's usage plans through the key syncs, at the AWS rate "
        "budget). Answers **201** at once; follow `GET /api/v1/tier-moves/{id}`. The same "
        "tier, an archived target, a tier nobody is on or a move AWS's caps would refuse is "
        "a **400**; a move already running into or out of either tier is a **409**.",
        request=TierMoveStartSerializer,
        responses={201: TierMoveDetailSerializer},
        examples=[
            OpenApiExample(
                "Free to Free 2027",
                value={"from_tier": "free", "to_tier": "free-2027"},
                request_only=True,
            )
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = TierMoveStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        move = moves.tier_move_start(
            actor=request.user,
            from_plan=_tier(body.validated_data["from_tier"], "from_tier"),
            to_plan=_tier(body.validated_data["to_tier"], "to_tier"),
            ip=request_ip(request),
        )
        return self._respond(move, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Stop a move before its next customer (admin)",
        description="Customers already moved stay on the new tier. **409** once it finished.",
        request=None,
        responses={
            200: TierMoveDetailSerializer,
            409: OpenApiResponse(ProblemSerializer, description="The move has finished."),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        move = moves.tier_move_cancel(
            actor=request.user, move=self.get_object(), ip=request_ip(request)
        )
        return self._respond(move, status.HTTP_200_OK)

    @extend_schema(
        summary="Send a stalled or failed move to a worker again (admin)",
        description="Customers already moved or refused are not taken again. **409** for a "
        "move that is done or cancelled.",
        request=None,
        responses={
            202: TierMoveDetailSerializer,
            409: OpenApiResponse(ProblemSerializer, description="The move is over."),
        },
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        move = moves.tier_move_resume(
            actor=request.user, move=self.get_object(), ip=request_ip(request)
        )
        return self._respond(move, status.HTTP_202_ACCEPTED)
