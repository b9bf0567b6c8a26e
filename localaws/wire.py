"""AWS wire-format helpers: which operation a request is, and how AWS spells an error.

Production code talks to this server through botocore, which parses every response
against the service model. Errors we synthesise (paging limits, same-stage conflicts,
injected faults) must therefore look exactly like AWS errors of the protocol botocore
chose, or the dashboard would see a parse failure instead of the intended ``ClientError``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import botocore.session
from werkzeug.wrappers import Response

from localaws.accounts import DEFAULT_ACCOUNT_ID, account_of

# SigV4: "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/apigateway/aws4_request, ..."
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]*/\d{8}/([^/]+)/([^/]+)/aws4_request")
# smithy-rpc-v2-cbor puts the operation in the path rather than in a header.
_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/([A-Za-z0-9]+)$")

APIGATEWAY = "apigateway"
# CloudWatch signs as "monitoring".
CLOUDWATCH = "monitoring"
STS = "sts"
# The XML namespace of each query-protocol service's documents (its botocore model's
# ``xmlNamespace``); botocore ignores it, but it is what AWS sends.
_QUERY_NAMESPACES = {
    CLOUDWATCH: "http://monitoring.amazonaws.com/doc/2010-08-01/",
    STS: "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}


@dataclass(frozen=True)
class AwsCall:
    """One identified AWS request."""

    service: str
    operation: str
    region: str
    # "json", "query" or "rest-json": decides the error format we must answer with.
    protocol: str
    # The account moto serves the call from (``localaws.accounts``).
    account: str = DEFAULT_ACCOUNT_ID


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    required_query: tuple[tuple[str, str], ...]
    literal_chars: int


@lru_cache(maxsize=1)
def _apigateway_routes() -> tuple[_Route, ...]:
    """Routes derived from botocore's own API Gateway model.

    Deriving them from the model (instead of a hand-written table) names every
    operation exactly as AWS does, including ones the dashboard may start using later.
    """
    model = botocore.session.get_session().get_service_model(APIGATEWAY)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri, _, query = http["requestUri"].partition("?")
        regex = ""
        literal = 0
        for part in re.split(r"(\{[^}]+\})", uri):
            if part.startswith("{"):
                regex += ".+" if part.endswith("+}") else "[^/]+"
            else:
                regex += re.escape(part)
                literal += len(part)
        required = tuple((k, v) for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True))
        routes.append(_Route(name, http["method"], re.compile(f"^{regex}/?$"), required, literal))
    # Most specific first: literal path text wins over placeholders, required query
    # parameters (e.g. ImportApiKeys' "?mode=import") win over none.
    routes.sort(key=lambda r: (len(r.required_query), r.literal_chars), reverse=True)
    return tuple(routes)


def apigateway_operation(method: str, path: str, query: dict[str, str]) -> str | None:
    """Name the API Gateway operation for a REST request, or None if unknown."""
    for route in _apigateway_routes():
        if route.method != method or not route.pattern.match(path):
            continue
        if all(query.get(k) == v for k, v in route.required_query):
            return route.operation
    return None


def identify(environ: dict[str, Any], body: bytes) -> AwsCall | None:
    """Identify a signed AWS request from its SigV4 scope and protocol details."""
    match = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return None
    region, service = match.group(1), match.group(2)
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    if service == APIGATEWAY:
        query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
        operation = apigateway_operation(method, path, query)
        protocol = "rest-json"
    else:
        operation, protocol = _rpc_operation(environ, path, body)
    if operation is None:
        return None
    return AwsCall(service, operation, region, protocol, account_of(environ))


def _rpc_operation(environ: dict[str, Any], path: str, body: bytes) -> tuple[str | None, str]:
    """Operation of an RPC-style call (CloudWatch) in whichever protocol botocore used.

    botocore 1.44 lists CloudWatch as smithy-rpc-v2-cbor, json and query and picks
    json (``X-Amz-Target``); older botocore versions use query (``Action=`` form field).
    """
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1], "json"
    rpc = _RPC_V2_PATH.match(path)
    if rpc:
        return rpc.group(1), "cbor"
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        action = form.get("Action")
        if action:
            return action[0], "query"
    return None, "query"


def error_response(call: AwsCall | None, status: int, code: str, message: str) -> Response:
    """An error in the wire format AWS uses for ``call``'s protocol.

    rest-json (API Gateway): botocore reads the code from the ``x-amzn-ErrorType``
    header and the message from the JSON body's ``message``.
    json (CloudWatch, query-compatible): code from ``__type`` after ``#``, and
    ``x-amzn-query-error: Code;Sender`` maps it back to the legacy query error code.
    query: the classic ``<ErrorResponse>`` XML document.
    """
    protocol = call.protocol if call else "rest-json"
    fault_type = "Sender" if status < 500 else "Receiver"
    if protocol == "query":
        namespace = _QUERY_NAMESPACES.get(
            call.service if call else "", _QUERY_NAMESPACES[CLOUDWATCH]
        )
        body = (
            f'<ErrorResponse xmlns="{namespace}">'
            f"<Error><Type>{fault_type}</Type><Code>{_xml(code)}</Code>"
            f"<Message>{_xml(message)}</Message></Error>"
            "<RequestId>localaws</RequestId></ErrorResponse>"
        )
        return Response(body, status=status, content_type="text/xml")
    if protocol in ("json", "cbor"):
        # cbor callers would need a CBOR body; botocore 1.44 never picks cbor for
        # CloudWatch, so JSON with the query-compat header is the faithful answer here.
        return Response(
            json.dumps({"__type": f"com.amazonaws.cloudwatch#{code}", "message": message}),
            status=status,
            content_type="application/x-amz-json-1.0",
            headers={"x-amzn-query-error": f"{code};{fault_type}"},
        )
    return Response(
        json.dumps({"message": message}),
        status=status,
        content_type="application/json",
        headers={"x-amzn-ErrorType": code},
    )


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
