"""Which AWS account a signed request acts in, decided exactly as moto decides it.

Moto serves many accounts in one process: every per-service backend is keyed by account
id, and a request lands in the account ``moto.core.responses.BaseResponse.get_current_account``
picks - ``MOTO_ACCOUNT_ID`` if set, else the ``x-moto-account-id`` header, else the account
that owns the SigV4 access key (keys issued by STS AssumeRole belong to the role's account;
keys moto never issued, like the dashboard's fake ones, to ``DEFAULT_ACCOUNT_ID``). Our own
layers (strictness, usage, metrics) must read and write the same account moto does, or an
answer would mix one account's plans with another's usage.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import get_account_id_from

# "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/apigateway/aws4_request, ..."
_ACCESS_KEY = re.compile(r"Credential=([^/]+)/")

__all__ = ["DEFAULT_ACCOUNT_ID", "access_key_of", "account_of"]


def access_key_of(environ: Mapping[str, Any]) -> str | None:
    match = _ACCESS_KEY.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    return match.group(1) if match else None


def account_of(environ: Mapping[str, Any]) -> str:
    """The account moto will serve this request from (same priority order as moto)."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    header = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if header:
        return str(header)
    key = access_key_of(environ)
    return get_account_id_from(key) if key else DEFAULT_ACCOUNT_ID
