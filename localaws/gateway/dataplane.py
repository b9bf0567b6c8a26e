"""One data-plane request, from address to answer: the order API Gateway checks things in.

1. Address (``routing``): which API, stage and resource path. No such API, a stage that
   does not exist or has no deployment, or no resource and method for the path (``ANY``
   included): 403 MISSING_AUTHENTICATION_TOKEN.
2. API key, for a method with ``apiKeyRequired`` (Developer Guide, "Choose an API key
   source in API Gateway": API Gateway "reads the key and compares it against the keys in
   the usage plan ... Otherwise ... the caller receives a 403 Forbidden response"). The
   key comes from the ``x-api-key`` header (case-insensitive, as HTTP headers are); a
   missing, unknown, disabled or deleted key, or a key in no usage plan of this API stage,
   is 403 INVALID_API_KEY. An API whose key source is ``AUTHORIZER`` gets no key here (no
   Lambda authorizer runs locally), so its key-protected methods answer 403.
3. Throttles and quota (``limits``, ``buckets``, ``localaws.usage``), one atomic step: a
   request lacking a token at any level is 429 THROTTLED; else, for a keyed request, one
   whose usage plan quota is used up is 429 QUOTA_EXCEEDED. Neither is counted in usage
   nor takes a token. A request let through is counted in the usage store (per Region,
   plan, key and UTC day) - the same counter GetUsage reports and UpdateUsage extends -
   whatever its integration then answers.
4. Integration (``integrations``).

Every request whose stage was found is metered (``metering``), refusals included.
"""

from __future__ import annotations

import datetime
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from localaws.gateway import limits
from localaws.gateway.buckets import BucketStore, Clock
from localaws.gateway.catalog import Catalog, Located
from localaws.gateway.integrations import integrate
from localaws.gateway.metering import Metering, StageName
from localaws.gateway.resources import MethodSpec
from localaws.gateway.responses import (
    API_CONFIGURATION_ERROR,
    INVALID_API_KEY,
    JSON,
    MISSING_AUTHENTICATION_TOKEN,
    QUOTA_EXCEEDED,
    THROTTLED,
    RequestIds,
    ResponseType,
    gateway_response,
)
from localaws.gateway.routing import Address, address
from localaws.gateway.templates import TemplateInput
from localaws.usage import usage_store, utc_today

API_KEY_HEADER = "HTTP_X_API_KEY"  # x-api-key, as WSGI spells any capitalisation of it


@dataclass(frozen=True)
class _Served:
    response: Response
    stage: StageName | None = None
    integration_ms: float | None = None


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    found = {
        name[5:].replace("_", "-").lower(): str(value)
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        found["content-type"] = str(environ["CONTENT_TYPE"])
    return found


def _key_value(api: Any, environ: dict[str, Any]) -> str | None:
    if str(getattr(api, "api_key_source", None) or "HEADER").upper() != "HEADER":
        return None
    value = environ.get(API_KEY_HEADER)
    return str(value) if value else None


class Gateway:
    """The data plane of every deployed REST API stage on this server."""

    def __init__(
        self,
        write_lock: threading.RLock,
        mark_dirty: Callable[[], None] = lambda: None,
        clock: Clock = time.monotonic,
        today: Callable[[], datetime.date] = utc_today,
    ) -> None:
        self.catalog = Catalog(write_lock)
        self.buckets = BucketStore(clock)
        self.metering = Metering(write_lock, on_publish=mark_dirty)
        self.today = today
        self._mark_dirty = mark_dirty

    # -- what LocalAwsApp calls --------------------------------------------------------------

    def answer(self, environ: dict[str, Any], body: bytes) -> Response | None:
        """The gateway's answer, or None when the request is not a data-plane request."""
        where = address(environ, self.catalog)
        if where is None:
            return None
        started = time.perf_counter()
        served = self._serve(environ, body, where, RequestIds.new())
        if served.stage is not None:
            latency_ms = (time.perf_counter() - started) * 1000.0
            self.metering.record(
                served.stage, served.response.status_code, latency_ms, served.integration_ms
            )
        return served.response

    def note_write(self, operation: str | None = None) -> None:
        """A management write happened (``operation`` None: anything may have changed)."""
        self.catalog.note_write(operation)
        self.buckets.note_write()

    def flush_metrics(self) -> None:
        self.metering.flush()

    def reset(self) -> None:
        self.catalog.note_write(None)
        self.buckets.reset()
        self.metering.reset()

    # -- the steps -------------------------------------------------------------------------

    def _locate(self, where: Address) -> tuple[Located, Any] | None:
        if where.api_id is None:
            return None
        if where.located is not None:
            candidates = [where.located]
        else:
            candidates = self.catalog.apis(where.api_id)
            if where.region is not None:
                candidates = [c for c in candidates if c.region == where.region]
        for located in candidates:
            api = located.backend.apis.get(where.api_id)
            if api is not None:
                return located, api
        return None

    def _serve(
        self, environ: dict[str, Any], body: bytes, where: Address, ids: RequestIds
    ) -> _Served:
        http_method = str(environ.get("REQUEST_METHOD") or "GET").upper()
        values = TemplateInput(
            context={
                "requestId": ids.request_id,
                "extendedRequestId": ids.extended_id,
                "apiId": where.api_id or "",
                "stage": where.stage_name or "",
                "resourcePath": where.resource_path,
                "httpMethod": http_method,
                "path": str(environ.get("PATH_INFO") or "/"),
                "identity.sourceIp": str(environ.get("REMOTE_ADDR") or ""),
                "identity.userAgent": str(environ.get("HTTP_USER_AGENT") or ""),
            },
            query=dict(urllib.parse.parse_qsl(str(environ.get("QUERY_STRING") or ""))),
            headers=_headers(environ),
            body=body.decode("utf-8", "replace"),
        )
        found = self._locate(where)
        if found is None:
            return _Served(gateway_response(None, MISSING_AUTHENTICATION_TOKEN, values, ids))
        located, api = found
        stage = api.stages.get(where.stage_name) if where.stage_name else None
        deployment = api.deployments.get(stage.deployment_id) if stage is not None else None
        if stage is None or deployment is None:
            return _Served(gateway_response(api, MISSING_AUTHENTICATION_TOKEN, values, ids))
        metered = StageName(located.account_id, located.region, str(api.name), str(stage.name))
        route = self.catalog.routes(located, api, deployment).match(
            where.resource_path, http_method
        )
        if route is None:
            refusal = gateway_response(api, MISSING_AUTHENTICATION_TOKEN, values, ids)
            return _Served(refusal, metered)
        method = route.method
        key_value = _key_value(api, environ) if method.api_key_required else None
        values = TemplateInput(
            context={
                **values.context,
                "resourcePath": method.resource_path,
                "identity.apiKey": key_value or "",
            },
            stage_variables=dict(stage.variables or {}),
            path_parameters=route.path_parameters,
            query=values.query,
            headers=values.headers,
            body=values.body,
        )
        plan = key_id = None
        if method.api_key_required:
            key_id, plan = self._key_and_plan(located, api.id, stage.name, key_value)
            if plan is None:
                return _Served(gateway_response(api, INVALID_API_KEY, values, ids), metered)
        refused = self._admit(located, api.id, stage, method, plan, key_id)
        if refused is not None:
            return _Served(gateway_response(api, refused, values, ids), metered)
        integration_started = time.perf_counter()
        answered = integrate(method, values, str(environ.get("CONTENT_TYPE") or ""))
        integration_ms = (time.perf_counter() - integration_started) * 1000.0
        if answered is None:
            failure = gateway_response(api, API_CONFIGURATION_ERROR, values, ids)
            return _Served(failure, metered, integration_ms if method.integration else None)
        headers = {"Content-Type": JSON, **answered.headers, **ids.headers()}
        response = Response(answered.body, status=answered.status, headers=headers)
        return _Served(response, metered, integration_ms)

    def _key_and_plan(
        self, located: Located, api_id: str, stage_name: str, key_value: str | None
    ) -> tuple[str | None, Any | None]:
        """(key id, usage plan) of an enabled key in a plan of this stage, else (.., None)."""
        if not key_value:
            return None, None
        key_id = self.catalog.key_id(located.account_id, located.region, key_value)
        key = located.backend.keys.get(key_id) if key_id is not None else None
        if key is None or str(key.enabled).lower() != "true":
            return key_id, None
        plan_id = self.catalog.plan_id(
            located.account_id, located.region, str(key_id), api_id, stage_name
        )
        plan = located.backend.usage_plans.get(plan_id) if plan_id is not None else None
        return key_id, plan

    def _admit(
        self,
        located: Located,
        api_id: str,
        stage: Any,
        method: MethodSpec,
        plan: Any | None,
        key_id: str | None,
    ) -> ResponseType | None:
        """None when the request may go on (then it is counted), else the refusal."""
        levels = limits.levels(
            account_id=located.account_id,
            region=located.region,
            backend=located.backend,
            api_id=api_id,
            stage=stage,
            resource_path=method.resource_path,
            http_method=method.http_method,
            plan=plan,
            key_id=key_id,
        )
        with self.buckets.lock:
            if not self.buckets.available(levels):
                return THROTTLED
            if plan is not None and key_id is not None:
                quota = plan.quota or {}
                if not usage_store.use_one_if_left(
                    located.account_id, located.region, str(plan.id), key_id, quota, self.today()
                ):
                    return QUOTA_EXCEEDED
            self.buckets.take(levels)
        if plan is not None:
            self._mark_dirty()  # the usage store is part of the --state snapshot
        return None
