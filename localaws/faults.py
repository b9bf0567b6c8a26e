"""Fault injection and the AWS call journal.

Real AWS throttles (TooManyRequestsException), times out, and - the nasty case - can
apply a write and still fail the response (the client times out or sees a 5xx after the
change landed). The dashboard's retry and reconciliation code must cope with all three,
and moto never does any of them, so tests switch them on over HTTP (the test and the
server may be different processes) via ``POST /_localaws/faults``.

The journal records every AWS request so tests and benchmarks can assert how many AWS
calls a dashboard action costs (e.g. that a page view does not list all keys N times).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

# Codes AWS uses for these statuses on API Gateway; used when a fault omits "code".
_DEFAULT_CODES = {
    400: "BadRequestException",
    401: "UnauthorizedException",
    404: "NotFoundException",
    409: "ConflictException",
    429: "TooManyRequestsException",
    500: "InternalFailure",
    503: "ServiceUnavailable",
}


@dataclass
class Fault:
    """One injected failure rule.

    ``status`` None makes a pure delay rule (answer normally, but late).
    ``times`` None with ``share`` None fails every matching call until cleared.
    """

    operation: str
    status: int | None = 500
    code: str | None = None
    message: str = ""
    times: int | None = 1
    after_apply: bool = False
    share: float | None = None
    delay_seconds: float = 0.0
    # Only calls to this region / account (None: any), for a fault in one place of many.
    region: str | None = None
    account: str | None = None
    id: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """Parse the ``POST /_localaws/faults`` body.

        An absent ``times`` means once, unless ``share`` is given: a probabilistic rule
        is meant to run until cleared. An explicit ``"times": null`` means until cleared.
        """
        if not isinstance(data.get("operation"), str):
            raise ValueError("'operation' (AWS operation name or '*') is required")
        share = data.get("share")
        if share is not None and not 0.0 <= float(share) <= 1.0:
            raise ValueError("'share' must be between 0 and 1")
        status = data.get("status", 500)
        times = data.get("times", None if share is not None else 1)
        return cls(
            operation=data["operation"],
            status=None if status is None else int(status),
            code=data.get("code"),
            message=str(data.get("message") or ""),
            times=None if times is None else int(times),
            after_apply=bool(data.get("after_apply", False)),
            share=None if share is None else float(share),
            delay_seconds=float(data.get("delay_seconds") or 0.0),
            region=data.get("region") or None,
            account=data.get("account") or None,
        )

    @property
    def error_code(self) -> str:
        if self.code:
            return self.code
        return _DEFAULT_CODES.get(self.status or 500, "InternalFailure")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultRegistry:
    """Thread-safe set of active fault rules, consumed by matching AWS calls."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1
        self._rng = rng or random.Random()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_json() for fault in self._faults]

    def take(self, operation: str, region: str = "", account: str = "") -> Fault | None:
        """The first rule that fires for ``operation`` (in ``region`` of ``account``), spending
        one of its ``times``."""
        with self._lock:
            for fault in self._faults:
                if fault.operation not in ("*", operation):
                    continue
                if fault.region not in (None, region) or fault.account not in (None, account):
                    continue
                if fault.share is not None and self._rng.random() >= fault.share:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
            return None


@dataclass
class CallRecord:
    """One AWS request as the client saw it."""

    service: str
    operation: str
    method: str
    path: str
    status: int
    monotonic: float
    wall_time: float
    duration: float
    fault_id: int | None = None
    region: str = ""
    account: str = ""


class CallJournal:
    """Append-only record of AWS calls, cleared by tests between scenarios."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []

    def record(self, record: CallRecord) -> None:
        with self._lock:
            self._records.append(record)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def list(self, operation: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                asdict(r) for r in self._records if operation is None or r.operation == operation
            ]


def wait(fault: Fault | None) -> None:
    """Sleep for the fault's delay, simulating a slow AWS answer (client timeouts)."""
    if fault is not None and fault.delay_seconds > 0:
        time.sleep(fault.delay_seconds)
