"""The permission matrix, generated: every endpoint × [nobody, alice on Globex's objects, ops,
admin], one table. Customers' objects of another organisation are 404, never 403."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from keys.models import ApiKey, KeyImport
from plans.models import ApiStage, Plan
from plans.services import plan_create
from portal.accounts.models import User
from portal.aws.metrics import StageDims
from portal.customers.models import Customer
from portal.tokens.models import TokenScope
from portal.usage import metrics as usage_metrics
from portal.usage.metrics import Fetched, Range
from tests.conftest import ENTERPRISE
from tests.fixtures.api import api_as

PEOPLE = ("anonymous", "alice", "ops", "admin")


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # {key}, {customer}, {membership}, {subscription}: Globex's; {tier}: Enterprise
    expected: tuple[int, int, int, int]  # anonymous, alice (on Globex's), ops, admin
    body: dict[str, Any] | None = None

    @property
    def writes(self) -> bool:
        return self.method != "get"


ENDPOINTS = [
    Endpoint("me", "get", "/api/v1/me", (401, 200, 200, 200)),
    Endpoint("stage list", "get", "/api/v1/stages", (401, 403, 200, 200)),
    Endpoint("stage refresh", "post", "/api/v1/stages/refresh", (401, 403, 403, 202)),
    Endpoint("stage read", "get", "/api/v1/stages/{stage}", (401, 403, 200, 200)),
    Endpoint(
        "stage offer", "patch", "/api/v1/stages/{stage}", (401, 403, 403, 200), {"available": True}
    ),
    Endpoint("tier list", "get", "/api/v1/tiers", (401, 200, 200, 200)),
    # A customer sees every listed tier, approval-required ones included (plans.selectors)…
    Endpoint("tier read (approval only)", "get", "/api/v1/tiers/{tier}", (401, 200, 200, 200)),
    # … but not an unlisted one it is not on.
    Endpoint("tier read (unlisted)", "get", "/api/v1/tiers/{unlisted}", (401, 404, 200, 200)),
    Endpoint(
        "tier create",
        "post",
        "/api/v1/tiers",
        (401, 403, 403, 201),
        {"name": "Gold", "stages": ["{stage}"]},
    ),
    Endpoint(
        "tier change", "patch", "/api/v1/tiers/{tier}", (401, 403, 403, 200), {"description": "x"}
    ),
    Endpoint("tier archive", "post", "/api/v1/tiers/{tier}/archive", (401, 403, 403, 200)),
    Endpoint("tier retry sync", "post", "/api/v1/tiers/{tier}/retry-sync", (401, 403, 403, 202)),
    Endpoint("customer list", "get", "/api/v1/customers", (401, 200, 200, 200)),
    Endpoint("customer read", "get", "/api/v1/customers/{customer}", (401, 404, 200, 200)),
    Endpoint("membership list", "get", "/api/v1/memberships", (401, 200, 200, 200)),
    Endpoint("membership read", "get", "/api/v1/memberships/{membership}", (401, 404, 200, 200)),
    Endpoint("subscription list", "get", "/api/v1/subscriptions", (401, 200, 200, 200)),
    Endpoint(
        "subscription read", "get", "/api/v1/subscriptions/{subscription}", (401, 404, 200, 200)
    ),
    Endpoint(
        "tier switch",
        "post",
        "/api/v1/subscription/switch",
        (401, 404, 403, 200),
        {"tier": "premium", "customer": "{customer}"},
    ),
    Endpoint("key list", "get", "/api/v1/keys", (401, 200, 200, 200)),
    Endpoint("key read", "get", "/api/v1/keys/{key}", (401, 404, 200, 200)),
    Endpoint(
        "key create",
        "post",
        "/api/v1/keys",
        (401, 404, 403, 201),
        {"name": "ci", "customer": "{customer}"},
    ),
    Endpoint("key rename", "patch", "/api/v1/keys/{key}", (401, 404, 403, 200), {"name": "new"}),
    Endpoint(
        "key disable", "patch", "/api/v1/keys/{key}", (401, 404, 403, 200), {"enabled": False}
    ),
    Endpoint("key delete", "delete", "/api/v1/keys/{key}", (401, 404, 403, 204)),
    Endpoint("key revoke", "post", "/api/v1/keys/{key}/revoke", (401, 404, 403, 200)),
    Endpoint("key retry sync", "post", "/api/v1/keys/{key}/retry-sync", (401, 404, 403, 202)),
    # Only the key's creator (bob) may see its secret; not even an admin.
    Endpoint("key reveal", "post", "/api/v1/keys/{key}/reveal", (401, 404, 403, 403)),
    # Globex's key is not in API Gateway: the admin gets past permissions to the refusal.
    Endpoint(
        "extra quota",
        "post",
        "/api/v1/keys/{key}/extra-quota",
        (401, 403, 403, 400),
        {"requests": 100},
    ),
    Endpoint("key imports", "get", "/api/v1/key-imports", (401, 403, 200, 200)),
    Endpoint("key import read", "get", "/api/v1/key-imports/{key_import}", (401, 403, 200, 200)),
    # A file without a row: refused whole (400), nothing queued.
    Endpoint(
        "key import",
        "post",
        "/api/v1/key-imports",
        (401, 403, 403, 400),
        {"csv": "customer,name,key\n"},
    ),
    Endpoint(
        "key import resume",
        "post",
        "/api/v1/key-imports/{key_import}/resume",
        (401, 403, 403, 202),
    ),
    Endpoint("usage days", "get", "/api/v1/usage/days", (401, 200, 200, 200)),
    Endpoint("usage summary", "get", "/api/v1/usage/summary", (401, 200, 200, 200)),
    Endpoint("ops metrics", "get", "/api/v1/metrics", (401, 403, 200, 200)),
    Endpoint("sync status", "get", "/api/v1/sync/status", (401, 403, 200, 200)),
    Endpoint("reconcile now", "post", "/api/v1/sync/reconcile", (401, 403, 403, 202)),
    Endpoint("drift summary", "get", "/api/v1/sync/drift", (401, 403, 200, 200)),
    Endpoint(
        "foreign usage plans", "get", "/api/v1/sync/foreign-usage-plans", (401, 403, 200, 200)
    ),
    # No customer named: the service refuses before asking AWS anything.
    Endpoint(
        "adopt a usage plan",
        "post",
        "/api/v1/sync/foreign-usage-plans/abc123/adopt",
        (401, 403, 403, 400),
        {},
    ),
    Endpoint("drifted tiers", "get", "/api/v1/sync/drift/tiers", (401, 403, 200, 200)),
    Endpoint("drifted keys", "get", "/api/v1/sync/drift/keys", (401, 403, 200, 200)),
    # Nothing drifted: the admin gets past permissions to the service's refusal.
    Endpoint(
        "settle tier drift",
        "post",
        "/api/v1/sync/drift/tiers/{tier}/settle",
        (401, 403, 403, 400),
        {"side": "ours"},
    ),
    Endpoint(
        "settle key drift",
        "post",
        "/api/v1/sync/drift/keys/{key}/settle",
        (401, 403, 403, 400),
        {"side": "aws"},
    ),
]


@pytest.fixture(autouse=True)
def no_cloudwatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The metrics endpoint's selector answers from nowhere: permissions need no AWS."""

    def fetch(stages: list[StageDims], chosen: Range) -> Fetched:
        return Fetched(metrics=None, error="", fetched_at=timezone.now())

    monkeypatch.setattr(usage_metrics, "fetch_api_metrics", fetch)


@pytest.fixture
def objects(
    stage: ApiStage,
    tiers: dict[str, Plan],
    globex: Customer,
    globex_key: ApiKey,
) -> dict[str, str]:
    unlisted = plan_create(
        actor=None, data={**ENTERPRISE, "name": "Partner", "listed": False}, stages=[stage]
    )
    return {
        "stage": str(stage.pk),
        "tier": tiers["Enterprise"].slug,
        "unlisted": unlisted.slug,
        "key_import": str(KeyImport.objects.create(token="perm0001", file_name="keys.csv").pk),
        "customer": str(globex.pk),
        "membership": str(globex.memberships.get().pk),
        "subscription": str(globex.subscriptions.get().pk),
        "key": str(globex_key.public_id),
    }


def _fill(value: Any, objects: dict[str, str]) -> Any:
    if isinstance(value, str):
        filled = value.format(**objects)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, list):
        return [_fill(item, objects) for item in value]
    if isinstance(value, dict):
        return {k: _fill(v, objects) for k, v in value.items()}
    return value


def _call(client: Any, endpoint: Endpoint, objects: dict[str, str]) -> Any:
    path = _fill(endpoint.path, objects)
    if endpoint.method in ("get", "delete"):
        return getattr(client, endpoint.method)(path)
    return getattr(client, endpoint.method)(path, _fill(endpoint.body or {}, objects))


CASES = [
    pytest.param(endpoint, who, status, id=f"{endpoint.name}-{who}")
    for endpoint in ENDPOINTS
    for who, status in zip(PEOPLE, endpoint.expected, strict=True)
]


@pytest.mark.parametrize(("endpoint", "who", "expected"), CASES)
def test_it_enforces_the_permission_matrix(
    endpoint: Endpoint,
    who: str,
    expected: int,
    objects: dict[str, str],
    request: pytest.FixtureRequest,
) -> None:
    user: User | None = None if who == "anonymous" else request.getfixturevalue(who)
    response = _call(api_as(user), endpoint, objects)

    assert response.status_code == expected, response.content
    if expected >= 400:
        body = response.json()
        assert set(body) == {"type", "title", "detail", "errors"}
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")


WRITES = [pytest.param(e, id=e.name) for e in ENDPOINTS if e.writes]


@pytest.mark.parametrize("endpoint", WRITES)
def test_it_refuses_every_write_with_a_read_token(
    endpoint: Endpoint, admin: User, objects: dict[str, str]
) -> None:
    response = _call(api_as(admin, TokenScope.READ), endpoint, objects)

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "This token is read-only; create a write token to change anything."
    )


def test_a_customer_list_never_shows_another_organisation(
    alice: User, acme_key: ApiKey, globex_key: ApiKey, objects: dict[str, str]
) -> None:
    client = api_as(alice)
    for path in (
        "/api/v1/keys",
        "/api/v1/customers",
        "/api/v1/memberships",
        "/api/v1/subscriptions",
    ):
        results = client.get(path).json()["results"]
        assert results, path
        assert all(
            row.get("customer", row.get("id")) != int(objects["customer"]) for row in results
        )
    keys = client.get(f"/api/v1/keys?customer={objects['customer']}").json()["results"]
    assert keys == []


def test_someone_without_an_organisation_is_refused(charlie: User) -> None:
    response = api_as(charlie).get("/api/v1/keys")

    assert response.status_code == 403
    assert response.json()["detail"] == "You do not belong to an organisation yet."
