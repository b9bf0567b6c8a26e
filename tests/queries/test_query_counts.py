"""Queries per page and API list, at two data sizes, against a checked-in baseline (NetBox's
`assert_expected_query_count` habit).

Every page and every API list in PAGES is requested at the small size and again after the data
grew (customers, their owners, subscriptions, keys, usage days, drift, import rows). Each count
must be the same at both sizes — a count that grows with the data is an N+1 — and equal to
tests/queries/baseline.json. A change that saves queries fails too, so the baseline is kept
honest: `UPDATE_QUERY_BASELINE=1 pytest tests/queries` rewrites it; review the diff.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver
from django.utils import timezone

from keys.models import ApiKey, KeyImport, KeyImportRow
from keys.services import key_create
from plans.models import (
    ApiStage,
    Plan,
    Subscription,
    SubscriptionStatus,
    TierMove,
    TierMoveItem,
    TierRequest,
)
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.connections.models import AwsConnection
from portal.connections.services import connection_default
from portal.customers.models import Customer, Invitation, Membership, MembershipRole
from portal.sync import SyncStatus
from portal.usage import metrics as usage_metrics
from portal.usage.models import UsageDay
from tests.conftest import login
from tests.usage.test_ops_metrics_page import fake_metrics

BASELINE = Path(__file__).with_name("baseline.json")
TODAY = timezone.now().date()

# (name, path, who asks). `{…}` is filled from the fixtures' objects.
PAGES: list[tuple[str, str, str]] = [
    ("catalog:pricing", "/pricing/", "anonymous"),
    ("catalog:pricing (customer)", "/pricing/", "alice"),
    ("catalog:apis", "/apis/", "anonymous"),
    ("catalog:reference", "/apis/{stage}/", "alice"),
    ("console:overview", "/console/", "admin"),
    ("console:stages", "/console/stages/", "admin"),
    ("console:connections", "/console/connections/", "ops"),
    ("console:connection", "/console/connections/{connection}/", "ops"),
    ("console:capacity", "/console/capacity/", "ops"),
    ("console:connection-create", "/console/connections/new/", "admin"),
    ("console:connection-edit", "/console/connections/{connection}/edit/", "admin"),
    ("console:tiers", "/console/tiers/", "admin"),
    ("console:tier-create", "/console/tiers/new/", "admin"),
    ("console:tier-edit", "/console/tiers/{tier}/edit/", "admin"),
    ("console:tier-requests", "/console/tier-requests/", "admin"),
    ("console:tier-moves", "/console/tiers/moves/", "admin"),
    ("console:tier-move-new", "/console/tiers/moves/new/", "admin"),
    (
        "console:tier-move-new (estimate)",
        "/console/tiers/moves/new/?from_tier=free&to_tier=premium",
        "admin",
    ),
    ("console:tier-move", "/console/tiers/moves/{move}/", "admin"),
    ("console:tier-move-progress", "/console/tiers/moves/{move}/progress/", "ops"),
    ("console:customers", "/console/customers/", "admin"),
    ("console:customer", "/console/customers/{customer}/", "admin"),
    ("console:customer-usage", "/console/customers/{customer}/usage/", "admin"),
    ("console:key-import", "/console/keys/import/", "admin"),
    ("console:key-import-detail", "/console/keys/import/{import}/", "admin"),
    ("console:key-import-progress", "/console/keys/import/{import}/progress/", "admin"),
    ("console:key-import-report", "/console/keys/import/{import}/report.csv", "admin"),
    ("console:metrics", "/console/metrics/", "ops"),
    ("console:import", "/console/import/", "admin"),
    ("console:drift", "/console/sync/", "admin"),
    ("console:sync-status", "/console/sync/key/{key_pk}/", "admin"),
    ("app:keys", "/app/", "alice"),
    ("app:key-create", "/app/keys/new/", "alice"),
    ("app:key", "/app/keys/{key}/", "alice"),
    ("app:key-status", "/app/keys/{key}/status/", "alice"),
    ("app:tier", "/app/tier/", "alice"),
    ("app:usage", "/app/usage/", "alice"),
    ("app:usage-csv", "/app/usage.csv", "alice"),
    ("app:members", "/app/members/", "alice"),
    ("app:settings", "/app/settings/", "alice"),
    ("audit:console", "/console/audit/", "admin"),
    ("audit:console (filtered)", "/console/audit/?organisation={customer}&action=key.", "admin"),
    ("audit:console-csv", "/console/audit.csv", "admin"),
    ("audit:app", "/app/audit/", "alice"),
    ("audit:app-csv", "/app/audit.csv", "alice"),
    ("tokens:list", "/settings/tokens/", "alice"),
    ("console-tokens:list", "/console/tokens/", "admin"),
    ("v1:token-list", "/api/v1/tokens", "admin"),
    ("v1:token-list (customer)", "/api/v1/tokens", "alice"),
    ("v1:me", "/api/v1/me", "alice"),
    ("v1:metrics", "/api/v1/metrics", "ops"),
    ("v1:sync-status", "/api/v1/sync/status", "admin"),
    ("v1:sync-drift", "/api/v1/sync/drift", "admin"),
    ("v1:stage-list", "/api/v1/stages", "admin"),
    ("v1:aws-connection-list", "/api/v1/aws-connections", "ops"),
    ("v1:capacity", "/api/v1/capacity", "ops"),
    ("v1:aws-connection-detail", "/api/v1/aws-connections/{connection}", "ops"),
    ("v1:tier-list", "/api/v1/tiers", "admin"),
    ("v1:tier-list (customer)", "/api/v1/tiers", "alice"),
    ("v1:customer-list", "/api/v1/customers", "admin"),
    ("v1:customer-list (customer)", "/api/v1/customers", "alice"),
    ("v1:membership-list", "/api/v1/memberships", "admin"),
    ("v1:membership-list (customer)", "/api/v1/memberships", "alice"),
    ("v1:invitation-list", "/api/v1/invitations", "admin"),
    ("v1:invitation-list (customer)", "/api/v1/invitations", "alice"),
    ("v1:organisation-settings", "/api/v1/organisation/settings", "alice"),
    ("v1:subscription-list", "/api/v1/subscriptions", "admin"),
    ("v1:tier-request-list", "/api/v1/tier-requests", "admin"),
    ("v1:tier-request-list (customer)", "/api/v1/tier-requests", "alice"),
    ("v1:key-list", "/api/v1/keys", "admin"),
    ("v1:key-list (customer)", "/api/v1/keys", "alice"),
    ("v1:usage-day-list", "/api/v1/usage/days", "admin"),
    ("v1:usage-day-list (customer)", "/api/v1/usage/days", "alice"),
    ("v1:usage-summary-list", "/api/v1/usage/summary", "admin"),
    ("v1:usage-summary-list (customer)", "/api/v1/usage/summary", "alice"),
    ("v1:drift-tier-list", "/api/v1/sync/drift/tiers", "admin"),
    ("v1:drift-key-list", "/api/v1/sync/drift/keys", "admin"),
    ("v1:key-import-list", "/api/v1/key-imports", "admin"),
    ("v1:tier-move-list", "/api/v1/tier-moves", "ops"),
    ("v1:tier-move-detail", "/api/v1/tier-moves/{move}", "admin"),
    ("v1:key-import-detail", "/api/v1/key-imports/{import}", "admin"),
    ("v1:foreign-usage-plan-list", "/api/v1/sync/foreign-usage-plans", "admin"),
]
# GET routes that are not pages or lists of their own: a partial, a redirect or a write.
NOT_MEASURED = {
    "home",  # a redirect: to the pricing page, the console or the customer's keys
    "api-schema",  # the OpenAPI document, generated from code
    "api-docs",
    "api-redoc",
}


def grow(size: int, tiers: dict[str, Plan], tag: str) -> None:
    """`size` more organisations, each with an owner (also a member of Acme), an invitation of its
    own and one into Acme, an active subscription, a pending request for Enterprise, two keys (every third drifted), three days of usage, ten more rows in the key
    import, and three audit events per owner (the last owner's about Acme, so alice's audit log
    grows too)."""
    free = tiers["Free"]
    AwsConnection.objects.bulk_create(  # and as many AWS connections, checked
        [
            AwsConnection(
                name=f"Account {tag} {n:03d}",
                role_arn=f"arn:aws:iam::{n:012d}:role/TollgateAccess",
                regions=["us-east-1", "eu-west-1"],
                account_id=f"{n:012d}",
                check_status="missing",
                check_report={
                    "regions": {
                        "us-east-1": [
                            {
                                "operation": "GetApiKeys",
                                "ok": False,
                                "words": "missing apigateway:GET on /apikeys in us-east-1",
                            }
                        ]
                    }
                },
                checked_at=timezone.now(),
            )
            for n in range(size)
        ]
    )
    users = User.objects.bulk_create(
        [User(email=f"owner-{tag}-{n}@bulk.test") for n in range(size)]
    )
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Bulk {tag} {n:03d}", slug=f"bulk-{tag}-{n:03d}") for n in range(size)]
    )
    Membership.objects.bulk_create(
        [
            Membership(user=u, customer=c, role=MembershipRole.OWNER)
            for u, c in zip(users, customers, strict=True)
        ]
    )
    Subscription.objects.bulk_create(
        [
            Subscription(
                customer=c, plan=free, status=SubscriptionStatus.ACTIVE, started_at=timezone.now()
            )
            for c in customers
        ]
    )
    TierRequest.objects.bulk_create(
        [
            TierRequest(customer=c, plan=tiers["Enterprise"], requested_by=u, message="More")
            for u, c in zip(users, customers, strict=True)
        ]
    )
    drift = {"differences": [{"field": "enabled", "ours": "True", "aws": "False"}]}
    keys = ApiKey.objects.bulk_create(
        [
            ApiKey(
                customer=c,
                name=f"key {k}",
                aws_id=f"{tag}{n}x{k}",
                display_prefix="AbCdE",
                sync_status=SyncStatus.DRIFTED if n % 3 == 0 else SyncStatus.SYNCED,
                drift=drift if n % 3 == 0 else None,
            )
            for n, c in enumerate(customers)
            for k in range(2)
        ]
    )
    UsageDay.objects.bulk_create(
        [
            UsageDay(
                key=key, plan=free, date=TODAY - datetime.timedelta(days=d), used=90, remaining=0
            )
            for key in keys
            for d in range(3)
        ]
    )
    acme = Customer.objects.get(name="Acme")
    # Acme's own key list grows too: a key per organisation, with usage (the sparklines).
    acme_keys = ApiKey.objects.bulk_create(
        [
            ApiKey(
                customer=acme,
                name=f"acme {tag} {n}",
                aws_id=f"{tag}{n}acme",
                display_prefix="AbCdE",
                last_used_on=TODAY,
                expires_at=timezone.now() + datetime.timedelta(days=n + 1),
            )
            for n in range(size)
        ]
    )
    UsageDay.objects.bulk_create(
        [
            UsageDay(
                key=key, plan=free, date=TODAY - datetime.timedelta(days=d), used=5, remaining=0
            )
            for key in acme_keys
            for d in range(3)
        ]
    )
    # Acme's members page and everyone's invitations grow: a member of Acme per organisation
    # (they own their own as well), and an invitation from each organisation and one into Acme.
    Membership.objects.bulk_create(
        [Membership(user=u, customer=acme, role=MembershipRole.MEMBER) for u in users]
    )
    now = timezone.now()
    Invitation.objects.bulk_create(
        [
            Invitation(
                customer=into,
                email=f"invitee-{tag}-{n}@bulk.test",
                role=MembershipRole.MEMBER,
                invited_by=u,
                token_hash=hashlib.sha256(f"{tag}-{n}-{into.pk}".encode()).hexdigest(),
                sent_at=now,
                expires_at=now + datetime.timedelta(days=7),
            )
            for n, (u, c) in enumerate(zip(users, customers, strict=True))
            for into in (c, acme)
        ]
    )
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=u,
                actor_email=u.email,
                customer=c,
                action="key.renamed",
                target_type="keys.apikey",
                target_id=str(k.pk),
                target_repr=k.name,
                before={"name": "old"},
                after={"name": k.name},
                ip="192.0.2.1",
            )
            for u, c in zip(users, [*customers[1:], acme], strict=True)
            for k in keys[:3]
        ]
    )
    # Tier moves: as many finished ones, and refused customers in the one the pages show.
    TierMove.objects.bulk_create(
        [TierMove(from_plan=free, to_plan=tiers["Premium"], status="done") for _ in range(size)]
    )
    shown = TierMove.objects.order_by("pk").first()
    TierMoveItem.objects.bulk_create(
        [
            TierMoveItem(
                move=shown,
                customer=c,
                customer_name=c.name,
                outcome="refused",
                reason="Over the cap",
            )
            for c in customers
        ]
    )
    imp = KeyImport.objects.get()
    start = KeyImportRow.objects.filter(key_import=imp).count() + 2
    KeyImportRow.objects.bulk_create(
        [
            KeyImportRow(
                key_import=imp,
                line=start + n,
                customer=customers[n % size],
                customer_ref=customers[n % size].slug,
                name=f"imported {n}",
                key_public_id=uuid.uuid4(),
            )
            for n in range(size * 10)
        ]
    )


def measure(clients: dict[str, Client], values: dict[str, Any]) -> dict[str, int]:
    counts = {}
    for name, path, who in PAGES:
        cache.clear()
        url = path.format(**values)
        clients[who].get(url)  # warm: sessions, per-process caches
        with CaptureQueriesContext(connection) as queries:
            response = clients[who].get(url)
        assert response.status_code == 200, f"{name} {url} as {who}: {response.status_code}"
        counts[name] = len(queries)
    return counts


@pytest.fixture
def no_cloudwatch(monkeypatch: pytest.MonkeyPatch) -> None:
    def fetch(stages: Any, chosen: usage_metrics.Range) -> usage_metrics.Fetched:
        stage = ApiStage.objects.first()
        assert stage is not None
        return usage_metrics.Fetched(fake_metrics(stage, chosen), "", timezone.now())

    monkeypatch.setattr(usage_metrics, "fetch_api_metrics", fetch)


def test_every_list_route_is_measured() -> None:
    measured = {name.split(" (")[0] for name, _, _ in PAGES} | NOT_MEASURED
    lists = {
        f"{pattern_ns}:{p.name}" if pattern_ns else p.name
        for pattern_ns, p in _named_routes()
        if p.name and (p.name.endswith("-list") or p.name in {"keys", "customers", "tiers"})
    }
    assert lists <= measured, f"not in PAGES: {sorted(lists - measured)}"


def _named_routes() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def walk(resolver: Any, namespace: str) -> None:
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                inner = ":".join(x for x in (namespace, pattern.namespace or "") if x)
                walk(pattern, inner)
            else:
                found.append((namespace, pattern))

    walk(get_resolver(), "")
    return found


def test_queries_per_page_do_not_grow_with_data(
    tiers: dict[str, Plan],
    stage: ApiStage,
    alice: User,
    bob: User,
    admin: User,
    ops: User,
    acme: Customer,
    no_cloudwatch: None,
) -> None:
    key = key_create(actor=alice, customer=acme, name="production")
    KeyImport.objects.create(token="abcd1234", created_by=admin, file_name="keys.csv")
    move = TierMove.objects.create(
        from_plan=tiers["Free"], to_plan=tiers["Premium"], created_by=admin, status="running"
    )
    clients = {
        "anonymous": Client(),
        "alice": login(alice),
        "admin": login(admin),
        "ops": login(ops),
    }
    values = {
        "stage": stage.pk,
        "tier": tiers["Premium"].pk,
        "customer": acme.pk,
        "import": KeyImport.objects.get().pk,
        "move": move.pk,
        "key": key.public_id,
        "key_pk": key.pk,
        "connection": connection_default().pk,
    }
    grow(2, tiers, "a")
    small = measure(clients, values)
    grow(20, tiers, "b")
    large = measure(clients, values)

    grew = {name: (small[name], large[name]) for name in small if large[name] != small[name]}
    assert not grew, f"queries grew with the data (small, large): {grew}"
    if os.environ.get("UPDATE_QUERY_BASELINE"):
        BASELINE.write_text(json.dumps(large, indent=2, sort_keys=True) + "\n")
    expected = json.loads(BASELINE.read_text())
    changed = {
        name: {"baseline": expected.get(name), "now": count}
        for name, count in large.items()
        if expected.get(name) != count
    }
    assert not changed, (
        f"queries differ from {BASELINE.name} (UPDATE_QUERY_BASELINE=1 rewrites it): {changed}"
    )
