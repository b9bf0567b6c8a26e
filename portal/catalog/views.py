"""The public catalog: tiers side by side (pricing) and an API reference per stage.

Both are open to visitors: the tiers page is how people choose before signing up, and the
references hold nothing secret - the export drops API Gateway's integration details, the
invoke URL answers only to a valid key, and a signed-in customer sees only the first
characters of their own keys. Pages read the database only; AWS is called by Celery tasks.
"""

from __future__ import annotations

from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from keys.models import ApiKey
from plans.calls import stage_url
from plans.locations import quota_scope_words
from plans.models import ApiStage
from plans.selectors import active_subscription, tiers_offered
from portal.access import organisation_of
from portal.catalog.presenters import (
    KEY_PLACEHOLDER,
    method_limit_words,
    operations,
    quota_words,
    snippets,
    tier_limits,
)
from portal.catalog.services import current_document
from portal.customers.models import Customer


def _customer(request: HttpRequest) -> Customer | None:
    return organisation_of(request.user)


def _offered_stages() -> Q:
    return Q(available=True, missing_since__isnull=True)


def _published_stages() -> list[ApiStage]:
    """Offered stages that at least one live tier covers: the APIs we sell."""
    return list(
        ApiStage.objects.filter(_offered_stages(), plans__archived_at__isnull=True).distinct()
    )


def pricing(request: HttpRequest) -> HttpResponse:
    stage_filter = ApiStage.objects.filter(_offered_stages()).select_related("connection")
    plans = list(
        tiers_offered().prefetch_related(
            Prefetch("stages", queryset=stage_filter), "method_throttles"
        )
    )
    customer = _customer(request)
    subscription = active_subscription(customer) if customer else None
    with_docs = {stage.pk for stage in _published_stages() if current_document(stage) is not None}
    tiers = [
        {
            "plan": plan,
            "quota": quota_words(plan),
            "quota_scope": quota_scope_words(plan, list(plan.stages.all())),
            "stages": list(plan.stages.all()),
            "method_limits": method_limit_words(plan),
            "current": subscription is not None and subscription.plan_id == plan.pk,
        }
        for plan in plans
    ]
    return render(
        request,
        "catalog/pricing.html",
        {"tiers": tiers, "documented": with_docs, "customer": customer},
    )


def api_list(request: HttpRequest) -> HttpResponse:
    entries = []
    for stage in _published_stages():
        document = current_document(stage)
        entries.append(
            {
                "stage": stage,
                "document": document,
                "url": stage_url(stage),
                "tiers": list(stage.plans.listed()),
            }
        )
    return render(request, "catalog/apis.html", {"entries": entries})


def reference(request: HttpRequest, stage_id: int) -> HttpResponse:
    stage = next((s for s in _published_stages() if s.pk == stage_id), None)
    if stage is None:
        raise Http404("No such API")
    document = current_document(stage)
    plans = list(stage.plans.listed().prefetch_related("method_throttles"))
    customer = _customer(request)
    subscription = active_subscription(customer) if customer else None
    keys = (
        list(
            ApiKey.objects.live()
            .filter(customer=customer, enabled=True)
            .exclude(display_prefix="")
            .order_by("name")
        )
        if customer
        else []
    )
    chosen = next((k for k in keys if k.display_prefix == request.GET.get("key")), None)
    chosen = chosen or (keys[0] if keys else None)
    key_text = f"{chosen.display_prefix}…" if chosen else KEY_PLACEHOLDER
    base = stage_url(stage)
    ops = operations(document.document) if document else []
    for op in ops:
        op.limits = tier_limits(plans, stage, op.method, op.path) if op.key_required else []
        op.snippets = snippets(base, op, key_text)
    return render(
        request,
        "catalog/reference.html",
        {
            "stage": stage,
            "document": document,
            "is_current": document is not None and document.deployment_id == stage.deployment_id,
            "base_url": base,
            "operations": ops,
            "plans": plans,
            "keys": keys,
            "chosen": chosen,
            "key_text": key_text,
            "customer": customer,
            "current_plan_id": subscription.plan_id if subscription else None,
        },
    )
