"""The test-only control endpoints under ``/_localaws/``: faults, call journal, usage, reset.

Tests and the demo steer the server through these instead of reaching into its memory, so
they work the same against a server in another process (``python -m localaws``);
``localaws.testing.LocalAwsControl`` is their client.
"""

from __future__ import annotations

import datetime
from typing import Protocol

from werkzeug.wrappers import Request, Response

from localaws import usage
from localaws.faults import CallJournal, Fault, FaultRegistry
from localaws.responses import json_response


class Controlled(Protocol):
    """What the control endpoints steer (``localaws.app.LocalAwsApp``)."""

    faults: FaultRegistry
    journal: CallJournal

    def reset(self) -> None: ...

    def mark_dirty(self) -> None: ...


def control(app: Controlled, request: Request) -> Response:
    """``/_localaws/faults`` (POST add, GET list, DELETE clear),
    ``/_localaws/calls`` (GET list, ``?operation=`` filter; DELETE clear),
    ``/_localaws/usage`` (POST: set API Gateway usage counters, see ``_post_usage``;
    GET ``?usagePlanId=&keyId=&date=[&region=][&account=]``: one counter; DELETE: clear all),
    ``/_localaws/reset`` (POST: wipe moto state, usage, faults and journal)."""
    route = (request.method, request.path)
    if route == ("POST", "/_localaws/usage"):
        return _post_usage(app, request)
    if route == ("GET", "/_localaws/usage"):
        try:
            used = usage.usage_store.used(
                request.args["usagePlanId"],
                request.args["keyId"],
                datetime.date.fromisoformat(request.args["date"]),
                request.args.get("region", usage.DEFAULT_REGION),
                request.args.get("account", usage.DEFAULT_ACCOUNT_ID),
            )
        except (KeyError, ValueError) as exc:
            return json_response({"error": f"usagePlanId, keyId and date are required: {exc}"}, 400)
        return json_response({"used": used})
    if route == ("DELETE", "/_localaws/usage"):
        usage.usage_store.reset()
        app.mark_dirty()
        return json_response({"status": "ok"})
    if route == ("POST", "/_localaws/faults"):
        try:
            fault = Fault.from_json(request.get_json(force=True))
        except (TypeError, ValueError, KeyError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(app.faults.add(fault).to_json(), 201)
    if route == ("GET", "/_localaws/faults"):
        return json_response(app.faults.list())
    if route == ("DELETE", "/_localaws/faults"):
        app.faults.clear()
        return json_response({"status": "ok"})
    if route == ("GET", "/_localaws/calls"):
        return json_response(app.journal.list(request.args.get("operation")))
    if route == ("DELETE", "/_localaws/calls"):
        app.journal.clear()
        return json_response({"status": "ok"})
    if route == ("POST", "/_localaws/reset"):
        app.reset()
        return json_response({"status": "ok"})
    return json_response({"error": f"no control endpoint {request.method} {request.path}"}, 404)


def _post_usage(app: Controlled, request: Request) -> Response:
    """Set (not add) daily ``used`` counters: one JSON object ``{"usagePlanId",
    "keyId", "date": "YYYY-MM-DD", "used": N[, "region"][, "account"]}`` or a list of them (applied
    all-or-nothing). Plans and keys are not checked: a simulator may write first."""
    try:
        payload = request.get_json(force=True)
        items = payload if isinstance(payload, list) else [payload]
        records = [usage.UsageRecord.from_json(item) for item in items]
    except (TypeError, ValueError, AttributeError) as exc:
        return json_response({"error": str(exc)}, 400)
    count = usage.usage_store.set_many(records)
    app.mark_dirty()
    return json_response({"status": "ok", "count": count})
