"""Usage's answer to events of the tiers (connected in UsageConfig.ready)."""

from typing import Any

from django.dispatch import receiver

from plans.models import Plan
from plans.signals import tier_quota_changed
from portal.sync import enqueue_on_commit


@receiver(tier_quota_changed, dispatch_uid="usage-roll-ups-follow-the-quota")
def rebuild_roll_ups_of_tier(sender: Any, *, plan: Plan, **kwargs: Any) -> None:
    """The ops page and the quota alerts leave a tier's roll-up rows out while they are of its
    old quota: rebuild them now, not at the next collection (up to five minutes later)."""
    enqueue_on_commit("portal.usage.tasks.refresh_usage_totals")
