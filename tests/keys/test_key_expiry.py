"""Key expiry: set at creation or later (page, API, CLI), refused when it makes no sense, and the
beat job on a faked clock (keys.expiry takes `now`): disabled in AWS at the time, deleted after
the retention, the owners warned 7 days and 1 day before, each once."""

from __future__ import annotations

import datetime
import time
from io import StringIO
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from keys.expiry import (
    MAX_EXPIRY_DAYS,
    disable_expired,
    key_set_expiry,
    parse_expiry,
    process_expiries,
    warn_owners,
)
from keys.models import ApiKey, RevokeReason
from keys.services import key_create
from plans.models import Plan
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.customers.models import Customer
from portal.customers.services import customer_onboard
from portal.errors import NotAllowed
from tests.conftest import login, make_user
from tests.fixtures.api import api_as

DAY = datetime.timedelta(days=1)


def later(**delta: float) -> datetime.datetime:
    return (timezone.now() + datetime.timedelta(**delta)).replace(microsecond=0)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# --- setting it --------------------------------------------------------------------------------


def test_parse_expiry_reads_dates_and_times_and_refuses_the_rest() -> None:
    utc = datetime.UTC
    assert parse_expiry("2027-01-31T00:00Z") == datetime.datetime(2027, 1, 31, tzinfo=utc)
    assert parse_expiry("2027-01-31T09:30") == datetime.datetime(2027, 1, 31, 9, 30, tzinfo=utc)
    assert parse_expiry(" 2027-01-31 ") == datetime.datetime(2027, 1, 31, tzinfo=utc)
    offset = parse_expiry("2027-01-31T02:00+02:00")
    assert offset == datetime.datetime(2027, 1, 31, tzinfo=utc)
    for bad in ("", "tomorrow", "31/01/2027", "2027-02-30", "2027-01-31T25:00"):
        with pytest.raises(ValidationError) as refused:
            parse_expiry(bad)
        assert "expires_at" in refused.value.message_dict, bad


def test_set_and_clear_are_audited_with_before_and_after(
    alice: User, acme_key: ApiKey, sent_tasks: list[Any]
) -> None:
    when = later(days=10)
    key = key_set_expiry(actor=alice, key=acme_key, expires_at=when)
    assert key.expires_at == when and key.state_label == "enabled"
    assert key.expires_in == "1\xa0week"
    (set_event,) = events("key.expiry_set")
    assert set_event.before == {"expires_at": None}
    assert set_event.after == {"expires_at": when.isoformat()}
    # The same value again changes nothing; clearing is its own event.
    key_set_expiry(actor=alice, key=key, expires_at=when)
    assert len(events("key.expiry_set")) == 1
    key = key_set_expiry(actor=alice, key=key, expires_at=None)
    (cleared,) = events("key.expiry_cleared")
    assert cleared.before == {"expires_at": when.isoformat()} and cleared.after == {
        "expires_at": None
    }
    assert ApiKey.objects.get(pk=key.pk).expires_at is None


def test_refusals_change_nothing(
    alice: User, maria: User, acme_key: ApiKey, sent_tasks: list[Any]
) -> None:
    version = ApiKey.objects.get(pk=acme_key.pk).desired_version
    with pytest.raises(NotAllowed, match="Only the person who created this key"):
        key_set_expiry(actor=maria, key=acme_key, expires_at=later(days=3))
    for when, message in (
        (later(minutes=-1), "in the future"),
        (later(days=MAX_EXPIRY_DAYS + 1), "at most 3 years"),
    ):
        with pytest.raises(ValidationError, match=message):
            key_set_expiry(actor=alice, key=acme_key, expires_at=when)
    key = ApiKey.objects.get(pk=acme_key.pk)
    assert key.expires_at is None and key.desired_version == version
    assert not AuditEvent.objects.filter(action__startswith="key.expiry").exists()


def test_the_api_sets_it_at_creation_and_later(
    alice: User, maria: User, acme: Customer, acme_key: ApiKey, sent_tasks: list[Any]
) -> None:
    api = api_as(alice)
    when = later(days=20)
    created = api.post("/api/v1/keys", {"name": "ci", "expires_at": when.isoformat()})
    assert created.status_code == 201, created.content
    assert created.json()["expires_at"].startswith(f"{when:%Y-%m-%dT%H:%M}")
    assert created.json()["state"] == "enabled" and created.json()["idle"] is False
    assert created.json()["last_used_on"] is None
    assert events("key.created")[-1].after == {"name": "ci", "expires_at": when.isoformat()}

    url = f"/api/v1/keys/{acme_key.public_id}"
    for body, fragment in (
        ({"expires_at": "next tuesday"}, "wrong format"),
        ({"expires_at": (later(days=-1)).isoformat()}, "in the future"),
        ({"expires_at": (later(days=4000)).isoformat()}, "at most 3 years"),
    ):
        refused = api.patch(url, body)
        assert refused.status_code == 400 and fragment in refused.content.decode(), body
    assert api_as(maria).patch(url, {"expires_at": when.isoformat()}).status_code == 403
    assert ApiKey.objects.get(pk=acme_key.pk).expires_at is None

    assert api.patch(url, {"expires_at": when.isoformat()}).json()["expires_at"] is not None
    cleared = api.patch(url, {"expires_at": None})
    assert cleared.status_code == 200 and cleared.json()["expires_at"] is None
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="key.expiry")] == [
        "key.expiry_cleared",
        "key.expiry_set",
    ]


def test_the_pages_set_it_at_creation_and_later(
    alice: User, acme: Customer, sent_tasks: list[Any]
) -> None:
    client = login(alice)
    refused = client.post("/app/keys/new/", {"name": "ci", "expires_at": "2001-01-01T00:00"})
    assert refused.status_code == 200
    assert 'data-field="expires_at"' in refused.content.decode()
    assert "in the future" in refused.content.decode()
    assert not ApiKey.objects.exists()

    when = later(days=6, hours=1)
    created = client.post(
        "/app/keys/new/", {"name": "ci", "expires_at": when.strftime("%Y-%m-%dT%H:%M")}
    )
    key = ApiKey.objects.get()
    assert created.status_code == 302 and key.expires_at == when.replace(second=0)
    page = client.get(f"/app/keys/{key.public_id}/").content.decode()
    assert "Expires in 6\xa0days" in page
    listing = client.get("/app/").content.decode()
    assert "in 6\xa0days" in listing and "expiry-soon" in listing

    bad = client.post(f"/app/keys/{key.public_id}/expiry/", {"expires_at": "soon"}, follow=True)
    assert "is not a date and time" in bad.content.decode()
    client.post(f"/app/keys/{key.public_id}/expiry/", {"clear": "1"})
    assert ApiKey.objects.get().expires_at is None
    assert "This key does not expire." in client.get(f"/app/keys/{key.public_id}/").content.decode()


def test_the_commands(alice: User, acme: Customer, sent_tasks: list[Any]) -> None:
    out = StringIO()
    call_command(
        "create_key", acme.slug, "batch", "--by", alice.email, "--expires-at", "2027-06-30",
        stdout=out,
    )  # fmt: skip
    key = ApiKey.objects.get(name="batch")
    assert key.created_by == alice and key.expires_at == datetime.datetime(
        2027, 6, 30, tzinfo=datetime.UTC
    )
    call_command("key_expiry", str(key.public_id), "--at", "2027-07-01T12:00Z", stdout=out)
    assert ApiKey.objects.get(pk=key.pk).expires_at.hour == 12  # type: ignore[union-attr]
    call_command("key_expiry", str(key.public_id), "--clear", stdout=out)
    assert ApiKey.objects.get(pk=key.pk).expires_at is None
    assert "does not expire" in out.getvalue()
    with pytest.raises(CommandError, match="in the future"):
        call_command("key_expiry", str(key.public_id), "--at", "2020-01-01")
    with pytest.raises(CommandError, match="No API key"):
        call_command("key_expiry", "not-a-uuid", "--clear")


# --- the beat job on a faked clock -------------------------------------------------------------


def test_expired_keys_show_as_such_and_are_handled_once(
    alice: User, acme_key: ApiKey, sent_tasks: list[Any]
) -> None:
    when = later(days=3)
    key = key_set_expiry(actor=alice, key=acme_key, expires_at=when)
    sent_tasks.clear()
    assert disable_expired(now=when - datetime.timedelta(seconds=1)) == 0
    # A second past it: the sync is asked for (it sends enabled=False) and audited, once.
    assert disable_expired(now=when + datetime.timedelta(seconds=1)) == 1
    assert disable_expired(now=when + datetime.timedelta(minutes=1)) == 0
    (expired,) = events("key.expired")
    assert expired.after == {"expires_at": when.isoformat()} and expired.actor is None
    assert ApiKey.objects.get(pk=key.pk).desired_version == key.desired_version + 1
    # Moved later and passed again: handled again.
    key = key_set_expiry(actor=alice, key=key, expires_at=later(days=5))
    assert disable_expired(now=later(days=5, seconds=2)) == 1
    assert len(events("key.expired")) == 2

    ApiKey.objects.filter(pk=key.pk).update(expires_at=later(seconds=-5))
    key.refresh_from_db()
    assert key.is_expired and key.state_label == "expired"
    client = login(alice)
    assert 'badge-state-expired">expired' in client.get("/app/").content.decode()
    assert "<strong>Expired</strong>" in client.get(f"/app/keys/{key.public_id}/").content.decode()
    assert api_as(alice).get(f"/api/v1/keys/{key.public_id}").json()["state"] == "expired"


def test_after_the_retention_the_key_is_revoked(
    alice: User, acme_key: ApiKey, sent_tasks: list[Any], settings: Any
) -> None:
    settings.TOLLGATE = {**settings.TOLLGATE, "EXPIRED_KEY_RETENTION_DAYS": 10}
    when = later(hours=2)
    key_set_expiry(actor=alice, key=acme_key, expires_at=when)
    assert process_expiries(now=when + 9 * DAY).deleted == 0
    run = process_expiries(now=when + 10 * DAY)
    assert run.deleted == 1 and run.expired == 0  # disabled at the first run already
    key = ApiKey.objects.get(pk=acme_key.pk)
    assert key.is_revoked and key.revoked_reason == RevokeReason.EXPIRED
    (revoked,) = events("key.revoked")
    assert revoked.after == {
        "reason": "expired",
        "expires_at": when.isoformat(),
        "retention_days": 10,
    }
    assert process_expiries(now=when + 11 * DAY).deleted == 0


def test_owners_are_warned_seven_days_and_one_day_before_each_once(
    alice: User, maria: User, acme: Customer, acme_key: ApiKey, sent_tasks: list[Any], django_capture_on_commit_callbacks: Any, settings: Any
) -> None:  # fmt: skip
    settings.TOLLGATE = {**settings.TOLLGATE, "SITE_URL": "https://tollgate.example.com/"}
    when = later(days=30)
    key_set_expiry(actor=alice, key=acme_key, expires_at=when)
    second = key_create(actor=alice, customer=acme, name="staging", expires_at=when + DAY)

    def run(now: datetime.datetime) -> tuple[int, int]:
        with django_capture_on_commit_callbacks(execute=True):
            return warn_owners(now=now)

    assert run(when - 8 * DAY) == (0, 0)
    assert run(when - 7 * DAY) == (1, 1)  # the first key only: the second is 8 days away
    assert mail.outbox[-1].to == [alice.email]  # owners, not maria
    assert "“production” of Acme expires in 7 days" in mail.outbox[-1].subject
    assert run(when - 6 * DAY) == (1, 1)  # now the second one, 7 days before it
    assert run(when - 5 * DAY) == (0, 0)
    assert run(when - DAY) == (1, 1)
    assert "expires in 24 hours" in mail.outbox[-1].subject
    assert run(when - DAY + datetime.timedelta(hours=1)) == (0, 0)
    assert run(when) == (1, 1)  # the second key's one-day notice
    assert len(mail.outbox) == 4

    # A new expiry re-arms the warnings; one that is set less than a day ahead gets the
    # one-day email only, and both keys of one run share one email.
    key_set_expiry(actor=alice, key=acme_key, expires_at=later(hours=20))
    key_set_expiry(actor=alice, key=second, expires_at=later(hours=21))
    assert run(timezone.now()) == (2, 1)
    assert mail.outbox[-1].subject == "Tollgate: 2 API keys of Acme expire soon"
    body = mail.outbox[-1].body
    assert "“production”" in body and "“staging”" in body and "30 days later" in body
    assert f"https://tollgate.example.com/app/keys/{acme_key.public_id}/\n" in body
    assert run(timezone.now()) == (0, 0)
    key = ApiKey.objects.get(pk=acme_key.pk)
    assert key.expiry_warned_1d_at is not None and key.expiry_warned_7d_at is not None


# --- in API Gateway ----------------------------------------------------------------------------


@pytest.mark.integration
def test_api_gateway_disables_it_at_the_time_and_it_is_deleted_after_the_retention(
    live_tiers: dict[str, Plan], apigw: Any, settle: Any
) -> None:
    owner = make_user("erin@umbrella.test")
    customer = customer_onboard(owner=owner, organisation_name="Umbrella")
    expires = timezone.now() + datetime.timedelta(seconds=3)
    key = key_create(actor=owner, customer=customer, name="short-lived", expires_at=expires)
    keep = key_create(actor=owner, customer=customer, name="long-lived")
    settle()
    key.refresh_from_db()
    keep.refresh_from_db()
    assert apigw.get_api_key(apiKey=key.aws_id)["enabled"] is True

    assert process_expiries().expired == 0  # not yet
    while timezone.now() <= expires:
        time.sleep(0.2)
    assert process_expiries().expired == 1
    settle()
    assert apigw.get_api_key(apiKey=key.aws_id)["enabled"] is False
    assert apigw.get_api_key(apiKey=keep.aws_id)["enabled"] is True
    plan_keys = apigw.get_usage_plan_keys(usagePlanId=live_tiers["Free"].aws_id)["items"]
    assert key.aws_id in {item["id"] for item in plan_keys}  # disabled, not gone, meanwhile

    assert process_expiries(now=expires + 29 * DAY).deleted == 0
    assert process_expiries(now=expires + 30 * DAY).deleted == 1  # the default retention
    settle()
    with pytest.raises(ClientError) as gone:
        apigw.get_api_key(apiKey=key.aws_id)
    assert gone.value.response["Error"]["Code"] == "NotFoundException"
    assert apigw.get_api_key(apiKey=keep.aws_id)["enabled"] is True
    actions = [e.action for e in AuditEvent.objects.filter(target_id=str(key.pk)).order_by("pk")]
    assert actions[-2:] == ["key.expired", "key.revoked"]
    assert actions.count("key.expired") == 1
