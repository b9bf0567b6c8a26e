"""The route matrix's world: one of every object a route names, a client per role, and records of
what a request left behind (AuditEvents, tasks, AWS calls, every project row).

Nothing reaches AWS: the few routes that call it directly (reveal a secret, grant extra quota,
import a usage plan, the metrics) get stubs, and boto3 itself refuses to make a client. Sync tasks
are only scheduled on commit, and `db` tests never commit.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F, Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User
from portal.customers.models import Customer
from tests.access.matrix import SECRET
from tests.conftest import login

GLOBEX_SECRET = "Gl0bexS3cretVALUEfromApiGateway987654321"
FIRST_IMPORT = b"customer,name,key\nacme,imported-1,Imp0rtedSecretValue0001xyz\n"
FOREIGN_PLAN_ID = "uplegacy1"
FOREIGN_PLAN: dict[str, Any] = {  # a GetUsagePlan answer for a plan made in the AWS console
    "id": FOREIGN_PLAN_ID,
    "name": "Legacy plan",
    "description": "Made by hand",
    "apiStages": [{"apiId": "abc123", "stage": "prod"}],
    "throttle": {"rateLimit": 5.0, "burstLimit": 10},
    "quota": {"limit": 5000, "offset": 0, "period": "MONTH"},
    "tags": {},
}

# Columns that change on every sign-in or token use, whoever may do what.
VOLATILE = {"accounts.user": {"last_login"}, "tokens.personalaccesstoken": {"last_used_at"}}
AUDIT = "audit.auditevent"  # checked on its own: by action


def model(label: str) -> type[Model]:
    """By app label, so a model file that moves does not break the matrix."""
    return apps.get_model(label)


# --- the stand-ins for AWS and the broker --------------------------------------------------------


@pytest.fixture(autouse=True)
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The AWS calls the routes make directly, answered here and recorded."""
    calls: list[str] = []

    def answer(call: str, result: Any) -> Callable[..., Any]:
        def stub(*args: Any, **kwargs: Any) -> Any:
            calls.append(call)
            return result

        return stub

    def no_aws(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a route tried to reach AWS; stub that call in tests/access")

    monkeypatch.setattr("boto3.session.Session.client", no_aws)
    monkeypatch.setattr("portal.aws.apigateway.get_api_key_secret", answer("GetApiKey", SECRET))
    monkeypatch.setattr(
        "portal.aws.apigateway.get_usage_plan", answer("GetUsagePlan", FOREIGN_PLAN)
    )
    monkeypatch.setattr("portal.aws.apigateway.keys_of_usage_plan", answer("GetUsagePlanKeys", []))
    monkeypatch.setattr("portal.aws.apigateway.api_key_fingerprints", answer("GetApiKeys", {}))
    monkeypatch.setattr("portal.aws.usage.set_remaining_quota", answer("UpdateUsage", None))

    metrics = importlib.import_module("portal.usage.metrics")

    def no_cloudwatch(stages: Any, chosen: Any, now: Any = None) -> Any:
        return metrics.Fetched(metrics=None, error="", fetched_at=timezone.now())

    monkeypatch.setattr(metrics, "fetch_api_metrics", no_cloudwatch)
    return calls


@pytest.fixture(autouse=True)
def task_sends(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Tasks sent at once (`.delay()`, `send_task`), by name; on-commit ones never run here."""
    sent: list[str] = []

    def send_task(self: Any, name: str, *args: Any, **kwargs: Any) -> None:
        sent.append(name)

    def apply_async(self: Any, *args: Any, **kwargs: Any) -> None:
        sent.append(self.name)

    monkeypatch.setattr("celery.app.base.Celery.send_task", send_task)
    monkeypatch.setattr("celery.app.task.Task.apply_async", apply_async)
    return sent


@pytest.fixture(autouse=True)
def generous_rate(settings: Any) -> None:
    """The API's throttle is tested on its own; hundreds of requests here must not meet it."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/min", "anon": "100000/min"},
    }


# --- the objects ---------------------------------------------------------------------------------


def _issued(key: Model, secret: str) -> None:
    """What the sync task leaves behind once API Gateway has generated the key's secret."""
    digest, prefix = hashlib.sha256(secret.encode()).hexdigest(), secret[:5]  # as the task keeps
    type(key)._default_manager.filter(pk=key.pk).update(
        aws_id=f"k-{key.pk}",
        secret_sha256=digest,
        display_prefix=prefix,
        sync_status="synced",
        synced_version=F("desired_version"),
    )


def _drifted(obj: Model, field: str, ours: str, theirs: str, aws: dict[str, Any]) -> None:
    """What the reconciler leaves on an object someone changed in the AWS console."""
    type(obj)._default_manager.filter(pk=obj.pk).update(
        sync_status="drifted",
        drift={
            "detected_at": timezone.now().isoformat(),
            "differences": [{"field": field, "ours": ours, "aws": theirs}],
            "aws": aws,
        },
    )


@pytest.fixture
def world(
    admin: User,
    ops: User,
    charlie: User,
    dave: User,
    maria: User,
    alice: User,
    bob: User,
    acme: Customer,
    globex: Customer,
    tiers: dict[str, Any],
    stage: Any,
) -> dict[str, str]:
    """Every object a matrix row names, by placeholder (see tests/access/matrix.py)."""
    from keys.services import key_create
    from plans.services import plan_create
    from portal.tokens.services import token_create
    from tests.conftest import ENTERPRISE

    stage_model = model("plans.ApiStage")
    plan_model = model("plans.Plan")
    offline = stage_model._default_manager.create(
        region="us-east-1",
        rest_api_id="def456",
        stage_name="beta",
        api_name="Maps API",
        deployment_id="dep1",
        available=False,
    )
    # Free (everybody's tier) is in API Gateway: keys can be imported to it and granted quota.
    plan_model._default_manager.filter(pk=tiers["Free"].pk).update(
        aws_id="up-free", sync_status="synced", synced_version=F("desired_version")
    )
    enterprise = tiers["Enterprise"]
    plan_model._default_manager.filter(pk=enterprise.pk).update(aws_id="up-enterprise")
    _drifted(enterprise, "throttle rate", "50.00", "40.00", {"name": "Enterprise"})

    unlisted = plan_create(
        actor=None, data={**ENTERPRISE, "name": "Partner", "listed": False}, stages=[stage]
    )

    acme_key = key_create(actor=alice, customer=acme, name="acme-production")
    _issued(acme_key, SECRET)
    globex_key = key_create(actor=bob, customer=globex, name="globex-production")
    _issued(globex_key, GLOBEX_SECRET)
    drifted_key = key_create(actor=alice, customer=acme, name="acme-drifted")
    _issued(drifted_key, SECRET[::-1])
    _drifted(drifted_key, "enabled", "True", "False", {"enabled": False, "description": ""})

    # Through the console itself: the import's service has moved before, its page stays.
    upload = SimpleUploadedFile("first.csv", FIRST_IMPORT, "text/csv")
    started = login(admin).post(reverse("console:key-import"), {"file": upload})
    assert started.status_code == 302, started.content.decode()[:500]
    key_import = model("keys.KeyImport")._default_manager.get(file_name="first.csv")
    alice_token = token_create(
        user=alice, name="laptop", scope="read", expires_at=timezone.now() + timedelta(days=30)
    ).token

    # The default AWS connection (made from the settings) and a second one, which may go.
    from portal.connections.services import connection_create, connection_default

    default_connection = connection_default()
    partner_connection = connection_create(
        actor=admin,
        name="Partner",
        role_arn="arn:aws:iam::222222222222:role/TollgateAccess",
        external_id="tollgate-demo",
        regions=["eu-west-1"],
    )

    subscription_model = model("plans.Subscription")
    return {
        "aws_connection": str(default_connection.pk),
        "partner_connection": str(partner_connection.pk),
        "stage": str(stage.pk),
        "stage_offline": str(offline.pk),
        "tier": str(tiers["Premium"].pk),
        "tier_slug": tiers["Premium"].slug,
        "approval_tier": str(enterprise.pk),
        "approval_slug": enterprise.slug,
        "unlisted_slug": unlisted.slug,
        "acme": str(acme.pk),
        "globex": str(globex.pk),
        "membership": str(acme.memberships.get(user=alice).pk),
        "maria_membership": str(acme.memberships.get(user=maria).pk),
        "dave_invitation": str(acme.invitations.get(email=dave.email).pk),
        "subscription": str(
            subscription_model._default_manager.get(customer=acme, status="active").pk
        ),
        "acme_key": str(acme_key.public_id),
        "acme_key_pk": str(acme_key.pk),
        "drifted_key": str(drifted_key.public_id),
        "drifted_key_pk": str(drifted_key.pk),
        "key_import": str(key_import.pk),
        "alice_token": str(alice_token.pk),
        "foreign_plan": FOREIGN_PLAN_ID,
    }


def _secret_shown(world: dict[str, str]) -> None:
    model("keys.ApiKey")._default_manager.filter(public_id=world["acme_key"]).update(
        secret_revealed_at=timezone.now()
    )


def _enterprise_requested(world: dict[str, str]) -> None:
    """Alice asked for the approval-only Enterprise tier for Acme; nobody decided yet."""
    request = model("plans.TierRequest")._default_manager.create(
        customer_id=int(world["acme"]),
        plan_id=int(world["approval_tier"]),
        requested_by=User.objects.get(email="alice@acme.test"),
        message="We need more",
    )
    world["acme_tier_request"] = str(request.pk)


def _acme_on_enterprise(world: dict[str, str]) -> None:
    """An admin placed Acme on the approval-only Enterprise tier."""
    subscriptions = model("plans.Subscription")._default_manager
    now = timezone.now()
    subscriptions.filter(customer_id=int(world["acme"]), status="active").update(
        status="ended", ended_at=now
    )
    subscriptions.create(
        customer_id=int(world["acme"]),
        plan_id=int(world["approval_tier"]),
        status="active",
        started_at=now,
    )


def _tier_move_running(world: dict[str, str]) -> None:
    """An admin started moving Free's customers (Acme, Globex) to Premium; none moved yet."""
    plans = model("plans.Plan")._default_manager
    move = model("plans.TierMove")._default_manager.create(
        from_plan=plans.get(slug="free"),
        to_plan=plans.get(slug="premium"),
        status="running",
        customers_total=2,
    )
    world["tier_move"] = str(move.pk)


PREPARE: dict[str, Callable[[dict[str, str]], None]] = {
    "secret_shown": _secret_shown,
    "enterprise_requested": _enterprise_requested,
    "acme_on_enterprise": _acme_on_enterprise,
    "tier_move_running": _tier_move_running,
}


# --- the people's clients ------------------------------------------------------------------------


@pytest.fixture
def client_as(request: pytest.FixtureRequest) -> Callable[[str, bool], Client]:
    """A signed-in browser for pages; a write-scope personal access token for the API."""

    def make(role: str, api: bool) -> Client:
        if role == "anonymous":
            return Client()
        user: User = request.getfixturevalue(role)
        if not api:
            return login(user)
        from portal.tokens.services import token_create

        token = token_create(
            user=user, name="matrix", scope="write", expires_at=timezone.now() + timedelta(days=30)
        ).plaintext
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return make


# --- what a request left behind ------------------------------------------------------------------


def project_models() -> Iterator[type[Model]]:
    """Every model of Tollgate's own apps (not Django's, allauth's or Celery's), with the
    many-to-many tables (a tier's stages)."""
    for candidate in apps.get_models(include_auto_created=True):
        path = candidate._meta.app_config.path if candidate._meta.app_config else ""
        if "site-packages" not in path and candidate._meta.label_lower != AUDIT:
            yield candidate


def database_rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of every project table (without sign-in bookkeeping), to compare."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for candidate in project_models():
        label = candidate._meta.label_lower
        skip = VOLATILE.get(label, set())
        rows[label] = [
            {k: v for k, v in row.items() if k not in skip}
            for row in candidate._default_manager.order_by("pk").values()
        ]
    return rows
