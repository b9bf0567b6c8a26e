"""The local AWS server: moto's WSGI app wrapped in Tollgate's strictness layer.

Request flow for a signed AWS request::

    journal + faults  ->  strict rules (paging, same-stage conflict)  ->  moto
                      ->  operations moto lacks (ImportApiKeys, GetUsage, UpdateUsage,
                          GetExport, CloudWatch percentiles) answered here

Requests without a SigV4 ``Authorization`` header (moto's own ``/moto-api`` etc.) go
straight to moto. ``/_localaws/*`` are our control endpoints (see ``_control``).
"""

from __future__ import annotations

import datetime
import io
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import run_wsgi_app
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_input_stream

from localaws import export, import_keys, metrics, strict, usage
from localaws.faults import CallJournal, CallRecord, Fault, FaultRegistry, wait
from localaws.persistence import StateStore
from localaws.wire import APIGATEWAY, CLOUDWATCH, AwsCall, error_response, identify

_READ_PREFIXES = ("Get", "List", "Describe")
StartResponse = Callable[..., Any]


class LocalAwsApp:
    """WSGI app: moto plus AWS-faithful strictness, faults, journal and persistence."""

    def __init__(self, state_file: Path | None = None) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.faults = FaultRegistry()
        self.journal = CallJournal()
        # Serialises writes to moto's state: keeps check-then-write rules (the
        # same-stage conflict) atomic and lets snapshots see consistent state.
        self.write_lock = threading.RLock()
        self.state = StateStore(state_file, self.write_lock) if state_file else None
        if self.state is not None:
            self.state.load()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_localaws/"):
            return self._control(Request(environ))(environ, start_response)
        body = get_input_stream(environ).read()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        call = identify(environ, body)
        if call is None:
            return self.moto(environ, start_response)
        return self._aws(environ, call, body)(environ, start_response)

    # -- AWS requests -----------------------------------------------------------------

    def _aws(self, environ: dict[str, Any], call: AwsCall, body: bytes) -> Response:
        started, wall = time.monotonic(), time.time()
        fault = self.faults.take(call.operation)
        wait(fault)
        if fault is not None and fault.status is not None and not fault.after_apply:
            response = error_response(call, fault.status, fault.error_code, fault.message)
        else:
            response = self._dispatch(environ, call, body)
            if fault is not None and fault.status is not None:
                # after_apply: the write happened, the client still sees a failure.
                response = error_response(call, fault.status, fault.error_code, fault.message)
        self.journal.record(
            CallRecord(
                service=call.service,
                operation=call.operation,
                method=environ.get("REQUEST_METHOD", ""),
                path=environ.get("PATH_INFO", ""),
                status=response.status_code,
                monotonic=started,
                wall_time=wall,
                duration=time.monotonic() - started,
                fault_id=fault.id if fault is not None else None,
            )
        )
        return response

    def _dispatch(self, environ: dict[str, Any], call: AwsCall, body: bytes) -> Response:
        if call.operation.startswith(_READ_PREFIXES):
            return self._strict(environ, call, body)
        with self.write_lock:
            response = self._strict(environ, call, body)
        if self.state is not None:
            self.state.mark_dirty()
        return response

    def _strict(self, environ: dict[str, Any], call: AwsCall, body: bytes) -> Response:
        if call.service == CLOUDWATCH and call.protocol == "json":
            try:
                return self._cloudwatch(environ, call, body)
            except strict.ApiError as exc:
                return error_response(call, exc.status, exc.code, exc.message)
        if call.service != APIGATEWAY:
            return self._moto(environ)
        query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
        try:
            if call.operation == "ImportApiKeys":
                result = import_keys.import_api_keys(call.region, body, query)
                return _json(result, 201)
            if call.operation == "GetUsage":
                return _json(usage.get_usage(call.region, _path_part(environ, 2), query))
            if call.operation == "UpdateUsage":
                operations = json.loads(body or b"{}").get("patchOperations") or []
                plan_id, key_id = _path_part(environ, 2), _path_part(environ, 4)
                return _json(usage.update_usage(call.region, plan_id, key_id, operations))
            if call.operation == "CreateUsagePlan":
                return self._create_usage_plan(environ, call)
            if call.operation == "GetExport":
                return self._get_export(environ, call, query)
            if call.operation == "CreateDeployment":
                return self._create_deployment(environ, call)
            if call.operation in strict.PAGED_OPERATIONS:
                return self._paged(environ, call)
            if call.operation == "CreateUsagePlanKey":
                payload = json.loads(body or b"{}")
                strict.check_create_usage_plan_key(
                    call.region, _path_part(environ, 2), str(payload.get("keyId", ""))
                )
            elif call.operation == "UpdateUsagePlan":
                return self._update_usage_plan(environ, call, body)
        except strict.ApiError as exc:
            return error_response(call, exc.status, exc.code, exc.message)
        return self._moto(environ)

    def _create_usage_plan(self, environ: dict[str, Any], call: AwsCall) -> Response:
        """Moto creates the plan; we remember the day (quota ``offset`` applies then)."""
        response = self._moto(environ)
        if response.status_code in (200, 201):
            plan_id = json.loads(response.get_data()).get("id")
            if plan_id:
                usage.usage_store.note_plan_created(call.region, str(plan_id))
        return response

    def _get_export(
        self, environ: dict[str, Any], call: AwsCall, query: dict[str, str]
    ) -> Response:
        """The stage's deployment as OpenAPI 3.0 or Swagger (see ``localaws.export``)."""
        body, content_type, disposition = export.get_export(
            call.region,
            _path_part(environ, 2),
            _path_part(environ, 4),
            _path_part(environ, 6),
            query,
            environ.get("HTTP_ACCEPT", ""),
        )
        return Response(
            body, 200, content_type=content_type, headers={"Content-Disposition": disposition}
        )

    def _create_deployment(self, environ: dict[str, Any], call: AwsCall) -> Response:
        """Moto deploys; we capture what the deployment holds, for GetExport."""
        response = self._moto(environ)
        if response.status_code in (200, 201):
            deployment_id = json.loads(response.get_data()).get("id")
            if deployment_id:
                export.snapshot(call.region, _path_part(environ, 2), str(deployment_id))
        return response

    def _cloudwatch(self, environ: dict[str, Any], call: AwsCall, body: bytes) -> Response:
        """GetMetricData and percentile statistics (see ``localaws.metrics``); everything
        else is moto's."""
        if call.operation == "GetMetricStatistics":
            result = metrics.extended_statistics(call.region, body)
            if result is None:
                return self._moto(environ)
            return _amz_json(result)
        if call.operation == "PutMetricData":
            response = self._moto(environ)
            if response.status_code == 200:
                metrics.refresh(call.region)  # index it now, not at the next read
            return response
        if call.operation != "GetMetricData":
            return self._moto(environ)
        request, percentile_queries = metrics.split_get_metric_data(body)
        answer = metrics.metric_data(call.region, request)
        if answer is not None:
            return _amz_json(answer)
        if not percentile_queries:
            return self._moto(environ)
        ours = metrics.percentile_results(call.region, request, percentile_queries)
        rest = [q for q in request["MetricDataQueries"] if q not in percentile_queries]
        moto_results: list[dict[str, Any]] = []
        if rest:
            inner_body = json.dumps(request | {"MetricDataQueries": rest}).encode()
            inner = dict(environ)
            inner["wsgi.input"] = io.BytesIO(inner_body)
            inner["CONTENT_LENGTH"] = str(len(inner_body))
            response = self._moto(inner)
            if response.status_code != 200:
                return response
            moto_results = json.loads(response.get_data()).get("MetricDataResults", [])
        return _amz_json({"MetricDataResults": metrics.merge_results(request, moto_results, ours)})

    def _update_usage_plan(self, environ: dict[str, Any], call: AwsCall, body: bytes) -> Response:
        plan_id = _path_part(environ, 2)
        operations = json.loads(body or b"{}").get("patchOperations") or []
        strict.check_update_usage_plan(call.region, plan_id, operations)
        # The /apiStages family (stages and their per-method throttles) is ours; moto gets the rest.
        stages = strict.apply_api_stage_patch(call.region, plan_id, operations)
        rest = [op for op in operations if stages is None or not strict.is_api_stage_op(op)]
        patched = json.dumps({"patchOperations": strict.moto_safe_patch(rest)}).encode()
        inner = dict(environ)
        inner["wsgi.input"] = io.BytesIO(patched)
        inner["CONTENT_LENGTH"] = str(len(patched))
        response = self._moto(inner)
        if response.status_code == 200:
            if stages is not None:
                strict.store_api_stages(call.region, plan_id, stages)
            fixed = strict.fix_usage_plan_numbers(call.region, plan_id, operations)
            response.set_data(json.dumps(fixed))
        return response

    def _paged(self, environ: dict[str, Any], call: AwsCall) -> Response:
        """Serve a list operation page by page, as AWS does (moto returns everything)."""
        query = urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        params = dict(query)
        limit = strict.parse_limit(params.get("limit"))
        position = params.get("position")
        if position is not None:
            strict.decode_position(position)  # reject foreign tokens before any work
        inner = dict(environ)
        inner["QUERY_STRING"] = urllib.parse.urlencode(
            [(k, v) for k, v in query if k not in ("limit", "position")]
        )
        response = self._moto(inner)
        if response.status_code != 200:
            return response
        items = json.loads(response.get_data()).get("item", [])
        if call.operation == "GetApiKeys" and params.get("customerId"):
            # moto ignores the customerId filter and would return every key.
            items = [k for k in items if k.get("customerId") == params["customerId"]]
        if call.operation == "GetUsagePlanKeys":
            items = strict.drop_stale_usage_plan_keys(call.region, _path_part(environ, 2), items)
        response.set_data(json.dumps(strict.page(items, limit, position)))
        response.content_type = "application/json"
        return response

    def _moto(self, environ: dict[str, Any]) -> Response:
        app_iter, status, headers = run_wsgi_app(self.moto, environ, buffered=True)
        return Response(app_iter, status=status, headers=headers)

    # -- control endpoints --------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        """``/_localaws/faults`` (POST add, GET list, DELETE clear),
        ``/_localaws/calls`` (GET list, ``?operation=`` filter; DELETE clear),
        ``/_localaws/usage`` (POST: set API Gateway usage counters, see ``_post_usage``;
        GET ``?usagePlanId=&keyId=&date=[&region=]``: one counter; DELETE: clear all),
        ``/_localaws/reset`` (POST: wipe moto state, usage, faults and journal)."""
        route = (request.method, request.path)
        if route == ("POST", "/_localaws/usage"):
            return self._post_usage(request)
        if route == ("GET", "/_localaws/usage"):
            try:
                used = usage.usage_store.used(
                    request.args["usagePlanId"],
                    request.args["keyId"],
                    datetime.date.fromisoformat(request.args["date"]),
                    request.args.get("region", usage.DEFAULT_REGION),
                )
            except (KeyError, ValueError) as exc:
                return _json({"error": f"usagePlanId, keyId and date are required: {exc}"}, 400)
            return _json({"used": used})
        if route == ("DELETE", "/_localaws/usage"):
            usage.usage_store.reset()
            self._mark_dirty()
            return _json({"status": "ok"})
        if route == ("POST", "/_localaws/faults"):
            try:
                fault = Fault.from_json(request.get_json(force=True))
            except (TypeError, ValueError, KeyError) as exc:
                return _json({"error": str(exc)}, 400)
            return _json(self.faults.add(fault).to_json(), 201)
        if route == ("GET", "/_localaws/faults"):
            return _json(self.faults.list())
        if route == ("DELETE", "/_localaws/faults"):
            self.faults.clear()
            return _json({"status": "ok"})
        if route == ("GET", "/_localaws/calls"):
            return _json(self.journal.list(request.args.get("operation")))
        if route == ("DELETE", "/_localaws/calls"):
            self.journal.clear()
            return _json({"status": "ok"})
        if route == ("POST", "/_localaws/reset"):
            self.reset()
            return _json({"status": "ok"})
        return _json({"error": f"no control endpoint {request.method} {request.path}"}, 404)

    def _post_usage(self, request: Request) -> Response:
        """Set (not add) daily ``used`` counters: one JSON object ``{"usagePlanId",
        "keyId", "date": "YYYY-MM-DD", "used": N[, "region"]}`` or a list of them (applied
        all-or-nothing). Plans and keys are not checked: a simulator may write first."""
        try:
            payload = request.get_json(force=True)
            items = payload if isinstance(payload, list) else [payload]
            records = [usage.UsageRecord.from_json(item) for item in items]
        except (TypeError, ValueError, AttributeError) as exc:
            return _json({"error": str(exc)}, 400)
        count = usage.usage_store.set_many(records)
        self._mark_dirty()
        return _json({"status": "ok", "count": count})

    def _mark_dirty(self) -> None:
        if self.state is not None:
            self.state.mark_dirty()

    def reset(self) -> None:
        with self.write_lock:
            moto_api_backend.reset()
            usage.usage_store.reset()
        self.faults.clear()
        self.journal.clear()
        if self.state is not None:
            self.state.mark_dirty()


def _path_part(environ: dict[str, Any], index: int) -> str:
    """``/usageplans/{id}/keys`` -> part 2 is the plan id."""
    parts = environ.get("PATH_INFO", "").split("/")
    return urllib.parse.unquote(parts[index]) if len(parts) > index else ""


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def _amz_json(data: Any) -> Response:
    """A 200 in the awsJson1.0 protocol (CloudWatch)."""
    return Response(json.dumps(data), status=200, content_type="application/x-amz-json-1.0")


def build_app(state_file: Path | None = None) -> LocalAwsApp:
    """The wrapped WSGI app; loads ``state_file`` if given (call ``.state.start()``
    to begin background saving, as ``LocalAwsServer`` does)."""
    return LocalAwsApp(state_file)


class _RequestHandler(MotoRequestHandler):
    """Moto's handler (keeps underscore headers) minus a log line per request."""

    verbose = False

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.verbose:
            super().log_request(code, size)


class _VerboseRequestHandler(_RequestHandler):
    verbose = True


class LocalAwsServer:
    """Threaded HTTP server around ``LocalAwsApp`` (like moto's ThreadedMotoServer).

    ``port=0`` picks a free port; ``endpoint_url`` reports the real one.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: Path | None = None,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.state_file = state_file
        self.verbose = verbose
        self.app: LocalAwsApp | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalAwsServer is not started")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> None:
        """Bind (the socket accepts connections when this returns) and serve in a thread."""
        self.app = build_app(self.state_file)
        handler = _VerboseRequestHandler if self.verbose else _RequestHandler
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=handler
        )
        if self.app.state is not None:
            self.app.state.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="localaws-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, then write the final state snapshot."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        if self.app is not None and self.app.state is not None:
            self.app.state.stop()
        self._server = None
        self._thread = None
