"""New keys get values the worker generates (Tollgate's format, portal.aws.apigateway.key_values),
sent with CreateApiKey `value`: read back from the local AWS over HTTP, and nowhere else - not in
any database row, any broker message (Celery task arguments and headers) or any log record."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from celery.signals import before_task_publish
from django.apps import apps

from keys.models import ApiKey
from keys.services import key_create, key_reveal_secret
from localaws.testing import LocalAwsControl
from portal.accounts.models import User
from portal.aws.apigateway import looks_like_tollgate_key
from portal.customers.models import Customer
from portal.sync import SyncStatus
from tests.secret_leaks import record_text

pytestmark = pytest.mark.integration


@pytest.fixture
def published() -> Iterator[list[tuple[str, Any, str]]]:
    """Every Celery message published meanwhile: (task name, args, body and headers as text)."""
    seen: list[tuple[str, Any, str]] = []

    def note(body: Any = None, headers: Any = None, **_: Any) -> None:
        headers = headers or {}
        seen.append((str(headers.get("task")), body[0], repr(body) + repr(headers)))

    before_task_publish.connect(note, weak=False)
    yield seen
    before_task_publish.disconnect(note)


def rows_holding(value: str) -> list[str]:
    """Every database row, in every table, whose values contain `value`."""
    found = []
    for model in apps.get_models():
        for row in model._default_manager.values():
            if value in repr(row):
                found.append(f"{model._meta.label} {row.get('id')}")
    return found


def test_new_keys_get_tollgate_values_that_go_nowhere_else(
    owner: User,
    initech: Customer,
    apigw: Any,
    settle: Any,
    published: list[tuple[str, Any, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Every logger at DEBUG, botocore's too (its records of request and response bodies).
    caplog.set_level(logging.DEBUG)
    for name in ("botocore", "boto3", "urllib3", "celery"):
        caplog.set_level(logging.DEBUG, logger=name)
    keys = [key_create(actor=owner, customer=initech, name=f"key {n}") for n in range(5)]
    settle()

    values = []
    for key in keys:
        key.refresh_from_db()
        assert key.sync_status == SyncStatus.SYNCED
        value = apigw.get_api_key(apiKey=key.aws_id, includeValue=True)["value"]
        values.append(value)
        assert looks_like_tollgate_key(value), "the worker generated it, in Tollgate's format"
        assert key.secret_sha256 == hashlib.sha256(value.encode()).hexdigest()
        assert key.display_prefix == value[:8]
    assert len({v[:8] for v in values}) == len(values)  # the prefixes tell the keys apart

    # The creator sees it once, as before.
    assert key_reveal_secret(actor=owner, key=keys[0]) == values[0]

    # The tasks carried ids only.
    syncs = [args for name, args, _ in published if name == "keys.tasks.sync_key"]
    assert sorted(syncs) == sorted((key.pk,) for key in keys)
    assert any(r.name.startswith("botocore") for r in caplog.records)
    for value in values:
        assert rows_holding(value) == []
        assert [name for name, _, text in published if value[3:20] in text] == []
        assert [r.name for r in caplog.records if value[3:20] in record_text(r)] == []


def test_a_create_that_crashed_after_aws_took_it_makes_one_key(
    owner: User, initech: Customer, apigw: Any, control: LocalAwsControl, settle: Any
) -> None:
    """CreateApiKey succeeded in AWS but the answer was lost: the retry finds the key by its
    name and tag (it does not generate a second value and a second key)."""
    control.add_fault("CreateApiKey", status=500, after_apply=True, times=1)
    key = key_create(actor=owner, customer=initech, name="production")
    settle(timeout=60)
    key.refresh_from_db()

    assert key.sync_status == SyncStatus.SYNCED
    items = apigw.get_api_keys(includeValues=True)["items"]
    assert [k["id"] for k in items] == [key.aws_id]
    [value] = [k["value"] for k in items]
    assert looks_like_tollgate_key(value)
    assert key.secret_sha256 == hashlib.sha256(value.encode()).hexdigest()
    assert key.display_prefix == value[:8]


def test_imported_values_keep_their_shape(db: None) -> None:
    """Keys imported or adopted keep their values: a 5-character prefix, as before."""
    from portal.aws.apigateway import secret_fingerprint

    digest, prefix = secret_fingerprint("Imp0rtedSecretValue0002xyz")
    assert prefix == "Imp0r" and len(digest) == 64
    assert ApiKey._meta.get_field("display_prefix").max_length == 8
