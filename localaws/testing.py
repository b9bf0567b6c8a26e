"""Helpers for tests: start a local AWS in-process, and drive it over HTTP.

``LocalAwsControl`` speaks plain HTTP (urllib) to the ``/_localaws/`` control
endpoints, so it works equally against an in-process server and against one started by
another process (``make demo``, a live-server test, a benchmark).

Note that moto's state is process-global: two ``LocalAwsServer`` instances in one
process share it. Call ``LocalAwsControl.reset()`` between tests.
"""

from __future__ import annotations

import enum
import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from localaws.server import LocalAwsServer


class _Unset(enum.Enum):
    UNSET = enum.auto()


def start_local_aws(state_file: Path | None = None) -> LocalAwsServer:
    """A started server on a free 127.0.0.1 port; the caller must ``stop()`` it."""
    server = LocalAwsServer("127.0.0.1", 0, state_file=state_file)
    server.start()
    return server


class LocalAwsControl:
    """Client for the fault-injection, call-journal and reset endpoints."""

    def __init__(self, endpoint_url: str, timeout: float = 10.0) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.timeout = timeout

    def add_fault(
        self,
        operation: str,
        status: int | None = 500,
        code: str | None = None,
        message: str = "",
        times: int | None | _Unset = _Unset.UNSET,
        after_apply: bool = False,
        share: float | None = None,
        delay_seconds: float = 0.0,
        region: str | None = None,
        account: str | None = None,
    ) -> dict[str, Any]:
        """Make ``operation`` (AWS name, or "*") fail, in ``region`` / ``account`` only if
        given; see ``localaws.faults.Fault``.

        ``times`` left unset means once, or until cleared when ``share`` is given;
        ``times=None`` means until cleared.
        """
        payload: dict[str, Any] = {
            "operation": operation,
            "status": status,
            "code": code,
            "message": message,
            "after_apply": after_apply,
            "share": share,
            "delay_seconds": delay_seconds,
            "region": region,
            "account": account,
        }
        if times is not _Unset.UNSET:
            payload["times"] = times
        result: dict[str, Any] = self._request("POST", "/_localaws/faults", payload)
        return result

    def clear_faults(self) -> None:
        self._request("DELETE", "/_localaws/faults")

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        """Journal entries, oldest first, optionally only for one operation."""
        path = "/_localaws/calls"
        if operation is not None:
            path += "?" + urllib.parse.urlencode({"operation": operation})
        result: list[dict[str, Any]] = self._request("GET", path)
        return result

    def clear_calls(self) -> None:
        self._request("DELETE", "/_localaws/calls")

    def set_usage(
        self,
        usage_plan_id: str,
        key_id: str,
        date: str,
        used: int,
        region: str | None = None,
        account: str | None = None,
    ) -> None:
        """Set (not add) one API key's requests through a usage plan on a UTC day
        (``date`` YYYY-MM-DD); GetUsage reports it. See ``localaws.usage``."""
        item: dict[str, Any] = {
            "usagePlanId": usage_plan_id,
            "keyId": key_id,
            "date": date,
            "used": used,
        }
        if region is not None:
            item["region"] = region
        if account is not None:
            item["account"] = account
        self._request("POST", "/_localaws/usage", item)

    def set_usage_bulk(self, items: list[dict[str, Any]]) -> int:
        """Many ``{"usagePlanId", "keyId", "date", "used"[, "region"][, "account"]}`` at once."""
        result: dict[str, Any] = self._request("POST", "/_localaws/usage", items)
        return int(result["count"])

    def reset(self) -> None:
        """Wipe moto's state, usage counters, all faults and the journal."""
        self._request("POST", "/_localaws/reset")

    def _request(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.endpoint_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read() or b"null")
