"""The ops metrics page: API-wide CloudWatch charts and per-key usage figures."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from portal.access import staff_required
from portal.usage import metrics as selectors
from portal.usage import watch as per_key


@staff_required
def ops_metrics(request: HttpRequest) -> HttpResponse:
    chosen = selectors.RANGES.get(
        request.GET.get("range", ""), selectors.RANGES[selectors.DEFAULT_RANGE]
    )
    stages = selectors.dashboard_stages()
    selected = next((s for s in stages if str(s.pk) == request.GET.get("stage")), None)
    selected = selected or (stages[0] if stages else None)
    every = selectors.stage_dims(stages)
    fetched = selectors.fetch_api_metrics(every, chosen)
    shown = None
    places: list[selectors.PlaceTotals] = []
    if fetched.metrics is not None and selected is not None:
        shown = selectors.stage_metrics(fetched.metrics, selectors.dims(selected))
        # Shaped when fetched; an answer made without them (none in production) is shaped here.
        places = fetched.places or selectors.place_totals(fetched.metrics, every)
    today = timezone.now().date()
    watch = per_key.quota_watch(today, limit=per_key.QUOTA_ROWS)
    return render(
        request,
        "usage/ops_metrics.html",
        {
            "ranges": selectors.RANGES.values(),
            "chosen": chosen,
            "stages": stages,
            "selected": selected,
            "fetched": fetched,
            "shown": shown,
            # Per account and region, only when the stages are in more than one.
            "places": places if len(places) > 1 else [],
            "all_places": selectors.all_places(places) if len(places) > 1 else None,
            "chart": shown.chart_data(chosen.period) if shown else None,
            "top_customers": per_key.top_customers(today),
            "over_quota": [row for row in watch if row["over"]],
            "near_quota": [row for row in watch if not row["over"]],
            "watch_counts": per_key.quota_watch_counts(today),
            "watch_listed": len(watch),
            "month_start": today.replace(day=1),
        },
    )
