"""The local AWS WSGI app: moto wrapped in Tollgate's strictness layer.

Request flow for a signed AWS request::

    journal + faults  ->  strict rules (paging, same-stage conflict, STS AssumeRole's
                          trust policy check)  ->  moto
                      ->  operations moto lacks (ImportApiKeys, GetUsage, UpdateUsage,
                          GetExport, CloudWatch percentiles) answered here

This module is the routing: it identifies the call (``localaws.wire``), applies injected
faults and records the call in the journal, holds the write lock around every write (so
check-then-write rules stay atomic and snapshots consistent), and hands the call to
``apigateway_handlers`` or ``cloudwatch_handlers``. Data-plane requests to deployed
stages (unsigned, at an invoke address: see ``localaws.gateway.routing``) are answered by
``localaws.gateway`` before any of that; other requests without a SigV4 ``Authorization``
header (moto's own ``/moto-api`` etc.) go straight to moto. ``/_localaws/*`` are our
control endpoints (see ``localaws.control``).
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import run_wsgi_app
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_input_stream

from localaws import apigateway_handlers, cloudwatch_handlers, sts, usage
from localaws.control import control
from localaws.faults import CallJournal, CallRecord, FaultRegistry, wait
from localaws.gateway import Gateway
from localaws.persistence import StateStore
from localaws.wire import APIGATEWAY, CLOUDWATCH, STS, AwsCall, error_response, identify

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
        self.gateway = Gateway(self.write_lock, mark_dirty=self.mark_metered)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_localaws/"):
            return control(self, Request(environ))(environ, start_response)
        body = get_input_stream(environ).read()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        answer = self.gateway.answer(environ, body)
        if answer is not None:
            return answer(environ, start_response)
        call = identify(environ, body)
        if call is None:
            # moto's own endpoints (/moto-api/reset ...) may change what the gateway indexed.
            self.gateway.note_write()
            return self.moto(environ, start_response)
        return self._aws(environ, call, body)(environ, start_response)

    # -- AWS requests -----------------------------------------------------------------

    def _aws(self, environ: dict[str, Any], call: AwsCall, body: bytes) -> Response:
        started, wall = time.monotonic(), time.time()
        fault = self.faults.take(call.operation, call.region, call.account)
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
                region=call.region,
                account=call.account,
            )
        )
        return response

    def _dispatch(self, environ: dict[str, Any], call: AwsCall, body: bytes) -> Response:
        if call.service == CLOUDWATCH:
            self.gateway.flush_metrics()  # a read must see every request served so far
        if call.operation.startswith(_READ_PREFIXES):
            return self._strict(environ, call, body)
        with self.write_lock:
            response = self._strict(environ, call, body)
        if call.service == APIGATEWAY:
            self.gateway.note_write(call.operation)
        if self.state is not None:
            self.state.mark_dirty()
        return response

    def _strict(self, environ: dict[str, Any], call: AwsCall, body: bytes) -> Response:
        if call.service == CLOUDWATCH and call.protocol == "json":
            return cloudwatch_handlers.answer(environ, call, body, self._moto)
        if call.service == STS:
            return sts.answer(call, body, lambda: self._moto(environ), environ)
        if call.service != APIGATEWAY:
            return self._moto(environ)
        return apigateway_handlers.answer(environ, call, body, self._moto)

    def _moto(self, environ: dict[str, Any]) -> Response:
        app_iter, status, headers = run_wsgi_app(self.moto, environ, buffered=True)
        return Response(app_iter, status=status, headers=headers)

    # -- what the control endpoints steer ------------------------------------------------

    def mark_dirty(self) -> None:
        if self.state is not None:
            self.state.mark_dirty()

    def mark_metered(self) -> None:
        if self.state is not None:
            self.state.mark_metered()

    def reset(self) -> None:
        with self.write_lock:
            moto_api_backend.reset()
            usage.usage_store.reset()
            self.gateway.reset()
        self.faults.clear()
        self.journal.clear()
        if self.state is not None:
            self.state.mark_dirty()


def build_app(state_file: Path | None = None) -> LocalAwsApp:
    """The wrapped WSGI app; loads ``state_file`` if given (call ``.state.start()``
    to begin background saving, as ``LocalAwsServer`` does)."""
    return LocalAwsApp(state_file)
