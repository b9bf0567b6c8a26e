"""The format of the API key values Tollgate generates, so secret scanners can recognise them.

    tgk + 32 random base62 characters + 6 base62 characters of the CRC32 of those 32

41 characters, alphanumeric only (API Gateway takes 20-128 of them), shown as `tgkAbCdE…`.
The 32 characters come from `secrets` (190 bits); the fixed prefix lets scanners (gitleaks:
docs/gitleaks.toml) find the keys in code; the checksum lets Tollgate tell a mistyped or made-up
value from a real one offline, without a database query (any one character changed is caught:
CRC32 detects every error that spans 32 bits or fewer).

`new_key_value` is called by `create_api_key` right before CreateApiKey, in the worker; the value
leaves that function only as its SHA-256 and display prefix. Keys imported from a CSV file or
adopted from an account keep the values they have, whatever their shape.
"""

from __future__ import annotations

import math
import re
import secrets
import string
import zlib

PREFIX = "tgk"
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase  # base62
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6  # 62**6 > 2**32: every CRC32 fits
KEY_LENGTH = len(PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH  # 41
ENTROPY_BITS = BODY_LENGTH * math.log2(len(ALPHABET))  # 190.5
# What people see of a generated key: the prefix and the first 5 random characters.
DISPLAY_LENGTH = len(PREFIX) + 5
LEGACY_DISPLAY_LENGTH = 5  # keys whose values API Gateway generated, imported or adopted

_SHAPE = re.compile(rf"{PREFIX}[0-9A-Za-z]{{{BODY_LENGTH + CHECKSUM_LENGTH}}}")


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def checksum(body: str) -> str:
    """The 6 base62 characters that end a key whose random part is `body`."""
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def new_key_value() -> str:
    """A fresh key value: never store, queue, return from a task or log it."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return f"{PREFIX}{body}{checksum(body)}"


def has_tollgate_shape(value: str) -> bool:
    """Prefix, length and alphabet of a generated key (the checksum not checked)."""
    return _SHAPE.fullmatch(value) is not None


def looks_like_tollgate_key(value: str) -> bool:
    """A value Tollgate could have generated: its shape, and a checksum that adds up."""
    if not has_tollgate_shape(value):
        return False
    body = value[len(PREFIX) : len(PREFIX) + BODY_LENGTH]
    return secrets.compare_digest(value[-CHECKSUM_LENGTH:], checksum(body))


def display_prefix_of(value: str) -> str:
    """What the pages show of a key: "tgk" and 5 characters of a generated key, else 5."""
    return value[:DISPLAY_LENGTH] if has_tollgate_shape(value) else value[:LEGACY_DISPLAY_LENGTH]
