"""Which requests are data-plane requests, and which API, stage and path they are for.

A request without a SigV4 ``Authorization`` header for a management service (one signed
for ``execute-api``, as IAM-authorised invocations are, still counts) is for the gateway
when it has one of these addresses:

1. Path style, on any host (LocalStack's convention, since a local server has one host):
   ``/restapis/{restApiId}/{stageName}/_user_request_/{resource path}``.
2. The execute-api host, ``{restApiId}.execute-api.{region}.amazonaws.com`` (or
   ``.localhost``, any port): ``/{stageName}/{resource path}`` (Developer Guide, "Invoke
   REST APIs in API Gateway").
3. A custom domain name registered with CreateDomainName (host name compared without port,
   case-insensitively): its base path mappings pick the API and stage, the longest mapped
   base path that prefixes the path winning and ``(none)`` mapping the root; the rest of the
   path is the resource path. A mapping without a stage leaves the stage name as the next
   path segment. A path no mapping covers is API Gateway's 403 "Missing Authentication
   Token" (AWS re:Post, "How can I troubleshoot 403 'missing authentication token' errors
   when invoking API Gateway REST or HTTP APIs with a custom domain name?").

Anything else (management calls, moto's own ``/moto-api``) is not the gateway's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from localaws.gateway.catalog import Catalog, DomainTarget, Located

_SIGV4_SCOPE = re.compile(r"Credential=[^/]*/\d{8}/([^/]+)/([^/]+)/aws4_request")
_PATH_STYLE = re.compile(r"^/restapis/([^/]+)/([^/]+)/_user_request_(/.*)?$")
_EXECUTE_API_HOST = re.compile(
    r"^([a-z0-9]+)\.execute-api\.([a-z0-9-]+)\.(?:amazonaws\.com|localhost)$"
)
_NO_BASE_PATH = "(none)"


@dataclass(frozen=True)
class Address:
    """Where a data-plane request is aimed. ``api_id`` is None for a custom-domain path
    that no base path mapping covers."""

    api_id: str | None
    stage_name: str | None
    resource_path: str
    region: str | None = None  # the execute-api host names one
    located: Located | None = None  # a custom domain's mapping lives in one backend


def host_name(environ: dict[str, Any]) -> str:
    """The request's host name, lower case, without port."""
    host = str(environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "").strip().lower()
    if host.startswith("["):  # [::1]:5000
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _split_stage(path: str) -> tuple[str | None, str]:
    parts = [part for part in path.split("/") if part]
    if not parts:
        return None, "/"
    return parts[0], "/" + "/".join(parts[1:])


def address(environ: dict[str, Any], catalog: Catalog) -> Address | None:
    """The data-plane address of the request, or None when it is not for the gateway."""
    authorization = environ.get("HTTP_AUTHORIZATION")
    if authorization:
        scope = _SIGV4_SCOPE.search(authorization)
        if scope is not None and scope.group(2) != "execute-api":
            return None
    path = environ.get("PATH_INFO") or "/"
    path_style = _PATH_STYLE.match(path)
    if path_style is not None:
        return Address(path_style.group(1), path_style.group(2), path_style.group(3) or "/")
    host = host_name(environ)
    execute_api = _EXECUTE_API_HOST.match(host)
    if execute_api is not None:
        stage_name, resource_path = _split_stage(path)
        return Address(execute_api.group(1), stage_name, resource_path, execute_api.group(2))
    target = catalog.domain(host) if host else None
    return None if target is None else _through_domain(target, path)


def _through_domain(target: DomainTarget, path: str) -> Address:
    located = target.located
    mappings = dict(located.backend.base_path_mappings.get(target.domain_name) or {})
    segments = [part for part in path.split("/") if part]
    best: Any = None
    best_length = -1
    for base_path, mapping in mappings.items():
        prefix = [] if base_path in (_NO_BASE_PATH, "") else [p for p in base_path.split("/") if p]
        if segments[: len(prefix)] == prefix and len(prefix) > best_length:
            best, best_length = mapping, len(prefix)
    if best is None:
        return Address(None, None, path, located=located)
    rest = "/" + "/".join(segments[best_length:])
    if best.stage:
        return Address(best.rest_api_id, best.stage, rest, located=located)
    stage_name, resource_path = _split_stage(rest)
    return Address(best.rest_api_id, stage_name, resource_path, located=located)
