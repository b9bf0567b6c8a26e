"""The key values of an import while they wait for API Gateway: encrypted, in the shared cache.

One cache entry per chunk (keys/imports/__init__.py, "How the secrets travel"), written in the
upload's transaction, read by the task, deleted once its rows reached AWS, expiring anyway after
SECRETS_TTL. Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from SECRET_KEY; the values
are never stored in the database nor sent through the broker.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken
from django.core.cache import cache
from django.utils.crypto import salted_hmac
from django.views.decorators.debug import sensitive_variables

SECRETS_TTL = 6 * 3600
# The key's salt, unchanged since the module moved here: values encrypted by an upload made
# before a deploy still decrypt after it.
_KEY_SALT = "tollgate.keys.bulk"


def _fernet() -> Fernet:
    raw = salted_hmac(_KEY_SALT, "secrets-in-cache", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(raw))


def cache_key(import_id: int, chunk: int) -> str:
    return f"tollgate:key-import:{import_id}:chunk:{chunk}"


@sensitive_variables()
def store_secrets(import_id: int, chunk: int, values: dict[int, str]) -> bool:
    """Keep a chunk's values (by file line); False if the cache did not keep them."""
    plain = json.dumps(
        {"import": import_id, "chunk": chunk, "keys": {str(k): v for k, v in values.items()}}
    ).encode()
    token = _fernet().encrypt(plain)
    cache.set(cache_key(import_id, chunk), token.decode(), SECRETS_TTL)
    return cache.get(cache_key(import_id, chunk)) is not None


@sensitive_variables()
def load_secrets(import_id: int, chunk: int) -> dict[int, str] | None:
    """The chunk's values by file line, or None if they expired or cannot be read."""
    token = cache.get(cache_key(import_id, chunk))
    if not token:
        return None
    try:
        data = json.loads(_fernet().decrypt(str(token).encode(), ttl=SECRETS_TTL))
    except (InvalidToken, ValueError):
        return None
    if data.get("import") != import_id or data.get("chunk") != chunk:
        return None
    return {int(k): str(v) for k, v in data["keys"].items()}


def drop_secrets(import_id: int, chunks: Iterable[int]) -> None:
    cache.delete_many([cache_key(import_id, c) for c in chunks])
