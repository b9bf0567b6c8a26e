"""The values Tollgate generates for new keys: format, checksum, entropy, and the gitleaks rule
shipped for them (docs/gitleaks.toml). No database, no AWS."""

from __future__ import annotations

import collections
import math
import random
import re
import string
import tomllib
from pathlib import Path

import pytest

from portal.aws.apigateway import key_values
from portal.aws.apigateway.key_values import (
    ALPHABET,
    BODY_LENGTH,
    KEY_LENGTH,
    PREFIX,
    checksum,
    display_prefix_of,
    has_tollgate_shape,
    looks_like_tollgate_key,
    new_key_value,
)

GITLEAKS = Path(__file__).resolve().parents[2] / "docs" / "gitleaks.toml"
ALNUM = string.ascii_letters + string.digits


@pytest.fixture(scope="module")
def generated() -> list[str]:
    return [new_key_value() for _ in range(1000)]


@pytest.fixture(scope="module")
def rule() -> dict[str, object]:
    config = tomllib.loads(GITLEAKS.read_text())
    [tollgate] = [r for r in config["rules"] if r["id"] == "tollgate-api-key"]
    return tollgate


def gitleaks_finds(rule: dict[str, object], text: str) -> list[str]:
    """What gitleaks would report in `text`: the keyword prefilter (case-insensitive), the regex
    (RE2 and Python agree on it: ASCII classes, \\b, no look-around), the secret group and the
    entropy floor."""
    if not any(str(k).lower() in text.lower() for k in rule["keywords"]):  # type: ignore[attr-defined]
        return []
    group = int(rule.get("secretGroup", 0))  # type: ignore[call-overload]
    found = [m.group(group) for m in re.finditer(str(rule["regex"]), text, re.ASCII)]
    floor = float(rule.get("entropy", 0))  # type: ignore[arg-type]
    return [s for s in found if shannon_entropy(s) >= floor]


def shannon_entropy(text: str) -> float:
    """Bits per character, as gitleaks computes a secret's entropy."""
    counts = collections.Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def test_the_format(generated: list[str]) -> None:
    assert KEY_LENGTH == 41
    for value in generated:
        assert len(value) == KEY_LENGTH and value.startswith("tgk")
        # API Gateway takes 20 to 128 alphanumeric characters.
        assert 20 <= len(value) <= 128 and value.isalnum() and value.isascii()
        assert looks_like_tollgate_key(value)
        assert value[-6:] == checksum(value[3 : 3 + BODY_LENGTH])
    assert len(set(generated)) == len(generated)


def test_the_entropy(generated: list[str]) -> None:
    # By construction: 32 characters drawn uniformly (secrets.choice) from 62.
    assert 190.4 < key_values.ENTROPY_BITS < 190.6
    # Measured: the random parts' characters are spread evenly over the whole alphabet.
    bodies = "".join(v[3 : 3 + BODY_LENGTH] for v in generated)
    counts = collections.Counter(bodies)
    assert set(counts) == set(ALPHABET)
    per_char = shannon_entropy(bodies)
    assert per_char > 5.9  # log2(62) = 5.954
    assert per_char * BODY_LENGTH >= 160
    expected = len(bodies) / len(ALPHABET)
    chi2 = sum((counts[c] - expected) ** 2 / expected for c in ALPHABET)
    assert chi2 < 120  # 61 degrees of freedom: p < 1e-6 above ~120


def test_the_checksum_catches_every_single_character_mistype(generated: list[str]) -> None:
    mistypes = 0
    for value in generated[:60]:
        for i, original in enumerate(value):
            for other in ALNUM:
                if other != original:
                    typo = value[:i] + other + value[i + 1 :]
                    assert not looks_like_tollgate_key(typo), (i, other)
                    mistypes += 1
    assert mistypes == 60 * KEY_LENGTH * 61


def test_other_values_are_not_tollgate_keys(generated: list[str]) -> None:
    value = generated[0]
    assert not looks_like_tollgate_key(value[:-1])  # one character short
    assert not looks_like_tollgate_key(value + "A")  # one too many
    assert not looks_like_tollgate_key("TGK" + value[3:])
    assert not looks_like_tollgate_key(value[:10] + "_" + value[11:])
    assert not looks_like_tollgate_key("")
    rng = random.Random(14)
    made_up = [PREFIX + "".join(rng.choices(ALNUM, k=KEY_LENGTH - 3)) for _ in range(1000)]
    assert all(has_tollgate_shape(v) for v in made_up)
    # A CRC32 in 6 base62 characters: one made-up value in 2**32 would pass.
    assert sum(looks_like_tollgate_key(v) for v in made_up) == 0


def test_the_display_prefix_tells_keys_apart(generated: list[str]) -> None:
    prefixes = [display_prefix_of(v) for v in generated]
    assert all(len(p) == 8 and p.startswith("tgk") for p in prefixes)  # ApiKey's max_length
    assert len(set(prefixes)) >= 995  # 62**5 possible: a clash is rare
    # Keys whose values API Gateway made, or imported ones, keep 5 characters.
    assert display_prefix_of("Imp0rtedSecretValue0002xyz") == "Imp0r"


def test_the_gitleaks_rule_finds_every_generated_key(
    rule: dict[str, object], generated: list[str]
) -> None:
    assert rule["keywords"] == ["tgk"]
    for value in generated:
        for text in (
            value,
            f'API_KEY="{value}"',
            f"curl -H 'x-api-key: {value}' https://api.example.com/forecast",
            f"tollgate:\n  key: {value}\n",
            f'{{"x-api-key":"{value}"}}',
        ):
            assert gitleaks_finds(rule, text) == [value], text


def test_the_gitleaks_rule_ignores_other_strings(rule: dict[str, object]) -> None:
    rng = random.Random(1414)
    others = [
        # random letters and digits of the same length, not starting with the prefix
        *(
            s
            for s in ("".join(rng.choices(ALNUM, k=KEY_LENGTH)) for _ in range(1000))
            if not s.lower().startswith("tgk")
        ),
        # the prefix, but one character short or long (inside a longer word)
        "tgk" + "".join(rng.choices(ALNUM, k=37)),
        "tgk" + "".join(rng.choices(ALNUM, k=39)),
        "xtgk" + "".join(rng.choices(ALNUM, k=38)),
        # other formats: API Gateway's own 40-character keys, GitHub and AWS, Tollgate's tokens
        "".join(rng.choices(ALNUM, k=40)),
        "ghp_" + "".join(rng.choices(ALNUM, k=36)),
        "AKIA" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16)),
        "tg_abcd1234_" + "".join(rng.choices(ALNUM + "-_", k=43)),
        "tgk_" + "".join(rng.choices(ALNUM, k=38)),
        # a placeholder a README might show
        "tgk" + "x" * 38,
    ]
    for text in others:
        assert gitleaks_finds(rule, text) == [], text


def test_the_rule_regex_is_re2_syntax(rule: dict[str, object]) -> None:
    """Go's RE2 has no look-around and no back-references; the rule uses neither."""
    regex = str(rule["regex"])
    assert not re.search(r"\(\?[=!<]|\\[1-9]", regex)
    assert regex == r"\b(tgk[0-9A-Za-z]{38})\b"
    assert rule["description"] and rule["id"] == "tollgate-api-key"
