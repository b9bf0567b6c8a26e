"""Small WSGI plumbing shared by the request handlers: moto as a function, replies, paths.

Our handlers often ask moto first and then correct or complete its answer, so moto is passed
around as a ``MotoCall`` (environ in, buffered ``Response`` out) rather than as a WSGI app.
"""

from __future__ import annotations

import io
import json
import urllib.parse
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

MotoCall = Callable[[dict[str, Any]], Response]


def with_body(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    """A copy of ``environ`` carrying ``body`` instead (to hand moto a rewritten request)."""
    inner = dict(environ)
    inner["wsgi.input"] = io.BytesIO(body)
    inner["CONTENT_LENGTH"] = str(len(body))
    return inner


def path_part(environ: dict[str, Any], index: int) -> str:
    """``/usageplans/{id}/keys`` -> part 2 is the plan id."""
    parts = environ.get("PATH_INFO", "").split("/")
    return urllib.parse.unquote(parts[index]) if len(parts) > index else ""


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def amz_json_response(data: Any) -> Response:
    """A 200 in the awsJson1.0 protocol (CloudWatch)."""
    return Response(json.dumps(data), status=200, content_type="application/x-amz-json-1.0")
