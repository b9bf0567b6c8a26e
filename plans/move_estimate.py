"""What a bulk tier move would do and the pace it keeps (plans/moves.py): the customers and keys
it takes, the AWS calls and least time at the ceiling, the window of keys waiting for AWS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from plans.locations import tier_locations
from plans.models import ACTIVE_SUBSCRIPTION, Plan, TierMove, TierMoveItem
from portal.aws.limiter import ALL, configured_budgets
from portal.aws.location import Location
from portal.customers.models import Customer

# How much AWS work (in seconds of one account and region's budget) may wait in the queue.
WINDOW_SECONDS = 30.0
MAX_WAIT = 60.0
# A key that stays in both tiers' places leaves one usage plan and joins the other there:
# DeleteUsagePlanKey + CreateUsagePlanKey, the minimum API Gateway allows.
CALLS_PER_KEY_STAYING = 2


def customers_on(plan: Plan) -> QuerySet[Customer]:
    """The customers whose tier now is `plan`."""
    return Customer.objects.filter(ACTIVE_SUBSCRIPTION, subscriptions__plan=plan)


def customers_left(move: TierMove) -> QuerySet[Customer]:
    """The move's work left: customers still on its source tier without an outcome in it."""
    settled = TierMoveItem.objects.filter(move=move, customer__isnull=False).values("customer_id")
    return Customer.objects.filter(
        ACTIVE_SUBSCRIPTION, subscriptions__plan_id=move.from_plan_id
    ).exclude(pk__in=settled)


def live_keys(customers: QuerySet[Any]) -> QuerySet[Any]:
    """The live keys of `customers` (a query of customer ids), in one query of their own: at
    10,000 customers a semi-join on the keys is twice as fast as counting through a join.

    The keys domain sits above this one (pyproject.toml's layers), so its model is reached
    through the customer's reverse relation, never imported; live is "not revoked" (ApiKey.live).
    """
    keys = Customer._meta.get_field("api_keys").related_model
    return keys._default_manager.filter(revoked_at__isnull=True, customer_id__in=customers)


def count_customers_and_keys(customers: QuerySet[Customer]) -> tuple[int, int]:
    ids = customers.order_by().values("pk")
    return customers.order_by().count(), live_keys(ids).count()


@dataclass(frozen=True)
class PlaceEstimate:
    location: Location
    calls: int
    seconds: float
    how: str  # which calls, in words

    @property
    def label(self) -> str:
        return self.location.label


@dataclass(frozen=True)
class MoveEstimate:
    customers: int
    keys: int
    places: list[PlaceEstimate]

    @property
    def calls(self) -> int:
        return sum(place.calls for place in self.places)

    @property
    def seconds(self) -> float:
        """Each account and region has a budget of its own: the slowest place sets the time."""
        return max((place.seconds for place in self.places), default=0.0)

    @property
    def minutes(self) -> float:
        return self.seconds / 60


def _seconds(calls: int, operation_calls: dict[str, int]) -> float:
    """The least time the limiter's budgets (AWS's published rates, or the account's raised
    ones) allow for `calls` in one place, `operation_calls` of them with budgets of their own."""
    budgets = configured_budgets()
    seconds = calls / budgets[ALL].rate
    for operation, count in operation_calls.items():
        if operation in budgets and count:
            seconds = max(seconds, count / budgets[operation].rate)
    return seconds


def move_estimate(from_plan: Plan, to_plan: Plan, *, keys: int | None = None) -> MoveEstimate:
    """How many customers and keys would move, and the AWS calls and least time that takes at
    the ceiling, place by place (`keys`: counted already)."""
    customers, counted = count_customers_and_keys(customers_on(from_plan))
    keys = counted if keys is None else keys
    old = {place.key: place.location for place in tier_locations(from_plan)}
    new = {place.key: place.location for place in tier_locations(to_plan)}
    places: list[PlaceEstimate] = []
    for key, location in new.items():
        if key in old:
            calls = keys * CALLS_PER_KEY_STAYING
            how = "DeleteUsagePlanKey + CreateUsagePlanKey per key"
            places.append(PlaceEstimate(location, calls, _seconds(calls, {}), how))
        else:  # a copy of each key is made there, in the new usage plan
            calls = keys * 2
            how = "CreateApiKey + CreateUsagePlanKey per key (a new copy)"
            places.append(
                PlaceEstimate(location, calls, _seconds(calls, {"CreateApiKey": keys}), how)
            )
    for key, location in old.items():
        if key not in new:  # the keys' copies there are deleted
            how = "DeleteApiKey per key (the copy is removed)"
            places.append(
                PlaceEstimate(location, keys, _seconds(keys, {"DeleteApiKey": keys}), how)
            )
    return MoveEstimate(customers, keys, places)


def window_keys() -> int:
    """Keys of a move that may wait for AWS at once: WINDOW_SECONDS of one place's budget."""
    return max(1, int(WINDOW_SECONDS * configured_budgets()[ALL].rate / CALLS_PER_KEY_STAYING))


def drain_seconds(keys: int) -> float:
    return min(MAX_WAIT, max(1.0, keys * CALLS_PER_KEY_STAYING / configured_budgets()[ALL].rate))
