"""The plans domain's models, one module per job; import them from here (`plans.models`)."""

from plans.models.copies import PlanCopy
from plans.models.moves import (
    ACTIVE_MOVE_STATUSES,
    TierMove,
    TierMoveItem,
    TierMoveOutcome,
    TierMoveStatus,
)
from plans.models.requests import MAX_TEXT, TierRequest, TierRequestQuerySet, TierRequestState
from plans.models.subscriptions import (
    ACTIVE_SUBSCRIPTION,
    Subscription,
    SubscriptionQuerySet,
    SubscriptionStatus,
    active_subscription_through,
)
from plans.models.tiers import (
    BURST_LIMITS,
    HTTP_METHODS,
    MAX_BURST,
    MAX_QUOTA,
    MAX_RATE,
    RATE_LIMITS,
    RESOURCE_PATH,
    ApiStage,
    MethodThrottle,
    Plan,
    PlanQuerySet,
    QuotaPeriod,
)

__all__ = [
    "ACTIVE_MOVE_STATUSES",
    "ACTIVE_SUBSCRIPTION",
    "BURST_LIMITS",
    "HTTP_METHODS",
    "MAX_BURST",
    "MAX_QUOTA",
    "MAX_RATE",
    "MAX_TEXT",
    "RATE_LIMITS",
    "RESOURCE_PATH",
    "ApiStage",
    "MethodThrottle",
    "Plan",
    "PlanCopy",
    "PlanQuerySet",
    "QuotaPeriod",
    "Subscription",
    "SubscriptionQuerySet",
    "SubscriptionStatus",
    "TierMove",
    "TierMoveItem",
    "TierMoveOutcome",
    "TierMoveStatus",
    "TierRequest",
    "TierRequestQuerySet",
    "TierRequestState",
    "active_subscription_through",
]
