"""API Gateway usage data: GetUsage and UpdateUsage, which moto does not implement.

AWS meters every request an API key makes through a usage plan and reports it per UTC day
(GetUsage); an administrator can grant a temporary extension of the remaining quota
(UpdateUsage). Moto answers GetUsage with 404 and has no UpdateUsage, so this module keeps
the metering itself: a per-(account, region, usage plan, API key, UTC day) ``used`` counter
that the local gateway, a traffic simulator or a test fills in (``POST /_localaws/usage`` or,
in-process, ``usage_store.set_used(...)``); ``localaws.usage_operations`` answers the two
operations from it.

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

from localaws.accounts import DEFAULT_ACCOUNT_ID

DEFAULT_REGION = "us-east-1"
MAX_RANGE_DAYS = 90
_DAY = datetime.timedelta(days=1)

UsageKey = tuple[str, str, str, str]  # (account, region, usage plan id, API key id)


@dataclass(frozen=True)
class UsageRecord:
    """``used`` requests of one API key through one usage plan on one UTC day."""

    usage_plan_id: str
    key_id: str
    day: datetime.date
    used: int
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT_ID

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UsageRecord:
        """Parse one ``POST /_localaws/usage`` item (``usagePlanId``, ``keyId``,
        ``date`` YYYY-MM-DD, ``used`` >= 0, optional ``region`` and ``account``)."""
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
            account=str(data.get("account") or DEFAULT_ACCOUNT_ID),
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
        # (account, region, plan, key) -> {day granted: requests added to the remaining quota from
        # that day to the end of its quota period}; a later grant in a period replaces it.
        self._extensions: dict[UsageKey, dict[datetime.date, int]] = {}
        self._plan_created: dict[tuple[str, str, str], datetime.date] = {}

    # -- Python API (used by the control endpoint and by in-process simulators) ------------

    def set_used(
        self,
        usage_plan_id: str,
        key_id: str,
        day: datetime.date | str,
        used: int,
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        """Set (not add) the requests ``key_id`` made through ``usage_plan_id`` on ``day``."""
        if isinstance(day, str):
            day = datetime.date.fromisoformat(day)
        self.set_many([UsageRecord(usage_plan_id, key_id, day, int(used), region, account)])

    def set_many(self, records: Iterable[UsageRecord]) -> int:
        """Apply many ``UsageRecord``s atomically; returns how many were applied."""
        items = list(records)
        with self._lock:
            for r in items:
                key = (r.account, r.region, r.usage_plan_id, r.key_id)
                self._used.setdefault(key, {})[r.day] = r.used
        return len(items)

    def used(
        self,
        usage_plan_id: str,
        key_id: str,
        day: datetime.date,
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT_ID,
    ) -> int:
        with self._lock:
            return self._used.get((account, region, usage_plan_id, key_id), {}).get(day, 0)

    def note_plan_created(
        self, account: str, region: str, usage_plan_id: str, day: datetime.date | None = None
    ) -> None:
        """Remember the day a plan was created: its quota ``offset`` applies in that period."""
        with self._lock:
            self._plan_created[(account, region, usage_plan_id)] = day or utc_today()

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
            self._used = {_with_account(k): dict(v) for k, v in data.get("used", {}).items()}
            self._extensions = {
                _with_account(k): dict(v) for k, v in data.get("extensions", {}).items()
            }
            self._plan_created = {
                _with_account(k): v for k, v in data.get("plan_created", {}).items()
            }

    # -- quota arithmetic ------------------------------------------------------------------

    def _remaining_locked(
        self,
        account: str,
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
        created = self._plan_created.get((account, region, plan_id))
        if created is not None and period_start(created, period) == start:
            limit -= int(quota.get("offset") or 0)
        daily = self._used.get((account, region, plan_id, key_id), {})
        used_so_far = 0
        current = start
        while current <= day:
            used_so_far += daily.get(current, 0)
            current += _DAY
        extension = 0
        if with_extension:
            grants = self._extensions.get((account, region, plan_id, key_id), {})
            granted = [g for g in grants if start <= g <= day]
            if granted:
                extension = grants[max(granted)]
        return limit - used_so_far + extension  # unclamped; callers clamp at 0

    def use_one_if_left(
        self,
        account: str,
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
            left = self._remaining_locked(account, region, plan_id, key_id, quota, day)
            if limited and left <= 0:
                return False
            daily = self._used.setdefault((account, region, plan_id, key_id), {})
            daily[day] = daily.get(day, 0) + 1
            return True

    def daily_pairs(
        self,
        account: str,
        region: str,
        plan_id: str,
        key_id: str,
        quota: Mapping[str, Any],
        start: datetime.date,
        end: datetime.date,
    ) -> list[list[int]]:
        """``[[used, remaining], ...]``, one pair per day from ``start`` to ``end`` inclusive."""
        with self._lock:
            daily = self._used.get((account, region, plan_id, key_id), {})
            pairs = []
            day = start
            while day <= end:
                remaining = self._remaining_locked(account, region, plan_id, key_id, quota, day)
                pairs.append([daily.get(day, 0), max(0, remaining)])
                day += _DAY
            return pairs

    def set_remaining(
        self,
        account: str,
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
                account, region, plan_id, key_id, quota, today, with_extension=False
            )
            grants = self._extensions.setdefault((account, region, plan_id, key_id), {})
            grants[today] = remaining - base


def _with_account(key: Any) -> Any:
    """A store key read from a snapshot; files written before accounts were kept (keys one
    element shorter) held the default account's figures only."""
    return key if str(key[0]).isdigit() else (DEFAULT_ACCOUNT_ID, *key)


usage_store = UsageStore()
"""The process-wide usage store (moto's state is process-global too)."""
