"""A pytest plugin: no secret the product or the tests create ever appears in a log record.

Issue 13 asks that no API key secret, token, password, TOTP secret or recovery code ever appears
in a log record, across the whole suite. For the whole session (under pytest-xdist each worker
checks its own records) this plugin

* records every secret as it is created, through wrappers installed once at session start, so
  fixtures and background threads (the Celery worker, the live server, the local AWS) count too:
  API key values (every CreateApiKey/GetApiKey/GetApiKeys answer botocore parses, and every
  value `secret_fingerprint` or `get_api_key_secret` sees, imported keys included), personal
  access tokens (`IssuedToken`), passwords (`set_password`, `check_password`,
  `validate_password`: whatever a test posts to a login or sign-up form), password-reset
  tokens, TOTP secrets and recovery codes (django-allauth's mfa app, when it is installed), and
  whatever `secrets.token_urlsafe` / `secrets.token_hex` return (invitation links and any other
  generated token). Values shorter than MIN_LENGTH are not recorded (they would match ordinary
  text); recovery codes are digits and match only as a whole word (not inside a digest);
* captures every log record of every logger at every level: `Logger.isEnabledFor` answers yes,
  so even a logger configured at WARNING (botocore, celery's) or a DEBUG call under production's
  INFO builds its record; `Logger.callHandlers` sees each record once, whatever its logger's
  handlers and propagation, after the logger's own filters (a redacting filter counts), and
  passes on to the real handlers only the records the configuration would have let through, so
  console output and caplog are unchanged. What is kept of a record, when it is made: the
  formatted message, the arguments, the extra attributes, and the type and message of each
  exception in `exc_info`'s chain (the traceback's source lines are the repository's code);
* after each phase (setup, call, teardown) of each test, looks for every secret known so far in
  the records captured since the last check, and fails that test naming the logger and the
  secret's kind, never the secret (its first 4 characters only). Records after the last test
  fail the session.
"""

from __future__ import annotations

import collections
import csv
import functools
import io
import logging
import re
import secrets as random_secrets
import sys
import threading
import traceback
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

MIN_LENGTH = 12  # shorter values would match ordinary words and numbers
# allauth's are 8 digits; they match only as a whole word: inside a hex digest or a signature (a
# run of letters and digits) 8 digits in a row turn up by chance (CI saw one in botocore.auth).
RECOVERY_CODE_MIN_LENGTH = 6
SHOWN = 4  # characters of a leaked secret a report shows
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_TOKEN_RUN = re.compile(rf"[A-Za-z0-9_\-]{{{MIN_LENGTH},}}")
_NUMBER = re.compile(rf"(?<![0-9A-Za-z])[0-9]{{{RECOVERY_CODE_MIN_LENGTH},}}(?![0-9A-Za-z])")
_FORCED = "_secret_leaks_forced"  # marks a record only this plugin asked for
_STANDARD = logging.LogRecord("", 0, "", 0, "", (), None).__dict__
_STANDARD_ATTRIBUTES = frozenset(_STANDARD) | {"message", "asctime", "taskName", _FORCED}


# --- the secrets ------------------------------------------------------------------------------


class SecretRegistry:
    """Every secret created so far, with what kind of secret it is.

    Secrets made of URL-safe characters (random tokens, key values, most passwords) are indexed by
    their first MIN_LENGTH characters: a text is searched in one pass over its runs of such
    characters, however many secrets there are. Other secrets (passwords with other characters)
    are searched one by one; there are few of them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kinds: dict[str, str] = {}
        self._by_head: dict[str, list[str]] = {}
        self._others: dict[str, str] = {}
        self._codes: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._kinds) + len(self._others) + len(self._codes)

    def counts(self) -> dict[str, int]:
        """How many secrets of each kind (without the module that made them)."""
        kinds = [*self._kinds.values(), *self._others.values(), *self._codes.values()]
        counted = collections.Counter(kind.split(" (made by")[0] for kind in kinds)
        return dict(counted.most_common())

    def add(self, value: object, kind: str) -> None:
        if isinstance(value, bytes):
            try:
                value = value.decode()
            except UnicodeDecodeError:
                return
        if not isinstance(value, str):
            return
        with self._lock:
            if value.isdigit() and kind == RECOVERY_CODE:
                if len(value) >= RECOVERY_CODE_MIN_LENGTH:
                    self._codes.setdefault(value, kind)
                return
            if len(value) < MIN_LENGTH or value in self._kinds or value in self._others:
                return
            if _TOKEN_CHARS.issuperset(value):
                self._kinds[value] = kind
                self._by_head.setdefault(value[:MIN_LENGTH], []).append(value)
            else:
                self._others[value] = kind

    def find(self, text: str) -> Iterator[tuple[str, str]]:
        """(secret, kind) of each secret `text` contains."""
        if self._by_head:
            for run in _TOKEN_RUN.findall(text):
                for start in range(len(run) - MIN_LENGTH + 1):
                    for value in self._by_head.get(run[start : start + MIN_LENGTH], ()):
                        if run.startswith(value, start):
                            yield value, self._kinds[value]
        for value, kind in list(self._others.items()):
            if value in text:
                yield value, kind
        if self._codes:
            for number in _NUMBER.findall(text):
                if number in self._codes:
                    yield number, self._codes[number]


API_KEY = "API key secret"
ACCESS_TOKEN = "personal access token"
PASSWORD = "password"
RESET_TOKEN = "password-reset token"
TOTP_SECRET = "TOTP secret"
RECOVERY_CODE = "MFA recovery code"


# --- the log records --------------------------------------------------------------------------


@dataclass(frozen=True)
class Captured:
    logger: str
    level: str
    text: str


@dataclass(frozen=True)
class Leak:
    logger: str
    level: str
    kind: str
    secret: str

    @property
    def shown(self) -> str:
        return f"{self.secret[:SHOWN]}…"

    def describe(self) -> str:
        return (
            f"a {self.kind} ({self.shown}, {len(self.secret)} characters) "
            f"in a {self.level} record of logger {self.logger!r}"
        )


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not break logging
        return ""


def _exception_lines(exc: BaseException | None) -> Iterator[str]:
    """Type and message of `exc` and of each exception it was raised from or during."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield from traceback.format_exception_only(type(exc), exc)
        yield from getattr(exc, "__notes__", ())
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def record_text(record: logging.LogRecord) -> str:
    """Everything of `record` a handler or formatter could write out, but its source lines."""
    parts: list[str] = []
    try:
        parts.append(record.getMessage())
    except Exception:  # noqa: BLE001 - a bad format string: keep its pieces
        parts.append(_text(record.msg))
    if record.args:
        parts.append(_text(record.args))
        values = record.args.values() if isinstance(record.args, dict) else record.args
        parts.extend(_text(v) for v in values if isinstance(v, str | bytes))
    for name, value in record.__dict__.items():
        if name not in _STANDARD_ATTRIBUTES:
            parts.append(_text(value))
    if record.exc_info and record.exc_info[1] is not None:
        parts.extend(_exception_lines(record.exc_info[1]))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


def find_leaks(captured: Iterable[Captured], registry: SecretRegistry) -> list[Leak]:
    """Each (logger, secret) found once, in the order met."""
    leaks: dict[tuple[str, str], Leak] = {}
    for entry in captured:
        for value, kind in registry.find(entry.text):
            leaks.setdefault((entry.logger, value), Leak(entry.logger, entry.level, kind, value))
    return list(leaks.values())


class LogWatcher:
    """Keeps every record any logger makes, until `take()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._captured: list[Captured] = []
        self._busy = threading.local()
        self.records_seen = 0

    def capture(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "on", False):
            return  # a __str__ or __repr__ that logs while its record is formatted
        self._busy.on = True
        try:
            entry = Captured(record.name, record.levelname, record_text(record))
        finally:
            self._busy.on = False
        with self._lock:
            self._captured.append(entry)
            self.records_seen += 1

    def take(self) -> list[Captured]:
        with self._lock:
            captured, self._captured = self._captured, []
        return captured


# --- installing the wrappers ------------------------------------------------------------------


@dataclass
class Installed:
    undo: list[Callable[[], None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def set(self, owner: Any, name: str, value: Any) -> None:
        old = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        setattr(owner, name, value)
        self.undo.append(lambda: setattr(owner, name, old))

    def replace_everywhere(self, module: Any, name: str, wrap: Callable[[Any], Any]) -> None:
        """Replace function `name` of `module` with `wrap(it)`, also in every loaded module that
        imported it by name (modules imported later get the wrapper from `module`)."""
        original = getattr(module, name)
        wrapper = wrap(original)
        for other in list(sys.modules.values()):
            try:
                if other is module or other.__dict__.get(name) is original:
                    self.set(other, name, wrapper)
            except Exception:  # noqa: BLE001 - lazy modules that fail on attribute access
                continue

    def restore(self) -> None:
        for undo in reversed(self.undo):
            undo()
        self.undo.clear()


def _returns(kind: str, registry: SecretRegistry) -> Callable[[Any], Any]:
    """A wrapper that records what the function returns."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            registry.add(result, kind)
            return result

        return wrapper

    return wrap


def _argument(kind: str, registry: SecretRegistry, name: str) -> Callable[[Any], Any]:
    """A wrapper that records the function's first argument (`name` when passed by name)."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            registry.add(args[0] if args else kwargs.get(name), kind)
            return original(*args, **kwargs)

        return wrapper

    return wrap


def _generated(kind: str, registry: SecretRegistry) -> Callable[[Any], Any]:
    """A wrapper that records what the function returns, and which module asked for it."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            caller = sys._getframe(1).f_globals.get("__name__", "?")
            registry.add(result, f"{kind} (made by {caller})")
            return result

        return wrapper

    return wrap


_KEY_VALUE_OPERATIONS = frozenset({"CreateApiKey", "GetApiKey", "GetApiKeys"})


def _install_logging(inst: Installed, watcher: LogWatcher) -> None:
    is_enabled_for = logging.Logger.isEnabledFor
    make_record = logging.Logger.makeRecord
    call_handlers = logging.Logger.callHandlers

    def every_level(self: logging.Logger, level: int) -> bool:
        return not self.disabled and self.manager.disable < level

    def mark_forced(self: logging.Logger, name: str, level: int, *args: Any, **kw: Any) -> Any:
        record = make_record(self, name, level, *args, **kw)
        if not is_enabled_for(self, level):
            record.__dict__[_FORCED] = True
        return record

    def capture_then_call(self: logging.Logger, record: logging.LogRecord) -> None:
        forced = record.__dict__.pop(_FORCED, False)
        watcher.capture(record)
        if not forced:
            call_handlers(self, record)

    inst.set(logging.Logger, "isEnabledFor", every_level)
    inst.set(logging.Logger, "makeRecord", mark_forced)
    inst.set(logging.Logger, "callHandlers", capture_then_call)


def _install_random(inst: Installed, registry: SecretRegistry) -> None:
    for name in ("token_urlsafe", "token_hex"):
        inst.replace_everywhere(random_secrets, name, _generated(f"secrets.{name}()", registry))


def _install_botocore(inst: Installed, registry: SecretRegistry) -> None:
    from botocore.client import BaseClient

    make_api_call = BaseClient.__dict__["_make_api_call"]  # not in botocore-stubs

    def record_key_values(self: Any, operation_name: str, api_params: Any) -> Any:
        answer = make_api_call(self, operation_name, api_params)
        if operation_name in _KEY_VALUE_OPERATIONS:
            registry.add(answer.get("value"), API_KEY)
            for item in answer.get("items") or ():
                registry.add(item.get("value"), API_KEY)
        elif operation_name == "ImportApiKeys":
            body = api_params.get("body", b"")
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
            for row in csv.DictReader(io.StringIO(text)):
                registry.add(row.get("Key") or row.get("key"), API_KEY)
        return answer

    inst.set(BaseClient, "_make_api_call", record_key_values)


def _install_django(inst: Installed, registry: SecretRegistry) -> None:
    from django.apps import apps

    if not apps.ready:
        inst.notes.append("Django is not set up: passwords, tokens and key values not recorded")
        return
    from django.contrib.auth import hashers, password_validation
    from django.contrib.auth.tokens import PasswordResetTokenGenerator

    from portal.aws.apigateway import api_keys
    from portal.tokens.services import IssuedToken

    # make_password: set_password, create_user and the login's timing-attack mitigation for an
    # unknown address; check_password: every password typed at a login form.
    for name in ("make_password", "check_password"):
        inst.replace_everywhere(hashers, name, _argument(PASSWORD, registry, "password"))
    inst.replace_everywhere(
        password_validation, "validate_password", _argument(PASSWORD, registry, "password")
    )
    inst.set(
        PasswordResetTokenGenerator,
        "make_token",
        _returns(RESET_TOKEN, registry)(PasswordResetTokenGenerator.make_token),
    )
    issued_init = IssuedToken.__init__

    def issued(self: IssuedToken, *args: Any, **kwargs: Any) -> None:
        issued_init(self, *args, **kwargs)
        registry.add(self.plaintext, ACCESS_TOKEN)

    inst.set(IssuedToken, "__init__", issued)
    inst.replace_everywhere(api_keys, "secret_fingerprint", _argument(API_KEY, registry, "value"))
    inst.replace_everywhere(api_keys, "get_api_key_secret", _returns(API_KEY, registry))
    _install_mfa(inst, registry)


def _install_mfa(inst: Installed, registry: SecretRegistry) -> None:
    try:
        from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
        from allauth.mfa.totp.internal import auth as totp
    except (ImportError, RuntimeError) as exc:  # not installed, or not in INSTALLED_APPS
        inst.notes.append(f"allauth.mfa not available ({exc}): TOTP secrets not recorded")
        return
    inst.replace_everywhere(totp, "generate_totp_secret", _returns(TOTP_SECRET, registry))
    generate_codes = RecoveryCodes.generate_codes

    def codes(self: RecoveryCodes) -> list[str]:
        result = generate_codes(self)
        for code in result:
            registry.add(code, RECOVERY_CODE)
        return result

    inst.set(RecoveryCodes, "generate_codes", codes)


# --- the plugin -------------------------------------------------------------------------------


def _cut(text: str, leaks: Iterable[Leak]) -> str:
    for leak in leaks:
        text = text.replace(leak.secret, leak.shown)
    return text


class SecretLeakPlugin:
    def __init__(self) -> None:
        self.registry = SecretRegistry()
        self.watcher = LogWatcher()
        self.installed = Installed()
        self.leaks_found = 0

    def install(self) -> None:
        _install_random(self.installed, self.registry)
        _install_botocore(self.installed, self.registry)
        _install_django(self.installed, self.registry)
        _install_logging(self.installed, self.watcher)
        conftest = sys.modules.get("tests.conftest")
        self.registry.add(getattr(conftest, "PASSWORD", None), PASSWORD)

    def check(self) -> list[Leak]:
        return find_leaks(self.watcher.take(), self.registry)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.install()

    def pytest_report_header(self) -> list[str]:
        return [f"secret leaks: every log record checked; {note}" for note in self.installed.notes]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        leaks = self.check()
        if leaks:
            self.leaks_found += len(leaks)
            message = (
                f"secret leaked to the log during {call.when}"
                + " (or, from a background thread, since the previous check):\n"
                + "\n".join(f"  {leak.describe()}" for leak in leaks)
            )
            # pytest's report of the captured log and output would show the secrets in full
            report.sections = [(title, _cut(text, leaks)) for title, text in report.sections]
            if report.failed:
                report.sections.append(("secret leaks", message))
            else:
                report.outcome = "failed"
                report.longrepr = message
        return report

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_line(
            f"secret leaks: {self.leaks_found} found in {self.watcher.records_seen} log records;"
            f" {len(self.registry)} secrets recorded: "
            + ", ".join(f"{n} {kind}" for kind, n in self.registry.counts().items())
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        leaks = self.check()
        if leaks:
            self.leaks_found += len(leaks)
            sys.stderr.write(
                "secret leaked to the log after the last test:\n"
                + "".join(f"  {leak.describe()}\n" for leak in leaks)
            )
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.installed.restore()


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("secret-leaks"):
        config.pluginmanager.register(SecretLeakPlugin(), "secret-leaks")
