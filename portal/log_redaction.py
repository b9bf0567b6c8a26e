"""Logging filters that keep secrets out of the DEBUG records of botocore and Django's templates.

settings.LOGGING puts them on the loggers REDACTING_LOGGERS names. tests/secret_leaks.py checks
every record of the whole test suite, with every logger at every level, for every secret made.

* botocore at DEBUG writes every request and response body it handles: API Gateway's
  CreateApiKey, GetApiKey (includeValue) and GetApiKeys (includeValues) answers carry the keys'
  values, and ImportApiKeys' request body is a CSV of them. Production caps botocore at WARNING,
  so those records are never made; should someone turn botocore down to DEBUG to look at a sync,
  `RedactApiKeyValues` replaces the value of every field named `value` (key values, and also the
  values of UpdateUsagePlan's patch operations) and all of ImportApiKeys' body with REDACTED.
* django.template at DEBUG (LOG_LEVEL=DEBUG) logs each variable a template could not resolve,
  with the exception, whose message holds the repr of the whole template context: a new personal
  access token, a password-reset link, whatever the page shows once. `DropTemplateContext` keeps
  the record ("Exception while resolving variable 'x' in template 'y'.") and the exception's
  type, not the exception.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
# `"value": "…"` in JSON bodies, `'value': '…'` in the dicts botocore writes out.
_VALUE_FIELD = re.compile(r"""(["']value["']\s*:\s*b?["'])[^"'\\]*""")
# Operations whose request body is made of secrets and has no `value` field to find.
_SECRET_BODIES = frozenset({"ImportApiKeys"})


class RedactApiKeyValues(logging.Filter):
    """For `botocore.endpoint` ("Making request for … with params: …") and `botocore.parsers`
    ("Response body: …"): the record's message with the secrets replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) == 2
            and getattr(args[0], "name", None) in _SECRET_BODIES
            and isinstance(args[1], dict)
            and "body" in args[1]
        ):
            record.args = (args[0], {**args[1], "body": REDACTED})
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is the handler's to report
            return True
        if "value" in message:
            redacted = _VALUE_FIELD.sub(rf"\g<1>{REDACTED}", message)
            if redacted != message:
                record.msg, record.args = redacted, ()
        return True


class DropTemplateContext(logging.Filter):
    """For `django.template`: the exception's type instead of the exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            name = type(record.exc_info[1]).__name__
            record.msg = f"{record.msg} ({name}; the template context is not logged)"
            record.exc_info = record.exc_text = None
        return True


REDACTING_LOGGERS: dict[str, dict[str, Any]] = {
    "botocore.endpoint": {"filters": [RedactApiKeyValues()]},
    "botocore.parsers": {"filters": [RedactApiKeyValues()]},
    "django.template": {"filters": [DropTemplateContext()]},
}
