"""Simulated API traffic for the local demo: per-key usage and API-wide CloudWatch metrics.

A local-AWS tool only (`manage.py simulate_traffic`): it writes per-key daily usage into the
local AWS server's usage store (`POST /_localaws/usage`, which real AWS does not have) and
publishes the `AWS/ApiGateway` metrics API Gateway would have published, so the dashboard's
charts and usage pages have something true-to-life to show.

The model, seeded (`random.Random(seed)`), for every live, enabled key in AWS on a tier in AWS:

* each customer has a base demand drawn from a lognormal mix (mostly light, a few heavy), as a
  share of its tier's quota (or an absolute figure for a tier without quota);
* days follow a weekly shape (weekends quieter) and hours a business-hours shape (UTC), with
  day-to-day and period-to-period noise;
* API Gateway's limits apply in time order: a period allows at most `rate x seconds` requests
  (throttle) and the calendar quota period (DAY / WEEK / MONTH, UTC) at most the quota; what is
  refused is answered 429, counted in Count and 4XXError, never in usage;
* of the requests let through, about 1.5% end in other 4XX answers and 0.5-2% in 5XX; all of
  them count in usage (the key made them);
* latency is lognormal with a long tail; IntegrationLatency is Latency minus API Gateway's own
  few milliseconds.

Metrics are published at 1-minute resolution for the last 3 hours, 5 minutes for the 26 hours
before, and 1 hour before that (what the 3 h / 24 h / 7 d and 30 d charts read; finer data
further back would make the local CloudWatch, which scans every stored datapoint per period,
slow to answer). Latency distributions are published as a sample of at most a few
observations per period (`LATENCY_SAMPLES`): the local server stores each counted observation
separately. Timestamps are all in the past.

A tier covering stages in several accounts and regions gets each stage's metrics published in
that stage's own account and region (`at` its location), as API Gateway would.

Re-running sets the same days' usage again (set, not add), but metrics accumulate: a second run
over the same days doubles the charts. Run it once on a fresh local AWS (`make demo` does).
"""

from __future__ import annotations

import datetime
import math
import os
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.utils import timezone

from keys.models import ApiKey
from localaws.testing import LocalAwsControl
from plans.locations import stage_locations
from plans.models import Plan, Subscription
from portal.aws.location import Location, at
from portal.aws.metrics import PeriodMetrics, StageDims, publish_api_metrics
from portal.usage.periods import period_bounds
from portal.usage.services import CollectionResult, collect_usage

FINE_WINDOW = datetime.timedelta(hours=3)  # 1-minute datapoints
MEDIUM_WINDOW = datetime.timedelta(hours=26)  # 5-minute datapoints before the fine window
LATENCY_SAMPLES = {60: 4, 300: 10, 3600: 3}  # observations published per stage and period
USAGE_BATCH = 2000

# Share of a day's requests in each UTC hour: quiet nights, a business-hours plateau.
HOUR_SHAPE = (
    0.25, 0.2, 0.18, 0.18, 0.2, 0.3, 0.5, 0.8, 1.1, 1.35, 1.5, 1.55,
    1.5, 1.55, 1.6, 1.55, 1.45, 1.25, 1.0, 0.8, 0.6, 0.45, 0.35, 0.3,
)  # fmt: skip
_HOUR_TOTAL = sum(HOUR_SHAPE)
WEEKDAY_SHAPE = (1.0, 1.05, 1.05, 1.0, 0.9, 0.4, 0.3)  # Monday .. Sunday


class PlacedStage(NamedTuple):
    """A stage as CloudWatch names it, in its account and region: two accounts may each have
    an API and stage of the same names in one region."""

    dims: StageDims
    location: Location

    @property
    def order(self) -> tuple[int, str, str, str]:
        return (
            self.location.connection_id or 0,
            self.dims.region,
            self.dims.api_name,
            self.dims.stage_name,
        )


@dataclass
class _Key:
    pk: int
    aws_id: str
    customer_id: int
    plan: Plan
    stages: list[PlacedStage]
    stage_weights: list[float]
    daily_demand: float
    error_4xx: float


@dataclass
class SimulationResult:
    keys: int = 0
    requests: int = 0  # every request made, 429s included (CloudWatch Count)
    throttled: int = 0  # answered 429: over the throttle or the quota
    errors_4xx: int = 0  # 429s included, as CloudWatch counts them
    errors_5xx: int = 0
    usage: dict[tuple[int, datetime.date], int] = field(default_factory=dict)  # (key pk, day)
    throttled_by_key: dict[int, int] = field(default_factory=dict)
    published: dict[PlacedStage, list[PeriodMetrics]] = field(default_factory=dict)
    usage_calls: int = 0
    metric_calls: int = 0
    collected: CollectionResult | None = None


def _floor(moment: datetime.datetime, seconds: int) -> datetime.datetime:
    epoch = int(moment.timestamp())
    return datetime.datetime.fromtimestamp(epoch - epoch % seconds, datetime.UTC)


def time_slots(
    start: datetime.datetime, now: datetime.datetime
) -> list[tuple[datetime.datetime, int]]:
    """(slot start, seconds) from `start` to the last whole minute before `now`, oldest first:
    hours, then 5 minutes for the last 29 hours, then minutes for the last 3."""
    end = _floor(now, 60)
    medium = max(start, _floor(end - FINE_WINDOW - MEDIUM_WINDOW, 3600))
    fine = max(medium, _floor(end - FINE_WINDOW, 300))
    slots = []
    for lower, upper, step in ((start, medium, 3600), (medium, fine, 300), (fine, end, 60)):
        moment = lower
        while moment < upper:
            slots.append((moment, step))
            moment += datetime.timedelta(seconds=step)
    return slots


class _Traffic:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, expected: float) -> int:
        """A whole number of requests with mean `expected` (stochastic rounding)."""
        whole = math.floor(expected)
        return whole + (1 if self.rng.random() < expected - whole else 0)

    def binomial(self, n: int, p: float) -> int:
        if n <= 0 or p <= 0:
            return 0
        if n < 50:
            return sum(1 for _ in range(n) if self.rng.random() < p)
        spread = math.sqrt(n * p * (1 - p))
        return min(n, max(0, round(n * p + spread * self.rng.gauss(0, 1))))

    def latency(self, median_ms: float) -> tuple[float, float]:
        """(Latency, IntegrationLatency) of one request in ms: lognormal with a long tail."""
        integration = self.rng.lognormvariate(math.log(median_ms), 0.45)
        if self.rng.random() < 0.04:  # cold starts, slow queries: the tail p99 shows
            integration *= self.rng.lognormvariate(math.log(4.0), 0.5)
        overhead = 1.5 + self.rng.lognormvariate(math.log(4.0), 0.5)
        return round(integration + overhead, 1), round(integration, 1)


def _eligible_keys(rng: random.Random, force_over_quota: set[int]) -> list[_Key]:
    keys = list(
        ApiKey.objects.live()
        .filter(enabled=True)
        .exclude(aws_id="")
        .order_by("pk")
        .values_list("pk", "aws_id", "customer_id")
    )
    subscriptions = (
        Subscription.objects.active()
        .filter(
            customer_id__in={customer for _, _, customer in keys},
            plan__archived_at__isnull=True,
        )
        .exclude(plan__aws_id="")
        .select_related("plan")
        .prefetch_related("plan__stages")
    )
    plan_of = {s.customer_id: s.plan for s in subscriptions}
    found = []
    for pk, aws_id, customer_id in keys:
        plan = plan_of.get(customer_id)
        if plan is None:
            continue
        covered = sorted(plan.stages.all(), key=lambda s: s.pk)
        where = stage_locations(covered)
        stages = [
            PlacedStage(StageDims(stage.region, stage.api_name, stage.stage_name), where[stage.pk])
            for stage in covered
        ]
        if not stages:
            continue
        # Most customers use a fraction of their quota; the lognormal's tail makes a few heavy.
        share = rng.lognormvariate(math.log(0.3), 0.9)
        if pk in force_over_quota:
            share = 3.0
        if plan.quota_limit:
            period_days = {"DAY": 1, "WEEK": 7, "MONTH": 30}[plan.quota_period]
            demand = share * plan.quota_limit / period_days
        else:
            demand = share * 5000
        if plan.throttle_rate is not None:
            demand = min(demand, float(plan.throttle_rate) * 86400 * 0.8)
        weights = [rng.uniform(0.5, 1.5) for _ in stages]
        total = sum(weights)
        found.append(
            _Key(
                pk=pk,
                aws_id=aws_id,
                customer_id=customer_id,
                plan=plan,
                stages=stages,
                stage_weights=[w / total for w in weights],
                daily_demand=max(demand, 1.0),
                error_4xx=rng.uniform(0.005, 0.03),
            )
        )
    return found


def _quota_limit(plan: Plan, period_start: datetime.date) -> int | None:
    if plan.quota_limit is None:
        return None
    limit = plan.quota_limit
    created = plan.created_at.date() if plan.created_at else None
    if (
        plan.quota_offset
        and created
        and period_bounds(plan.quota_period, created)[0] == period_start
    ):
        limit -= plan.quota_offset  # API Gateway's offset applies in the plan's first period
    return limit


def simulate(
    *,
    days: int = 30,
    seed: int = 1,
    now: datetime.datetime | None = None,
    endpoint_url: str | None = None,
    force_over_quota: Iterable[int] = (),
    collect: bool = True,
) -> SimulationResult:
    """Simulate `days` UTC days of traffic (today included, up to `now`) and write it to the
    local AWS; `force_over_quota` are key pks made to ask for three times their quota."""
    now = now or timezone.now()
    rng = random.Random(seed)
    traffic = _Traffic(rng)
    today = now.astimezone(datetime.UTC).date()
    first_day = today - datetime.timedelta(days=max(days, 1) - 1)
    start = datetime.datetime.combine(first_day, datetime.time(), tzinfo=datetime.UTC)
    keys = _eligible_keys(rng, set(force_over_quota))
    result = SimulationResult(keys=len(keys))

    stages = sorted({stage for key in keys for stage in key.stages}, key=lambda s: s.order)
    stage_median = {stage: rng.uniform(35.0, 90.0) for stage in stages}
    stage_5xx = {stage: rng.uniform(0.005, 0.02) for stage in stages}
    day_noise: dict[tuple[int, datetime.date], float] = {}
    period_used: dict[tuple[int, datetime.date], int] = {}  # (key pk, quota period start)
    result.usage = {
        (key.pk, first_day + datetime.timedelta(days=n)): 0
        for key in keys
        for n in range((today - first_day).days + 1)
    }
    result.throttled_by_key = dict.fromkeys((key.pk for key in keys), 0)

    for slot_start, seconds in time_slots(start, now):
        day = slot_start.date()
        shape = WEEKDAY_SHAPE[day.weekday()] * HOUR_SHAPE[slot_start.hour] / _HOUR_TOTAL
        fraction = shape * seconds / 3600
        per_stage: dict[PlacedStage, list[int]] = {}  # [count, 4xx, 5xx, served]
        for key in keys:
            noise = day_noise.get((key.pk, day))
            if noise is None:
                noise = day_noise[(key.pk, day)] = rng.lognormvariate(0, 0.3)
            demand = traffic.integer(
                key.daily_demand * noise * fraction * rng.lognormvariate(0, 0.2)
            )
            if demand == 0:
                continue
            allowed = demand
            plan = key.plan
            if plan.throttle_rate is not None:
                allowed = min(allowed, int(float(plan.throttle_rate) * seconds))
            if plan.quota_limit is not None:
                period_start = period_bounds(plan.quota_period, day)[0]
                limit = _quota_limit(plan, period_start) or 0
                used = period_used.get((key.pk, period_start), 0)
                allowed = max(0, min(allowed, limit - used))
                period_used[(key.pk, period_start)] = used + allowed
            refused = demand - allowed
            result.usage[(key.pk, day)] += allowed
            result.throttled_by_key[key.pk] += refused
            result.requests += demand
            result.throttled += refused
            # Split this key's requests over the stages its tier covers.
            left_allowed, left_refused = allowed, refused
            for index, stage in enumerate(key.stages):
                last = index == len(key.stages) - 1
                share = key.stage_weights[index]
                a = left_allowed if last else min(left_allowed, round(allowed * share))
                r = left_refused if last else min(left_refused, round(refused * share))
                left_allowed -= a
                left_refused -= r
                e5 = traffic.binomial(a, stage_5xx[stage])
                e4 = traffic.binomial(a - e5, key.error_4xx)
                totals = per_stage.setdefault(stage, [0, 0, 0, 0])
                totals[0] += a + r
                totals[1] += e4 + r
                totals[2] += e5
                totals[3] += a
        for stage in stages:
            count, e4xx, e5xx, served = per_stage.get(stage, [0, 0, 0, 0])
            result.errors_4xx += e4xx
            result.errors_5xx += e5xx
            latency: Counter[float] = Counter()
            integration: Counter[float] = Counter()
            for _ in range(min(served, LATENCY_SAMPLES[seconds])):
                total, backend = traffic.latency(stage_median[stage])
                latency[total] += 1
                integration[backend] += 1
            result.published.setdefault(stage, []).append(
                PeriodMetrics(
                    start=slot_start,
                    seconds=seconds,
                    count=count,
                    e4xx=e4xx,
                    e5xx=e5xx,
                    latency=dict(latency),
                    integration_latency=dict(integration),
                )
            )

    control = LocalAwsControl(endpoint_url or _endpoint_url())
    by_pk = {key.pk: key for key in keys}
    items = [
        {
            "usagePlanId": by_pk[pk].plan.aws_id,
            "keyId": by_pk[pk].aws_id,
            "date": day.isoformat(),
            "used": used,
            "region": settings.AWS_REGION,
        }
        for (pk, day), used in result.usage.items()
    ]
    for first in range(0, len(items), USAGE_BATCH):
        control.set_usage_bulk(items[first : first + USAGE_BATCH])
        result.usage_calls += 1
    for stage, points in result.published.items():
        with at(stage.location):
            result.metric_calls += publish_api_metrics(stage.dims, points)
    if collect:
        result.collected = collect_usage(today=today, backfill_days=min(max(days, 1), 90))
    return result


def _endpoint_url() -> str:
    url = os.environ.get("AWS_ENDPOINT_URL", "")
    if not url:
        raise RuntimeError(
            "AWS_ENDPOINT_URL is not set: the traffic simulator writes to the local AWS server "
            "only (make demo sets it)."
        )
    return url
