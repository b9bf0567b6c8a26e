"""The console's capacity page: each account and region against API Gateway's ceilings."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.access import staff_required
from portal.connections.capacity import API_KEYS, USAGE_PLANS, WARN_SHARE, cap
from portal.reconcile.capacity import capacity_with_foreign
from portal.reconcile.counts import max_age


@staff_required
def capacity(request: HttpRequest) -> HttpResponse:
    places = capacity_with_foreign()
    return render(
        request,
        "console/capacity.html",
        {
            "places": places,
            "warnings": [warning for place in places for warning in place.warnings],
            "key_cap": cap(API_KEYS),
            "plan_cap": cap(USAGE_PLANS),
            "warn_percent": int(WARN_SHARE * 100),
            "counted_at": places[0].counted_at if places else None,
            "count_seconds": int(max_age().total_seconds()),
        },
    )
