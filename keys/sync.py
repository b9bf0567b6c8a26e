"""Converge one API key onto API Gateway: the key itself and the usage plan it belongs to."""

from __future__ import annotations

from django.utils import timezone

from keys.models import ApiKey
from plans.models import Subscription
from portal.aws import apigateway as aws
from portal.aws.errors import AwsNotFound
from portal.errors import PermanentSyncError, TransientSyncError


def api_key_spec(key: ApiKey) -> aws.ApiKeySpec:
    expired = key.expires_at is not None and key.expires_at <= timezone.now()
    return aws.ApiKeySpec(
        owner_id=f"key:{key.public_id}",
        name=key.aws_name,
        description=f"{key.customer.name}: {key.name}",
        enabled=key.enabled and not expired,
    )


def _target_usage_plan(key: ApiKey) -> str | None:
    subscription = (
        Subscription.objects.active()
        .select_related("plan")
        .filter(customer_id=key.customer_id)
        .first()
    )
    if subscription is None:
        return None
    if not subscription.plan.aws_id:
        raise TransientSyncError(
            f"Waiting for the {subscription.plan.name} tier to reach API Gateway."
        )
    return subscription.plan.aws_id


def push_key(key: ApiKey) -> None:
    spec = api_key_spec(key)
    if key.is_revoked:
        leftover = key.aws_id or getattr(aws.find_api_key(spec), "aws_id", "")
        if leftover:
            aws.delete_api_key(leftover)
        return

    plan_aws_id = _target_usage_plan(key)
    known_plans: list[str] | None = None
    if not key.aws_id:
        orphan = aws.find_api_key(spec)
        if orphan is not None:
            aws.update_api_key(orphan.aws_id, spec)
            aws_id = orphan.aws_id
            digest, prefix = aws.fingerprint_of(aws_id)
        else:
            created = aws.create_api_key(spec)
            aws_id, digest, prefix = created.aws_id, created.secret_sha256, created.display_prefix
            known_plans = []
        # Saved at once, outside any transaction: a crash after this line must not forget it.
        ApiKey.objects.filter(pk=key.pk).update(
            aws_id=aws_id, secret_sha256=digest, display_prefix=prefix
        )
        key.aws_id = aws_id
    else:
        try:
            aws.update_api_key(key.aws_id, spec)
        except AwsNotFound as exc:
            raise PermanentSyncError(
                "This key no longer exists in API Gateway (deleted outside Tollgate). "
                "Revoke it and create a new one."
            ) from exc
    aws.ensure_key_in_plan(key.aws_id, plan_aws_id, known_plans=known_plans)
