"""API Gateway usage data: GetUsage and UpdateUsage, which moto does not implement.

AWS meters every request an API key makes through a usage plan and reports it per UTC day
(GetUsage); an administrator can grant a temporary extension of the remaining quota
(UpdateUsage). Moto answers GetUsage with 404 and has no UpdateUsage, so this module keeps
the metering itself: a per-(region, usage plan, API key, UTC day) ``used`` counter that a
traffic simulator (or a test) fills in through ``POST /_localaws/usage`` or, in-process,
``usage_store.set_used(...)``.

Sources for the wire format and semantics:

* API Reference, GetUsage / UpdateUsage / Usage
  (https://docs.aws.amazon.com/apigateway/latest/api/API_GetUsage.html, ``API_UpdateUsage``,
  ``API_Usage``): ``GET /usageplans/{id}/usage?startDate&endDate[&keyId][&limit][&position]``
  and ``PATCH /usageplans/{id}/keys/{keyId}/usage``; the body is ``{"usagePlanId",
  "startDate", "endDate", "position"?, "values": {keyId: [[used, remaining], ...]}}`` - one
  ``[used quota, remaining quota]`` pair per day, keyed by API key *id* (botocore names the
  ``values`` map ``items`` via ``locationName``). ``limit`` defaults to 25, max 500.
* Developer Guide, "Maintain a usage plan for REST APIs in API Gateway"
  (api-gateway-usage-plan-manage-usage.html): daily [used, remaining] pairs, and an
  administrator lowering the remaining quota "from 5000 to 10 on the third day".
* AWS CLI example for update-usage (aws-cli awscli/examples/apigateway/update-usage.rst):
  ``--patch-operations op="replace",path="/remaining",value="50"`` modifies the quota of
  the key "for the current period defined in the Usage Plan".
* A live GetUsage body quoted in floci-io/floci PR #3561
  (``"values":{"58v93i1885":[[137,999863],[123,999740],[84,999656]]}`` for a 1,000,000
  quota): ``remaining`` is the quota minus everything used so far *in the quota period*,
  not per day.
* API Reference, QuotaSettings: ``offset`` is "the number of requests subtracted from the
  given limit in the initial time period" (the CloudFormation guide adds: because a plan
  may start in the middle of the week or month).

Choices the documentation does not settle (kept in one place so they are easy to revisit):

* Quota periods are calendar periods in UTC: DAY = the UTC day (a Q&A answer: "It is one
  day UTC"), MONTH = the calendar month, WEEK = Sunday..Saturday (older SDK docs described
  WEEK offset 0 as "starts on Sunday").
* The "initial time period" for ``offset`` is the period containing the day the plan was
  created through this server (``CreateUsagePlan`` is observed); plans whose creation we
  did not see get no offset.
* A plan without a quota reports ``remaining`` 0.
* ``remaining`` never goes below 0.
* A date range longer than 90 days, an end before the start, or a malformed date is a
  BadRequestException.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from localaws import strict

DEFAULT_REGION = "us-east-1"
MAX_RANGE_DAYS = 90
_DAY = datetime.timedelta(days=1)

UsageKey = tuple[str, str, str]  # (region, usage plan id, API key id)


@dataclass(frozen=True)
class UsageRecord:
    """``used`` requests of one API key through one usage plan on one UTC day."""

    usage_plan_id: str
    key_id: str
    day: datetime.date
    used: int
    region: str = DEFAULT_REGION

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UsageRecord:
        """Parse one ``POST /_localaws/usage`` item (``usagePlanId``, ``keyId``,
        ``date`` YYYY-MM-DD, ``used`` >= 0, optional ``region``)."""
        for name in ("usagePlanId", "keyId", "date"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise ValueError(f"'{name}' (string) is required")
        used = data.get("used")
        if isinstance(used, bool) or not isinstance(used, int) or used < 0:
            raise ValueError("'used' must be a non-negative integer")
        return cls(
            usage_plan_id=data["usagePlanId"],
            key_id=data["keyId"],
            day=datetime.date.fromisoformat(data["date"]),
            used=used,
            region=str(data.get("region") or DEFAULT_REGION),
        )


def utc_today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def period_start(day: datetime.date, period: str) -> datetime.date:
    """First day of the UTC quota period (DAY / WEEK from Sunday / MONTH) holding ``day``."""
    if period == "WEEK":
        return day - datetime.timedelta(days=(day.weekday() + 1) % 7)
    if period == "MONTH":
        return day.replace(day=1)
    return day


class UsageStore:
    """Thread-safe usage counters, quota extensions and plan creation days.

    Process-global like moto's own state (see ``usage_store``); ``LocalAwsApp.reset``
    clears it and ``persistence.StateStore`` snapshots it.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._used: dict[UsageKey, dict[datetime.date, int]] = {}
        # (region, plan, key) -> {day granted: requests added to the remaining quota from
        # that day to the end of its quota period}; a later grant in a period replaces it.
        self._extensions: dict[UsageKey, dict[datetime.date, int]] = {}
        self._plan_created: dict[tuple[str, str], datetime.date] = {}

    # -- Python API (used by the control endpoint and by in-process simulators) ------------

    def set_used(
        self,
        usage_plan_id: str,
        key_id: str,
        day: datetime.date | str,
        used: int,
        region: str = DEFAULT_REGION,
    ) -> None:
        """Set (not add) the requests ``key_id`` made through ``usage_plan_id`` on ``day``."""
        if isinstance(day, str):
            day = datetime.date.fromisoformat(day)
        self.set_many([UsageRecord(usage_plan_id, key_id, day, int(used), region)])

    def set_many(self, records: Iterable[UsageRecord]) -> int:
        """Apply many ``UsageRecord``s atomically; returns how many were applied."""
        items = list(records)
        with self._lock:
            for r in items:
                self._used.setdefault((r.region, r.usage_plan_id, r.key_id), {})[r.day] = r.used
        return len(items)

    def used(
        self, usage_plan_id: str, key_id: str, day: datetime.date, region: str = DEFAULT_REGION
    ) -> int:
        with self._lock:
            return self._used.get((region, usage_plan_id, key_id), {}).get(day, 0)

    def note_plan_created(
        self, region: str, usage_plan_id: str, day: datetime.date | None = None
    ) -> None:
        """Remember the day a plan was created: its quota ``offset`` applies in that period."""
        with self._lock:
            self._plan_created[(region, usage_plan_id)] = day or utc_today()

    def reset(self) -> None:
        with self._lock:
            self._used.clear()
            self._extensions.clear()
            self._plan_created.clear()

    def snapshot(self) -> dict[str, Any]:
        """Picklable copy of the whole store (for ``persistence``)."""
        with self._lock:
            return {
                "used": {k: dict(v) for k, v in self._used.items()},
                "extensions": {k: dict(v) for k, v in self._extensions.items()},
                "plan_created": dict(self._plan_created),
            }

    def restore(self, data: Mapping[str, Any]) -> None:
        with self._lock:
            self._used = {k: dict(v) for k, v in data.get("used", {}).items()}
            self._extensions = {k: dict(v) for k, v in data.get("extensions", {}).items()}
            self._plan_created = dict(data.get("plan_created", {}))

    # -- quota arithmetic ------------------------------------------------------------------

    def _remaining_locked(
        self,
        region: str,
        plan_id: str,
        key_id: str,
        quota: Mapping[str, Any],
        day: datetime.date,
        with_extension: bool = True,
    ) -> int:
        if not quota or quota.get("limit") is None:
            return 0
        period = str(quota.get("period") or "DAY")
        start = period_start(day, period)
        limit = int(quota["limit"])
        created = self._plan_created.get((region, plan_id))
        if created is not None and period_start(created, period) == start:
            limit -= int(quota.get("offset") or 0)
        daily = self._used.get((region, plan_id, key_id), {})
        used_so_far = 0
        current = start
        while current <= day:
            used_so_far += daily.get(current, 0)
            current += _DAY
        extension = 0
        if with_extension:
            grants = self._extensions.get((region, plan_id, key_id), {})
            granted = [g for g in grants if start <= g <= day]
            if granted:
                extension = grants[max(granted)]
        return limit - used_so_far + extension  # unclamped; callers clamp at 0

    def use_one_if_left(
        self,
        region: str,
        plan_id: str,
        key_id: str,
        quota: Mapping[str, Any],
        day: datetime.date,
    ) -> bool:
        """Count one request of ``key_id`` through ``plan_id`` on ``day`` if its quota has
        some left (always, for a plan without a quota); False, counting nothing, when the
        quota is used up. The local gateway meters with this, so what it enforces is exactly
        the ``remaining`` GetUsage reports."""
        with self._lock:
            limited = bool(quota) and quota.get("limit") is not None
            if limited and self._remaining_locked(region, plan_id, key_id, quota, day) <= 0:
                return False
            daily = self._used.setdefault((region, plan_id, key_id), {})
            daily[day] = daily.get(day, 0) + 1
            return True

    def daily_pairs(
        self,
        region: str,
        plan_id: str,
        key_id: str,
        quota: Mapping[str, Any],
        start: datetime.date,
        end: datetime.date,
    ) -> list[list[int]]:
        """``[[used, remaining], ...]``, one pair per day from ``start`` to ``end`` inclusive."""
        with self._lock:
            daily = self._used.get((region, plan_id, key_id), {})
            pairs = []
            day = start
            while day <= end:
                remaining = self._remaining_locked(region, plan_id, key_id, quota, day)
                pairs.append([daily.get(day, 0), max(0, remaining)])
                day += _DAY
            return pairs

    def set_remaining(
        self,
        region: str,
        plan_id: str,
        key_id: str,
        quota: Mapping[str, Any],
        remaining: int,
        today: datetime.date,
    ) -> None:
        """UpdateUsage ``replace /remaining``: make today's remaining quota ``remaining``
        from today to the end of the current quota period (earlier days keep their
        figures, later use still counts against it, the next period starts afresh)."""
        with self._lock:
            base = self._remaining_locked(
                region, plan_id, key_id, quota, today, with_extension=False
            )
            self._extensions.setdefault((region, plan_id, key_id), {})[today] = remaining - base


usage_store = UsageStore()
"""The process-wide usage store (moto's state is process-global too)."""


# -- the API Gateway operations -------------------------------------------------------------


def _bad_request(message: str) -> strict.ApiError:
    return strict.ApiError(400, "BadRequestException", message)


def _parse_date(name: str, raw: str | None) -> datetime.date:
    if not raw:
        raise _bad_request(f"Invalid {name}: a date of the form YYYY-MM-DD is required")
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise _bad_request(f"Invalid {name} '{raw}': expected YYYY-MM-DD") from None


def _plan(region: str, plan_id: str) -> Any:
    plan = strict.apigateway_backend(region).usage_plans.get(plan_id)
    if plan is None:
        raise strict.ApiError(404, "NotFoundException", "Invalid Usage Plan ID specified")
    return plan


def _plan_key_ids(region: str, plan_id: str) -> list[str]:
    """Live API keys of the plan (moto keeps stale rows for deleted keys)."""
    backend = strict.apigateway_backend(region)
    return sorted(k for k in backend.usage_plan_keys.get(plan_id, {}) if k in backend.keys)


def get_usage(region: str, plan_id: str, params: Mapping[str, str]) -> dict[str, Any]:
    """GetUsage: daily ``[used, remaining]`` per API key of the plan, paged over keys.

    Keys are ordered by id; ``limit`` (default 25, max 500, per the GetUsage reference) counts
    keys, not days; ``position`` is the same opaque keyset token the other listings use.
    ``keyId`` restricts the answer to that key (empty ``values`` if it is not in the plan).
    """
    plan = _plan(region, plan_id)
    start = _parse_date("startDate", params.get("startDate"))
    end = _parse_date("endDate", params.get("endDate"))
    if end < start:
        raise _bad_request("The endDate must not be before the startDate")
    if (end - start).days > MAX_RANGE_DAYS:
        raise _bad_request(f"The date range must not exceed {MAX_RANGE_DAYS} days")
    limit = strict.parse_limit(params.get("limit"))
    key_ids = _plan_key_ids(region, plan_id)
    if params.get("keyId"):
        key_ids = [k for k in key_ids if k == params["keyId"]]
    position = params.get("position")
    if position is not None:
        after = strict.decode_position(position)
        key_ids = [k for k in key_ids if k > after]
    body: dict[str, Any] = {
        "usagePlanId": plan_id,
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
    }
    if len(key_ids) > limit:
        body["position"] = strict.encode_position(key_ids[limit - 1])
    body["values"] = {
        key_id: usage_store.daily_pairs(region, plan_id, key_id, plan.quota, start, end)
        for key_id in key_ids[:limit]
    }
    return body


def update_usage(
    region: str,
    plan_id: str,
    key_id: str,
    patch_operations: list[dict[str, Any]],
    today: datetime.date | None = None,
) -> dict[str, Any]:
    """UpdateUsage: ``replace /remaining`` sets the key's remaining quota for the current
    quota period (AWS CLI example; Developer Guide "Maintain a usage plan").

    Answers the Usage shape for that key from the current period's first day to today.
    """
    plan = _plan(region, plan_id)
    if key_id not in _plan_key_ids(region, plan_id):
        raise strict.ApiError(404, "NotFoundException", "Invalid API Key identifier specified")
    if not plan.quota or plan.quota.get("limit") is None:
        raise _bad_request(f"Usage plan {plan_id} has no quota to extend")
    if not patch_operations:
        raise _bad_request("Invalid patch operations: at least one is required")
    today = today or utc_today()
    for op in patch_operations:
        if op.get("op") != "replace" or op.get("path") != "/remaining":
            raise _bad_request(
                f"Invalid patch path '{op.get('path')}' for op '{op.get('op')}': "
                "only 'replace' of '/remaining' is supported"
            )
        raw = str(op.get("value", ""))
        try:
            remaining = int(raw)
        except ValueError:
            raise _bad_request(f"Invalid remaining quota value '{raw}'") from None
        if remaining < 0:
            raise _bad_request(f"Invalid remaining quota value '{raw}'")
        usage_store.set_remaining(region, plan_id, key_id, plan.quota, remaining, today)
    start = period_start(today, str(plan.quota.get("period") or "DAY"))
    return {
        "usagePlanId": plan_id,
        "startDate": start.isoformat(),
        "endDate": today.isoformat(),
        "values": {
            key_id: usage_store.daily_pairs(region, plan_id, key_id, plan.quota, start, today)
        },
    }
