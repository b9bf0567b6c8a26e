"""The API's people: the shared fixtures' admin, ops, alice (Acme) and bob (Globex), each with a
personal access token, and a client that sends it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from keys.models import ApiKey
from keys.services import key_create
from portal.accounts.models import User
from portal.customers.models import Customer
from portal.tokens.models import TokenScope
from portal.tokens.services import token_create


class ApiClient:
    """A Django test client speaking JSON, with a bearer token (or none)."""

    def __init__(self, token: str | None = None) -> None:
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def _send(self, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        kwargs: dict[str, Any] = {**self.headers, **extra}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method)(path, **kwargs)

    def get(self, path: str, **extra: Any) -> Any:
        return self._send("get", path, **extra)

    def post(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self._send("post", path, body if body is not None else {}, **extra)

    def patch(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self._send("patch", path, body if body is not None else {}, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        return self._send("delete", path, **extra)


def token_for(user: User, scope: str = TokenScope.WRITE) -> str:
    return token_create(user=user, name=f"{scope} token", scope=scope, expires_at=None).plaintext


def api_as(user: User | None, scope: str = TokenScope.WRITE) -> ApiClient:
    return ApiClient(token_for(user, scope) if user is not None else None)


@pytest.fixture(autouse=True)
def generous_rate(settings: Any) -> None:
    """Throttling is tested on its own; elsewhere the rate never gets in the way."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/min"},
    }


@pytest.fixture
def sent_tasks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """The tasks sent once a transaction commits (portal.sync.enqueue_on_commit), by name and
    arguments; run them with django_capture_on_commit_callbacks(execute=True)."""
    from portal import sync

    sent: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(sync, "send_task", lambda name, *args: sent.append((name, args)))
    return sent


@pytest.fixture
def acme_key(alice: User, acme: Customer) -> ApiKey:
    return key_create(actor=alice, customer=acme, name="production")


@pytest.fixture
def globex_key(bob: User, globex: Customer) -> ApiKey:
    return key_create(actor=bob, customer=globex, name="globex-prod")
