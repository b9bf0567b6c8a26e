from django.conf import settings

from plans.models import Subscription, SubscriptionStatus
from portal.customers.models import Customer


def invoke_urls_for(customer: Customer) -> list[str]:
    """The invoke URL of each stage the customer's tier covers (the curl example uses the first)."""
    subscription = (
        Subscription.objects.filter(customer=customer, status=SubscriptionStatus.ACTIVE)
        .select_related("plan")
        .first()
    )
    if subscription is None:
        return []
    return [
        f"https://{stage.rest_api_id}.execute-api.{stage.region or settings.AWS_REGION}"
        f".amazonaws.com/{stage.stage_name}"
        for stage in subscription.plan.stages.all()
    ]
