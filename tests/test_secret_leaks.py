"""The secret-leak check (tests/secret_leaks.py) finds a secret in a log record, and only then."""

from __future__ import annotations

import logging
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import generate_totp_secret
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User
from portal.log_redaction import RedactApiKeyValues
from portal.tokens.models import TokenScope
from portal.tokens.services import token_create
from tests.conftest import PASSWORD as CONFTEST_PASSWORD
from tests.secret_leaks import (
    ACCESS_TOKEN,
    PASSWORD,
    RECOVERY_CODE,
    TOTP_SECRET,
    Captured,
    SecretLeakPlugin,
    SecretRegistry,
    find_leaks,
    record_text,
)

pytest_plugins = ["pytester"]

REPOSITORY = Path(__file__).resolve().parent.parent


def make_record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("app.views", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_a_secret_in_a_message_is_found_and_not_shown() -> None:
    registry = SecretRegistry()
    token = "tg_abcd1234_" + secrets.token_urlsafe(32)
    registry.add(token, ACCESS_TOKEN)

    leaks = find_leaks([Captured("app.views", "INFO", f"issued {token}!")], registry)

    assert [(leak.logger, leak.kind, leak.secret) for leak in leaks] == [
        ("app.views", ACCESS_TOKEN, token)
    ]
    assert "tg_a…" in leaks[0].describe()
    assert token not in leaks[0].describe()


def test_a_clean_log_passes() -> None:
    registry = SecretRegistry()
    registry.add(secrets.token_urlsafe(32), ACCESS_TOKEN)
    registry.add("correct-horse-battery", PASSWORD)
    registry.add("12345678", RECOVERY_CODE)
    captured = [
        Captured("django.request", "WARNING", "Not Found: /keys/42/"),
        Captured("celery", "INFO", "Task keys.tasks.sync_key[1f2e] succeeded in 0.2s: None"),
        Captured("app", "INFO", "at 1712345678901 the correct-horse ran"),  # no whole code
    ]

    assert find_leaks(captured, registry) == []


def test_secrets_inside_longer_text_and_other_characters_are_found() -> None:
    registry = SecretRegistry()
    key = secrets.token_hex(20)
    registry.add(key, "API key secret")
    registry.add("pässwörd with spaces!", PASSWORD)
    registry.add("87654321", RECOVERY_CODE)
    text = f"prefix{key}suffix (pässwörd with spaces!) code 87654321."

    kinds = sorted({leak.kind for leak in find_leaks([Captured("x", "DEBUG", text)], registry)})

    assert kinds == ["API key secret", RECOVERY_CODE, PASSWORD]


def test_a_recovery_code_inside_a_digest_is_chance_not_a_leak() -> None:
    registry = SecretRegistry()
    registry.add("50621234", RECOVERY_CODE)
    signature = "Signature=9f3ab50621234c0de7" + "0" * 50

    assert list(find_leaks([Captured("botocore.auth", "DEBUG", signature)], registry)) == []


def test_short_values_are_not_recorded() -> None:
    registry = SecretRegistry()
    registry.add("abc123", PASSWORD)
    registry.add(secrets.token_hex(4), "secrets.token_hex()")

    assert len(registry) == 0


def test_arguments_extras_and_exceptions_are_searched() -> None:
    secret = secrets.token_urlsafe(24)
    plain = make_record("sync failed for %s", "key-1", payload={"value": secret})
    try:
        try:
            raise KeyError(secret)
        except KeyError as inner:
            raise RuntimeError("AWS refused the call") from inner
    except RuntimeError:
        failed = make_record("sync failed")
        failed.exc_info = sys.exc_info()

    assert secret in record_text(plain)
    assert secret in record_text(failed)


def test_the_running_plugin_sees_a_secret_logged_below_its_loggers_level(
    request: pytest.FixtureRequest,
) -> None:
    """A DEBUG record of a logger set to WARNING that does not propagate: production would not
    write it, but it is made when someone turns the level down, so the check sees it."""
    plugin = leak_plugin(request)
    plugin.check()  # what came before this test was checked already
    quiet = logging.getLogger("tests.secret_leaks.quiet")
    quiet.setLevel(logging.WARNING)
    quiet.propagate = False
    token = secrets.token_urlsafe(24)  # recorded by the session's wrapper

    quiet.debug("made %s", token)
    leaks = plugin.check()  # takes the record: this test does not fail for it

    assert [(leak.logger, leak.secret) for leak in leaks] == [(quiet.name, token)]
    assert leaks[0].kind.startswith("secrets.token_urlsafe()")


LEAKY_TESTS = """
import logging
import secrets


def test_leaks():
    logging.getLogger("leaky.module").warning("invitation %s", secrets.token_urlsafe(24))


def test_clean():
    secrets.token_urlsafe(24)
    logging.getLogger("clean.module").warning("invitation sent")
"""


def test_a_leak_fails_the_test_that_logged_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPOSITORY))
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    pytester.makepyfile(test_leaky=LEAKY_TESTS)

    result = pytester.runpytest_subprocess("-p", "no:django", "-p", "tests.secret_leaks")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*secret leaked to the log during call*",
            "*a secrets.token_urlsafe() (made by test_leaky) (*…, 32 characters) in a WARNING"
            " record of logger 'leaky.module'*",
            "*WARNING*leaky.module*invitation *…*",  # pytest's captured log, the secret cut
            "*FAILED test_leaky.py::test_leaks*",
        ]
    )


def test_botocore_bodies_have_their_key_values_redacted() -> None:
    """portal.log_redaction, as settings.LOGGING puts it on botocore's body-writing loggers."""
    value = secrets.token_urlsafe(30)
    operation = type("OperationModel", (), {"name": "ImportApiKeys"})()
    response = logging.LogRecord(
        "botocore.parsers", logging.DEBUG, "", 1, "Response body:\n%r",
        (f'{{"items": [{{"id": "k1", "value": "{value}"}}]}}'.encode(),), None,
    )  # fmt: skip
    request = logging.LogRecord(
        "botocore.endpoint", logging.DEBUG, "", 1, "Making request for %s with params: %s",
        (operation, {"method": "POST", "body": f"Name,Key\nn,{value}\n".encode()}), None,
    )  # fmt: skip
    redact = RedactApiKeyValues()

    assert redact.filter(response) and redact.filter(request)
    for record in (response, request):
        assert value not in record_text(record)
        assert "[redacted]" in record.getMessage()
    assert '"id": "k1"' in response.getMessage()


@pytest.mark.integration
def test_a_key_made_and_read_in_the_local_aws_leaves_no_value_in_botocores_records(
    request: pytest.FixtureRequest, apigw: Any
) -> None:
    plugin = leak_plugin(request)
    plugin.check()

    created = apigw.create_api_key(name="leak-check", enabled=True)
    apigw.get_api_key(apiKey=created["id"], includeValue=True)
    captured = plugin.watcher.take()

    bodies = [c for c in captured if c.logger == "botocore.parsers" and "Response body" in c.text]
    assert len(bodies) == 2  # made although botocore is at WARNING: the check sees DEBUG too
    assert all("[redacted]" in c.text for c in bodies)
    assert find_leaks(captured, plugin.registry) == []


def leak_plugin(request: pytest.FixtureRequest) -> SecretLeakPlugin:
    plugin = request.config.pluginmanager.get_plugin("secret-leaks")
    assert isinstance(plugin, SecretLeakPlugin)
    return plugin


def kinds_of(plugin: SecretLeakPlugin, value: str) -> set[str]:
    return {kind for _, kind in plugin.registry.find(value)}


def test_the_session_records_passwords_typed_and_tokens_issued(
    request: pytest.FixtureRequest, alice: User, client: Client
) -> None:
    plugin = leak_plugin(request)
    typed = "a-wrong-password-" + secrets.token_hex(4)

    client.post(reverse("account_login"), {"login": alice.email, "password": typed})
    issued = token_create(
        user=alice,
        name="CI",
        scope=TokenScope.READ,
        expires_at=timezone.now() + timedelta(days=30),
    )

    assert kinds_of(plugin, CONFTEST_PASSWORD) == {PASSWORD}
    assert kinds_of(plugin, typed) == {PASSWORD}
    assert ACCESS_TOKEN in kinds_of(plugin, issued.plaintext)


def test_the_session_records_totp_secrets_and_recovery_codes(
    request: pytest.FixtureRequest, charlie: User
) -> None:
    plugin = leak_plugin(request)

    secret = generate_totp_secret()
    codes = RecoveryCodes.activate(charlie).get_unused_codes()

    assert kinds_of(plugin, secret) == {TOTP_SECRET}
    assert codes and all(kinds_of(plugin, f"code {code}.") == {RECOVERY_CODE} for code in codes)


def test_a_template_variable_that_fails_leaves_the_context_out_of_the_log(
    request: pytest.FixtureRequest,
) -> None:
    """django.template logs each failed lookup at DEBUG with the exception, whose message holds
    the whole context: portal.log_redaction keeps the exception's type only."""
    plugin = leak_plugin(request)
    plugin.check()
    token = secrets.token_urlsafe(24)

    Template("{{ missing.attribute }} {{ token }}").render(Context({"token": token}))
    captured = plugin.watcher.take()

    assert [c.text.splitlines()[0] for c in captured if c.logger == "django.template"] == [
        "Exception while resolving variable 'missing' in template 'unknown'."
        " (VariableDoesNotExist; the template context is not logged)"
    ]
    assert find_leaks(captured, plugin.registry) == []
