"""What the ops metrics page shows: API-wide CloudWatch series (through a 60-second cache) and
per-key usage figures from the database (the roll-ups the collector keeps of GetUsage's figures).

CloudWatch is read on a page request, but at most once a minute for each range, however many
people look: every viewer of a range shares one cached GetMetricData answer (one call carries
every series of every stage). When CloudWatch fails, the page says so instead of failing, and
the failure is remembered for a few seconds so a struggling AWS is not asked again by each
viewer.
"""

from __future__ import annotations

import datetime
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from plans.models import ApiStage
from portal.aws import metrics as aws_metrics
from portal.aws.metrics import ApiMetrics, StageDims
from portal.connections.locations import location_of
from portal.errors import PermanentSyncError, TransientSyncError


@dataclass(frozen=True)
class Range:
    key: str
    label: str
    span: datetime.timedelta
    period: int  # seconds per datapoint

    @property
    def period_label(self) -> str:
        return {60: "minute", 300: "5 minutes", 3600: "hour"}.get(self.period, f"{self.period} s")


# The issue: "1 minute for the last 3 hours, 5 minutes for a day, 1 hour for 30 days".
RANGES: dict[str, Range] = {
    r.key: r
    for r in (
        Range("3h", "3 hours", datetime.timedelta(hours=3), 60),
        Range("24h", "24 hours", datetime.timedelta(hours=24), 300),
        Range("7d", "7 days", datetime.timedelta(days=7), 3600),
        Range("30d", "30 days", datetime.timedelta(days=30), 3600),
    )
}
DEFAULT_RANGE = "24h"
CACHE_SECONDS = 60
ERROR_CACHE_SECONDS = 10
LOCK_SECONDS = 20


def window(chosen: Range, now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """Start and end aligned to the period, the current (partial) period included."""
    epoch = int(now.timestamp())
    end_epoch = epoch - epoch % chosen.period + chosen.period
    end = datetime.datetime.fromtimestamp(end_epoch, datetime.UTC)
    return end - chosen.span, end


@dataclass
class Fetched:
    metrics: ApiMetrics | None
    error: str
    fetched_at: datetime.datetime
    cached: bool = False
    # The totals per account and region, shaped once when fetched (not on every view).
    places: list[PlaceTotals] = field(default_factory=list)


def _cache_key(stages: Sequence[StageDims], chosen: Range) -> str:
    names = "|".join(
        f"{s.place}/{s.region}/{s.api_name}/{s.stage_name}" for s in sorted(set(stages))
    )
    digest = hashlib.sha256(names.encode()).hexdigest()[:24]
    # v2: answers carry their place totals (Fetched.places).
    return f"tollgate:api-metrics:v2:{chosen.key}:{chosen.period}:{digest}"


def fetch_api_metrics(
    stages: Sequence[StageDims], chosen: Range, now: datetime.datetime | None = None
) -> Fetched:
    """Every series of `stages` over `chosen`, from the cache when fetched in the last minute.

    The cache key is the stages, the range and its period (not the clock): two viewers a few
    seconds apart share one answer even across a minute boundary, and the answer is at most
    60 s old. One viewer at a time asks AWS; the others wait briefly for its answer.
    """
    if not stages:
        return Fetched(metrics=None, error="", fetched_at=timezone.now())
    key = _cache_key(stages, chosen)
    found: Fetched | None = cache.get(key)
    if found is None and not cache.add(f"{key}:lock", 1, LOCK_SECONDS):
        deadline = time.monotonic() + 5
        while found is None and time.monotonic() < deadline:
            time.sleep(0.1)
            found = cache.get(key)
    if found is not None:
        found.cached = True
        return found
    now = now or timezone.now()
    start, end = window(chosen, now)
    try:
        metrics = aws_metrics.api_metrics(stages, start, end, chosen.period)
        result = Fetched(
            metrics=metrics, error="", fetched_at=now, places=place_totals(metrics, stages)
        )
        cache.set(key, result, CACHE_SECONDS)
    except (TransientSyncError, PermanentSyncError) as exc:
        result = Fetched(metrics=None, error=f"CloudWatch did not answer: {exc}", fetched_at=now)
        cache.set(key, result, ERROR_CACHE_SECONDS)
    finally:
        cache.delete(f"{key}:lock")
    return result


# --- shaping for the page --------------------------------------------------------------------


@dataclass
class MetricRow:
    at: datetime.datetime
    count: float | None
    e4xx: float | None
    e5xx: float | None
    rate_4xx: float | None
    rate_5xx: float | None
    lat_p50: float | None
    lat_p90: float | None
    lat_p99: float | None
    lat_avg: float | None
    int_p50: float | None
    int_p90: float | None
    int_p99: float | None
    int_avg: float | None


@dataclass
class StageMetrics:
    stage: StageDims
    rows: list[MetricRow] = field(default_factory=list)
    requests: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0

    @property
    def has_data(self) -> bool:
        return any(row.count is not None for row in self.rows)

    def chart_data(self, period: int) -> dict[str, Any]:
        """What the page's charts draw (json_script): labels in UTC and one list per series."""
        fmt = "%H:%M" if period < 3600 else "%b %d %H:%M"
        data: dict[str, Any] = {
            "labels": [row.at.strftime(fmt) for row in self.rows],
            "period": period,
        }
        for name in MetricRow.__dataclass_fields__:
            if name != "at":
                data[name] = [getattr(row, name) for row in self.rows]
        return data


def _rate(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(100.0 * part / whole, 2)


def stage_metrics(metrics: ApiMetrics, stage: StageDims) -> StageMetrics:
    """One row per period from start to end; None where CloudWatch has no datapoint."""
    series = {key: metrics.get(stage, key).by_time() for key in aws_metrics.SERIES_KEYS}
    shaped = StageMetrics(stage=stage)
    moment = metrics.start
    step = datetime.timedelta(seconds=metrics.period)
    while moment < metrics.end:
        values = {key: series[key].get(moment) for key in aws_metrics.SERIES_KEYS}
        shaped.rows.append(
            MetricRow(
                at=moment,
                rate_4xx=_rate(values["e4xx"], values["count"]),
                rate_5xx=_rate(values["e5xx"], values["count"]),
                **values,
            )
        )
        moment += step
    shaped.requests = int(sum(v for v in series["count"].values()))
    shaped.errors_4xx = int(sum(v for v in series["e4xx"].values()))
    shaped.errors_5xx = int(sum(v for v in series["e5xx"].values()))
    return shaped


@dataclass(frozen=True)
class PlaceTotals:
    """What the stages of one account and region served over the range."""

    where: str
    stages: int
    requests: int
    errors_4xx: int
    errors_5xx: int


def place_totals(metrics: ApiMetrics, stages: Sequence[StageDims]) -> list[PlaceTotals]:
    """Requests, 4XX and 5XX per account and region (each stage counted in its own), in the
    order the places first appear; the page adds a line for all of them."""
    grouped: dict[tuple[str, str], list[StageMetrics]] = {}
    names: dict[tuple[str, str], str] = {}
    for stage in stages:
        if (stage, "count") not in metrics.series:
            continue  # not asked for in this answer
        place = (stage.place, stage.region)
        grouped.setdefault(place, []).append(stage_metrics(metrics, stage))
        names.setdefault(place, stage.where or stage.region)
    return [
        PlaceTotals(
            where=names[place],
            stages=len(shaped),
            requests=sum(s.requests for s in shaped),
            errors_4xx=sum(s.errors_4xx for s in shaped),
            errors_5xx=sum(s.errors_5xx for s in shaped),
        )
        for place, shaped in grouped.items()
    ]


def all_places(totals: Sequence[PlaceTotals]) -> PlaceTotals:
    return PlaceTotals(
        where="All regions",
        stages=sum(t.stages for t in totals),
        requests=sum(t.requests for t in totals),
        errors_4xx=sum(t.errors_4xx for t in totals),
        errors_5xx=sum(t.errors_5xx for t in totals),
    )


def dashboard_stages() -> list[ApiStage]:
    """The stages tiers may cover (offered by an admin) that AWS still has."""
    return list(
        ApiStage.objects.filter(available=True, missing_since__isnull=True).select_related(
            "connection"
        )
    )


def dims(stage: ApiStage) -> StageDims:
    """The stage as its metrics are keyed (enough to find its series, not to fetch them)."""
    return StageDims(
        stage.region, stage.api_name, stage.stage_name, place=str(stage.connection_id or "")
    )


def stage_dims(stages: Sequence[ApiStage]) -> list[StageDims]:
    """The stages as fetched: each with the account and region its metrics are read in. A stage
    without a connection was found with the settings' credentials, and is read with them (no
    query: the page's count stays flat)."""
    return [
        StageDims(
            stage.region,
            stage.api_name,
            stage.stage_name,
            place=str(stage.connection_id or ""),
            location=location_of(stage.connection, stage.region),
            where=stage.where,
        )
        for stage in stages
    ]


def refresh_api_metrics(range_keys: Sequence[str]) -> dict[str, Fetched]:
    """Read the chosen ranges from CloudWatch now and cache them (collect_metrics, beat).

    Warming the default range every minute means no viewer ever waits for CloudWatch, at one
    GetMetricData call a minute whether anybody looks or not.
    """
    stages = stage_dims(dashboard_stages())
    fetched: dict[str, Fetched] = {}
    for key in range_keys:
        chosen = RANGES[key]
        if stages:
            cache.delete(_cache_key(stages, chosen))
        fetched[key] = fetch_api_metrics(stages, chosen)
    return fetched
