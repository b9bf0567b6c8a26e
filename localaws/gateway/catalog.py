"""Indexes over moto's API Gateway state, so a request costs dict look-ups, not scans.

At 10,000 API keys a scan per request would dominate the gateway, so the catalog keeps:

* APIs by id and custom domain names by host name (every account and Region with an API
  Gateway backend: a request names an API, not where it lives);
* API keys by (account, Region, value), and the usage plan of each (account, Region, key,
  API, stage) - AWS lets a key be in only one usage plan per API stage
  (``localaws.strict`` refuses a second, as AWS does), so the pair names one plan;
* one route table per deployment (``localaws.gateway.resources``).

The indexes are rebuilt lazily, at the first request after a management write invalidated
them (``LocalAwsApp`` calls ``note_write`` for every API Gateway write). Writes to keys and
usage plans only drop the key indexes; anything else (APIs, resources, stages,
deployments, domain names) only the routing ones. Live facts that change without a
rebuild (is the key enabled, the plan's limits, the stage's settings) are read from moto's
objects at each request. Rebuilds hold the server's write lock, so they never see a
half-applied write.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from moto.apigateway.models import apigateway_backends

from localaws import export
from localaws.gateway.resources import RouteTable, captured_methods, live_methods

_KEY_OPERATIONS = ("ApiKey", "UsagePlan")


@dataclass(frozen=True)
class Located:
    """One moto object and the backend (account, Region) that holds it."""

    account_id: str
    region: str
    backend: Any


@dataclass(frozen=True)
class DomainTarget:
    located: Located
    domain_name: str


def _backends() -> list[tuple[str, str, Any]]:
    """(account, Region, backend) of every API Gateway backend moto has created."""
    return list(apigateway_backends.iter_backends())


class Catalog:
    """Lazily rebuilt indexes; thread-safe."""

    def __init__(self, write_lock: threading.RLock) -> None:
        self._write_lock = write_lock
        self._lock = threading.Lock()
        self._key_generation = 0
        self._route_generation = 0
        self._keys_built = -1
        self._routes_built = -1
        self.rebuilds = 0  # how many index rebuilds ran (benchmarks and tests read it)
        self._keys: dict[tuple[str, str, str], str] = {}
        self._plans: dict[tuple[str, str, str, str, str], str] = {}
        self._apis: dict[str, list[Located]] = {}
        self._domains: dict[str, DomainTarget] = {}
        self._routes: dict[tuple[str, str, str, str], RouteTable] = {}

    # -- invalidation --------------------------------------------------------------------

    def note_write(self, operation: str | None = None) -> None:
        """A management write happened (``operation`` None: anything may have changed)."""
        with self._lock:
            if operation is None or any(word in operation for word in _KEY_OPERATIONS):
                self._key_generation += 1
            if operation is None or not any(word in operation for word in _KEY_OPERATIONS):
                self._route_generation += 1

    # -- look-ups --------------------------------------------------------------------------

    def apis(self, api_id: str) -> list[Located]:
        self._ensure_routes()
        return self._apis.get(api_id, [])

    def domain(self, host_name: str) -> DomainTarget | None:
        self._ensure_routes()
        return self._domains.get(host_name.lower()) if self._domains else None

    def key_id(self, account_id: str, region: str, value: str) -> str | None:
        self._ensure_keys()
        return self._keys.get((account_id, region, value))

    def plan_id(
        self, account_id: str, region: str, key_id: str, api_id: str, stage_name: str
    ) -> str | None:
        self._ensure_keys()
        return self._plans.get((account_id, region, key_id, api_id, stage_name))

    def routes(self, located: Located, api: Any, deployment: Any) -> RouteTable:
        """The route table of ``deployment`` of ``api``."""
        self._ensure_routes()
        cache_key = (located.account_id, located.region, api.id, str(deployment.id))
        table = self._routes.get(cache_key)
        if table is None:
            with self._write_lock:
                generation = self._route_generation
                captured = export.deployed_methods(deployment)
                methods = live_methods(api) if captured is None else captured_methods(captured)
            table = RouteTable(methods)
            with self._lock:
                if generation == self._route_generation == self._routes_built:
                    self._routes[cache_key] = table  # not if a write came in between
        return table

    # -- rebuilding ------------------------------------------------------------------------

    def _ensure_keys(self) -> None:
        if self._keys_built == self._key_generation:
            return
        with self._write_lock, self._lock:
            generation = self._key_generation
            if self._keys_built == generation:
                return
            keys: dict[tuple[str, str, str], str] = {}
            plans: dict[tuple[str, str, str, str, str], str] = {}
            for account_id, region, backend in _backends():
                for key_id, key in list(backend.keys.items()):
                    keys[(account_id, region, str(key.value))] = key_id
                for plan_id, plan_keys in list(backend.usage_plan_keys.items()):
                    plan = backend.usage_plans.get(plan_id)
                    if plan is None:
                        continue  # moto keeps associations of deleted plans
                    stages = [(s.get("apiId"), s.get("stage")) for s in plan.api_stages or []]
                    for key_id in list(plan_keys):
                        if key_id not in backend.keys:
                            continue  # ... and of deleted keys
                        for api_id, stage_name in stages:
                            plans.setdefault(
                                (account_id, region, key_id, api_id, stage_name), plan_id
                            )
            self._keys, self._plans = keys, plans
            self._keys_built = generation
            self.rebuilds += 1

    def _ensure_routes(self) -> None:
        if self._routes_built == self._route_generation:
            return
        with self._write_lock, self._lock:
            generation = self._route_generation
            if self._routes_built == generation:
                return
            apis: dict[str, list[Located]] = {}
            domains: dict[str, DomainTarget] = {}
            for account_id, region, backend in _backends():
                located = Located(account_id, region, backend)
                for api_id in list(backend.apis):
                    apis.setdefault(api_id, []).append(located)
                for domain_name in list(backend.domain_names):
                    domains.setdefault(domain_name.lower(), DomainTarget(located, domain_name))
            self._apis, self._domains, self._routes = apis, domains, {}
            self._routes_built = generation
            self.rebuilds += 1
