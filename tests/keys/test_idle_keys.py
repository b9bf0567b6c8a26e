"""Last use and idle keys: `last_used_on` from the collected usage (local AWS over HTTP, one UPDATE
per batch of keys), the 30-day sparkline on the key pages, idle flagging, and the beat job that
disables idle keys only in organisations whose owners asked for it (faked clock: keys.idle takes
`now`), through key_set_enabled so API Gateway gets it."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from keys.idle import disable_idle_keys
from keys.models import ApiKey, DisableReason
from keys.services import key_create, key_set_enabled
from localaws.testing import LocalAwsControl
from plans.models import Plan
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.errors import NotAllowed
from portal.mfa.key_settings import customer_set_key_settings
from portal.usage.models import UsageDay
from portal.usage.services import collect_usage, note_last_use
from tests.conftest import login, make_user
from tests.fixtures.api import api_as

DAY = datetime.timedelta(days=1)


def age(key: ApiKey, days: int) -> None:
    ApiKey.objects.filter(pk=key.pk).update(created_at=timezone.now() - days * DAY)


# --- last use, from the collected usage --------------------------------------------------------


@pytest.mark.integration
def test_collection_keeps_last_used_on_up_to_date(
    live_tiers: dict[str, Plan], control: LocalAwsControl, settle: Any
) -> None:
    owner = make_user("olga@hooli.test")
    customer = customer_onboard(owner=owner, organisation_name="Hooli")
    busy, quiet, never = (
        key_create(actor=owner, customer=customer, name=name) for name in ("busy", "quiet", "never")
    )
    settle()
    for key in (busy, quiet, never):
        key.refresh_from_db()
    free = live_tiers["Free"]
    today = datetime.date(2026, 11, 28)
    control.set_usage(free.aws_id, busy.aws_id, "2026-11-27", 40)
    control.set_usage(free.aws_id, busy.aws_id, "2026-11-28", 7)
    control.set_usage(free.aws_id, quiet.aws_id, "2026-11-20", 3)
    collect_usage(today=today, backfill_days=30)
    found = dict(ApiKey.objects.values_list("name", "last_used_on"))
    assert found == {"busy": today, "quiet": datetime.date(2026, 11, 20), "never": None}
    # A later collection of quiet days moves nothing back.
    collect_usage(today=today + DAY)
    assert ApiKey.objects.get(pk=busy.pk).last_used_on == today


def test_last_use_is_written_in_bulk(alice: User, acme: Customer, tiers: dict[str, Plan]) -> None:
    keys = [key_create(actor=alice, customer=acme, name=f"k{n}") for n in range(30)]
    today = timezone.now().date()
    UsageDay.objects.bulk_create(
        [
            UsageDay(key=key, plan=tiers["Free"], date=today - n * DAY, used=n, remaining=0)
            for key in keys
            for n in range(3)
        ]
    )
    with CaptureQueriesContext(connection) as queries:
        assert note_last_use({key.pk for key in keys}) == 30
    assert len(queries) == 1
    assert set(ApiKey.objects.values_list("last_used_on", flat=True)) == {today - DAY}


# --- on the pages and in the API --------------------------------------------------------------


def test_the_key_pages_draw_the_last_30_days_without_script(
    alice: User, acme: Customer, tiers: dict[str, Plan], sent_tasks: list[Any]
) -> None:
    busy = key_create(actor=alice, customer=acme, name="busy")
    key_create(actor=alice, customer=acme, name="unused")
    today = timezone.now().date()
    UsageDay.objects.bulk_create(
        [
            UsageDay(key=busy, plan=tiers["Free"], date=today - n * DAY, used=10 * n, remaining=0)
            for n in (1, 2, 45)  # the 45-day-old row is outside the sparkline
        ]
    )
    ApiKey.objects.filter(pk=busy.pk).update(last_used_on=today - DAY)
    client = login(alice)
    listing = client.get("/app/").content.decode()
    assert listing.count('<svg class="sparkline"') == 2
    assert "30 in all, at most 20 a day" in listing
    assert "No requests in the last 30 days" in listing
    assert "last used " in listing and "never used" in listing
    assert "<script" not in listing.split("<main", 1)[-1].split("</main>", 1)[0]
    page = client.get(f"/app/keys/{busy.public_id}/").content.decode()
    assert '<svg class="sparkline"' in page and "Last used on" in page
    assert page.count("<rect ") == 2


def test_idle_keys_are_flagged(
    alice: User, acme: Customer, tiers: dict[str, Plan], sent_tasks: list[Any]
) -> None:
    young = key_create(actor=alice, customer=acme, name="young")
    old_unused = key_create(actor=alice, customer=acme, name="old-unused")
    old_used = key_create(actor=alice, customer=acme, name="old-used")
    for key in (old_unused, old_used):
        age(key, 200)
    ApiKey.objects.filter(pk=old_used.pk).update(last_used_on=timezone.now().date() - 10 * DAY)
    flagged = {key.name: key.is_idle for key in ApiKey.objects.all()}
    assert flagged == {"young": False, "old-unused": True, "old-used": False}
    ApiKey.objects.filter(pk=old_used.pk).update(last_used_on=timezone.now().date() - 90 * DAY)
    assert ApiKey.objects.get(pk=old_used.pk).is_idle
    listing = login(alice).get("/app/").content.decode()
    assert listing.count('class="badge badge-state-idle"') == 2
    api = {k["name"]: k["idle"] for k in api_as(alice).get("/api/v1/keys").json()["results"]}
    assert api == {"young": False, "old-unused": True, "old-used": True}
    assert young.is_idle is False


# --- the organisation's setting ----------------------------------------------------------------


def test_only_owners_change_the_key_settings_audited(
    alice: User, maria: User, acme: Customer
) -> None:
    with pytest.raises(NotAllowed):
        customer_set_key_settings(actor=maria, customer=acme, disable_idle_keys=True)
    assert (
        api_as(maria)
        .patch("/api/v1/organisation/settings", {"disable_idle_keys": True})
        .status_code
        == 403
    )
    page = login(maria).post(
        "/app/settings/",
        {"section": "keys", "disable_idle_keys": "on", "leaked_key_action": "roll"},
    )
    assert page.status_code == 403
    bad = api_as(alice).patch("/api/v1/organisation/settings", {"leaked_key_action": "shred"})
    assert bad.status_code == 400 and "leaked_key_action" in bad.content.decode()
    acme.refresh_from_db()
    assert (acme.disable_idle_keys, acme.leaked_key_action) == (False, "disable")
    assert not AuditEvent.objects.filter(action="customer.key_settings_changed").exists()

    answer = api_as(alice).patch(
        "/api/v1/organisation/settings", {"disable_idle_keys": True, "leaked_key_action": "roll"}
    )
    assert answer.status_code == 200
    assert (answer.json()["disable_idle_keys"], answer.json()["leaked_key_action"]) == (
        True,
        "roll",
    )
    (event,) = AuditEvent.objects.filter(action="customer.key_settings_changed")
    assert event.before == {"disable_idle_keys": False, "leaked_key_action": "disable"}
    assert event.after == {"disable_idle_keys": True, "leaked_key_action": "roll"}
    # The page: the same service; unticked is off, the choice stays.
    client = login(alice)
    assert 'name="disable_idle_keys"' in client.get("/app/settings/").content.decode()
    client.post("/app/settings/", {"section": "keys", "leaked_key_action": "roll"})
    acme.refresh_from_db()
    assert (acme.disable_idle_keys, acme.leaked_key_action, acme.require_mfa) == (
        False,
        "roll",
        False,
    )
    assert "Only an owner can change this" in login(maria).get("/app/settings/").content.decode()


# --- the beat job --------------------------------------------------------------------------------


def test_idle_keys_are_disabled_only_where_the_owners_asked(
    alice: User, bob: User, acme: Customer, globex: Customer, sent_tasks: list[Any], django_capture_on_commit_callbacks: Any
) -> None:  # fmt: skip
    acme_idle = [key_create(actor=alice, customer=acme, name=f"idle {n}") for n in range(2)]
    acme_busy = key_create(actor=alice, customer=acme, name="busy")
    globex_idle = key_create(actor=bob, customer=globex, name="idle")
    for key in (*acme_idle, acme_busy, globex_idle):
        age(key, 120)
    ApiKey.objects.filter(pk=acme_busy.pk).update(last_used_on=timezone.now().date() - 3 * DAY)

    assert disable_idle_keys() == 0  # nobody opted in
    customer_set_key_settings(actor=alice, customer=acme, disable_idle_keys=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert disable_idle_keys() == 2
    states = {k.name: (k.enabled, k.disabled_reason) for k in ApiKey.objects.filter(customer=acme)}
    assert states == {
        "idle 0": (False, DisableReason.IDLE),
        "idle 1": (False, DisableReason.IDLE),
        "busy": (True, ""),
    }
    assert ApiKey.objects.get(pk=globex_idle.pk).enabled is True
    events = AuditEvent.objects.filter(action="key.idle_disabled")
    assert events.count() == 2 and {(e.after or {}).get("reason") for e in events} == {"idle"}
    # The sync is sent for each (key_set_enabled's path): API Gateway gets the change.
    assert sorted(args[0] for name, args in sent_tasks if name == "keys.tasks.sync_key")[-2:] == (
        sorted(k.pk for k in acme_idle)
    )
    (email,) = mail.outbox
    assert email.to == [alice.email] and "2 idle API keys of Acme disabled" in email.subject
    assert "“idle 0”" in email.body and "last used never" in email.body

    # Run again: nothing more. An owner enables one again: left alone for another 90 days.
    assert disable_idle_keys() == 0
    key_set_enabled(actor=alice, key=acme_idle[0], enabled=True)
    assert ApiKey.objects.get(pk=acme_idle[0].pk).disabled_reason == ""
    assert disable_idle_keys() == 0
    # 91 days on, it is idle again (and so is "busy", quiet since).
    assert disable_idle_keys(now=timezone.now() + 91 * DAY) == 2
    assert len(mail.outbox) == 2
