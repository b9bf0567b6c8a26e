"""CloudWatch metrics of the requests the gateway served, published as API Gateway does.

Namespace ``AWS/ApiGateway``, dimensions ``ApiName`` and ``Stage`` (Developer Guide, "Amazon
API Gateway dimensions and metrics"): ``Count`` (every request, refusals included),
``4XXError`` and ``5XXError`` (1 or 0 per request, so Sum is the count and Average the
rate), ``Latency`` (ms from receiving the request to answering it) and
``IntegrationLatency`` (ms spent in the integration; only requests that reached one). They
land in the CloudWatch backend of the account and Region that own the API, through moto's
own PutMetricData, so GetMetricData / GetMetricStatistics (``localaws.metrics``) read them
like any other datapoint.

Cost: "API Gateway sends metric data to CloudWatch every minute", and storing one datapoint
per request would grow moto's list without bound at hundreds of requests a second. So
requests are aggregated per (API, stage, metric, value, UTC minute) and published as
``StatisticValues`` sets with Minimum == Maximum == the value and Sum == value x
SampleCount - the statistic sets ``localaws.metric_periods`` can still give exact
percentiles for. Latencies are rounded to 2 significant digits first (at most 5 % off, as
``0.32``, ``1.4``, ``23``, ``450`` ms), which bounds the distinct values - and so the sets -
per minute to a few dozen whatever the traffic. A minute is published when the first request of a
later minute arrives, and everything pending is published before any CloudWatch request is
answered (``flush``), so a read never misses a request. Each published set is stamped with
the time of the first request it holds. ``LocalAwsServer.stop`` publishes what is pending
before its final ``--state`` snapshot; a hard kill loses at most the current minute.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends

from localaws import metrics

NAMESPACE = "AWS/ApiGateway"
_COUNT = "Count"
_MILLISECONDS = "Milliseconds"


@dataclass(frozen=True)
class StageName:
    """A stage as CloudWatch names it, and where its metrics belong."""

    account_id: str
    region: str
    api_name: str
    stage_name: str


@dataclass
class _Minute:
    first_seen: float
    counts: dict[tuple[str, str, float], int] = field(default_factory=dict)

    def add(self, metric: str, unit: str, value: float) -> None:
        key = (metric, unit, value)
        self.counts[key] = self.counts.get(key, 0) + 1


def _two_digits(milliseconds: float) -> float:
    return float(f"{milliseconds:.2g}")


class Metering:
    """Per-minute aggregates waiting to be published; thread-safe."""

    def __init__(
        self,
        write_lock: threading.RLock,
        on_publish: Callable[[], None] = lambda: None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._write_lock = write_lock
        self._on_publish = on_publish
        self.wall_clock = wall_clock
        self._lock = threading.Lock()
        self._pending: dict[tuple[StageName, int], _Minute] = {}
        self._oldest: int | None = None

    def record(
        self, stage: StageName, status: int, latency_ms: float, integration_ms: float | None
    ) -> None:
        now = self.wall_clock()
        minute = int(now // 60)
        with self._lock:
            entry = self._pending.get((stage, minute))
            if entry is None:
                entry = self._pending[(stage, minute)] = _Minute(now)
            entry.add(_COUNT, _COUNT, 1.0)
            entry.add("4XXError", _COUNT, 1.0 if 400 <= status < 500 else 0.0)
            entry.add("5XXError", _COUNT, 1.0 if 500 <= status < 600 else 0.0)
            entry.add("Latency", _MILLISECONDS, _two_digits(latency_ms))
            if integration_ms is not None:
                entry.add("IntegrationLatency", _MILLISECONDS, _two_digits(integration_ms))
            rolled_over = self._oldest is not None and self._oldest < minute
            if self._oldest is None or minute < self._oldest:
                self._oldest = minute
        if rolled_over:
            self.flush(before_minute=minute)

    def flush(self, before_minute: int | None = None) -> int:
        """Publish what is pending (only minutes before ``before_minute`` when given);
        returns how many statistic sets were published."""
        with self._lock:
            if not self._pending:
                return 0
            taken = {
                key: entry
                for key, entry in self._pending.items()
                if before_minute is None or key[1] < before_minute
            }
            for key in taken:
                del self._pending[key]
            self._oldest = min((minute for _, minute in self._pending), default=None)
        by_backend: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for (stage, _), entry in taken.items():
            by_backend.setdefault((stage.account_id, stage.region), []).extend(
                _datums(stage, entry)
            )
        if not by_backend:
            return 0
        with self._write_lock:
            for (account_id, region), datums in by_backend.items():
                cloudwatch_backends[account_id][region].put_metric_data(NAMESPACE, datums)
        for account_id, region in by_backend:
            metrics.refresh(account_id, region)  # index them now, as after PutMetricData
        self._on_publish()
        return sum(len(datums) for datums in by_backend.values())

    def reset(self) -> None:
        with self._lock:
            self._pending.clear()
            self._oldest = None


def _datums(stage: StageName, entry: _Minute) -> list[dict[str, Any]]:
    moment = datetime.datetime.fromtimestamp(entry.first_seen, datetime.UTC).replace(tzinfo=None)
    dimensions = [
        {"Name": "ApiName", "Value": stage.api_name},
        {"Name": "Stage", "Value": stage.stage_name},
    ]
    return [
        {
            "MetricName": metric,
            "Dimensions": dimensions,
            "Timestamp": moment,
            "Unit": unit,
            "StatisticValues": {
                "SampleCount": float(count),
                "Sum": value * count,
                "Minimum": value,
                "Maximum": value,
            },
        }
        for (metric, unit, value), count in sorted(entry.counts.items())
    ]
