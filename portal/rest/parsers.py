"""The API's one body parser: JSON, bounded in size and in depth, refused with a problem body.

DRF's own JSONParser hands the body to `json.load`, which recurses once per level: a body nested
100,000 deep raises RecursionError (a 500), and a body over DATA_UPLOAD_MAX_MEMORY_SIZE raises
Django's RequestDataTooBig (a 500 too). Here the body is read at most one byte past the limit
(413 beyond it), its nesting is measured without recursion - brackets outside strings, counted
in a flat pass - and anything deeper than MAX_DEPTH is a 400 before `json.loads` sees it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from portal.rest.errors import PayloadTooLarge

MAX_DEPTH = 64  # far deeper than any Tollgate body (a tier with method throttles is 3)
# A JSON string, escapes included (the "unrolled loop": linear, no backtracking).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEPS = str.maketrans({"[": "1", "{": "1", "]": "0", "}": "0"})


def nesting_depth(text: str) -> int:
    """How deep the arrays and objects of `text` nest, ignoring brackets inside strings."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    steps = (1 if step == "1" else -1 for step in brackets.translate(_STEPS))
    return max(accumulate(steps))


def body_limit() -> int | None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return None if limit is None else int(limit)


class BoundedJSONParser(JSONParser):
    """JSON bodies of at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes and MAX_DEPTH levels."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit = body_limit()
        try:
            raw = stream.read() if limit is None else stream.read(limit + 1)
        except RequestDataTooBig as exc:
            raise PayloadTooLarge(limit) from exc
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge(limit)
        try:
            text = codecs.decode(raw, encoding) if isinstance(raw, bytes) else str(raw)
        except (LookupError, ValueError) as exc:
            raise ParseError(f"JSON parse error - the body is not valid {encoding}.") from exc
        if nesting_depth(text) > MAX_DEPTH:
            raise ParseError(
                f"JSON parse error - the body nests more than {MAX_DEPTH} levels deep."
            )
        parse_constant = json.strict_constant if self.strict else None
        try:
            return json.loads(text, parse_constant=parse_constant)
        except RecursionError as exc:  # pragma: no cover - the depth check comes first
            raise ParseError("JSON parse error - the body nests too deep.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
