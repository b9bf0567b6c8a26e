"""Shared checks for the resilience tests: is API Gateway exactly what the database says?"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from keys.models import ApiKey
from keys.sync import api_key_spec
from plans.models import Plan, Subscription, SubscriptionStatus
from plans.sync import usage_plan_spec
from portal.aws import apigateway as aws
from portal.sync import SyncStatus

OWNER_TAG = aws.OWNER_TAG


def _paged(apigw: Any, operation: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in apigw.get_paginator(operation).paginate(
        **params, PaginationConfig={"PageSize": 500}
    ):
        items.extend(page.get("items", []))
    return items


@dataclass
class AwsState:
    keys: dict[str, dict[str, Any]]
    plans: dict[str, dict[str, Any]]
    members: dict[str, set[str]] = field(default_factory=dict)  # key id -> usage plan ids

    def tag_counts(self) -> Counter[str]:
        return Counter(
            (k.get("tags") or {}).get(OWNER_TAG, "")
            for k in [*self.keys.values(), *self.plans.values()]
        )

    def duplicates(self) -> dict[str, int]:
        return {tag: n for tag, n in self.tag_counts().items() if tag and n > 1}


def read_aws(apigw: Any) -> AwsState:
    """Everything API Gateway holds, read with a plain boto3 client (no limiter, no faults)."""
    keys = {k["id"]: k for k in _paged(apigw, "get_api_keys", includeValues=False)}
    plans = {p["id"]: p for p in _paged(apigw, "get_usage_plans")}
    members: dict[str, set[str]] = {}
    for plan_id in plans:
        for item in _paged(apigw, "get_usage_plan_keys", usagePlanId=plan_id):
            members.setdefault(item["id"], set()).add(plan_id)
    return AwsState(keys=keys, plans=plans, members=members)


def differences(apigw: Any) -> list[str]:
    """Every way AWS differs from the database; [] when they are exactly equal."""
    state = read_aws(apigw)
    problems: list[str] = []

    for tag, n in sorted(state.duplicates().items()):
        problems.append(f"duplicate: {n} AWS objects carry {OWNER_TAG}={tag}")

    plan_of_customer = dict(
        Subscription.objects.filter(status=SubscriptionStatus.ACTIVE).values_list(
            "customer_id", "plan__aws_id"
        )
    )
    live_key_ids: set[str] = set()
    for key in ApiKey.objects.select_related("customer").order_by("pk"):
        label = f"key {key.pk} {key.name!r} (v{key.desired_version}, {key.sync_status})"
        if key.is_revoked:
            if key.aws_id and key.aws_id in state.keys:
                problems.append(f"{label}: revoked but {key.aws_id} still in AWS")
            continue
        if not key.aws_id:
            problems.append(f"{label}: live but has no AWS id")
            continue
        live_key_ids.add(key.aws_id)
        current = state.keys.get(key.aws_id)
        if current is None:
            problems.append(f"{label}: {key.aws_id} missing from AWS")
            continue
        spec = api_key_spec(key)
        if current.get("name") != spec.name:
            problems.append(f"{label}: AWS name {current.get('name')!r} != {spec.name!r}")
        if (current.get("description") or "") != spec.description:
            problems.append(
                f"{label}: AWS description {current.get('description')!r} != {spec.description!r}"
            )
        if bool(current.get("enabled")) != spec.enabled:
            problems.append(f"{label}: AWS enabled={current.get('enabled')} != {spec.enabled}")
        if (current.get("tags") or {}).get(OWNER_TAG) != spec.owner_id:
            problems.append(f"{label}: AWS tag {current.get('tags')} != {spec.owner_id}")
        want = (
            {plan_of_customer[key.customer_id]} if plan_of_customer.get(key.customer_id) else set()
        )
        have = state.members.get(key.aws_id, set())
        if have != want:
            problems.append(f"{label}: in usage plans {sorted(have)}, expected {sorted(want)}")

    for aws_id, item in state.keys.items():
        if aws_id not in live_key_ids:
            problems.append(
                f"AWS key {aws_id} {item.get('name')!r} tags={item.get('tags')} has no live DB row"
            )

    live_plan_ids: set[str] = set()
    for plan in Plan.objects.prefetch_related("stages").order_by("pk"):
        label = f"tier {plan.pk} {plan.name!r} (v{plan.desired_version}, {plan.sync_status})"
        if plan.is_archived:
            if plan.aws_id and plan.aws_id in state.plans:
                problems.append(f"{label}: archived but {plan.aws_id} still in AWS")
            continue
        live_plan_ids.add(plan.aws_id)
        current = state.plans.get(plan.aws_id)
        if current is None:
            problems.append(f"{label}: usage plan {plan.aws_id!r} missing from AWS")
            continue
        for d in aws.usage_plan_differences(aws.usage_plan_state(current), usage_plan_spec(plan)):
            problems.append(f"{label}: {d.field} is {d.aws} in AWS, {d.ours} here")
    for plan_id, item in state.plans.items():
        if plan_id not in live_plan_ids:
            problems.append(
                f"AWS usage plan {plan_id} {item.get('name')!r} tags={item.get('tags')} "
                "has no live DB row"
            )

    for model in (Plan, ApiKey):
        for row in model._default_manager.exclude(sync_status=SyncStatus.SYNCED):
            problems.append(
                f"{model.__name__} {row.pk} is {row.sync_status}: {row.sync_error or '-'}"
            )
    return problems


def assert_aws_equals_db(apigw: Any) -> None:
    problems = differences(apigw)
    assert problems == [], "AWS differs from the database:\n" + "\n".join(problems)


def status_counts() -> dict[str, Counter[str]]:
    return {
        model.__name__: Counter(model._default_manager.values_list("sync_status", flat=True))
        for model in (Plan, ApiKey)
    }


def wait_worker_idle(timeout: float = 60.0, quiet_for: float = 1.0) -> None:
    """Wait until the in-thread worker holds no task: none running, reserved or scheduled (ETA).

    Sync rows can be settled while duplicate deliveries or retries are still queued; letting them
    run into the next test's (flushed) database only makes noise.
    """
    import time

    from celery.worker import state

    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        busy = (
            state.active_requests
            or state.reserved_requests
            or getattr(state, "scheduled_requests", None)
        )
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_for:
            return
        time.sleep(0.1)
    raise AssertionError(f"the worker still had tasks after {timeout}s")
