"""seed_scale: bulk customers, keys and usage, fingerprints only, refuses a second run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from keys.models import ApiKey, KeyCopy
from plans.models import Plan, Subscription
from portal.customers.models import Customer, Membership
from portal.usage.models import UsageDay

pytestmark = pytest.mark.django_db

ARGS = ("--customers", "20", "--keys-per-customer", "2", "--regions", "us-east-1,eu-west-1")


def seed(*extra: str) -> str:
    out = StringIO()
    call_command("seed_scale", *ARGS, "--days", "3", *extra, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_seed_scale_makes_the_rows_and_stores_no_key_value() -> None:
    assert "20 customers, 40 keys, 80 key copies, 240 usage days" in seed()

    assert Customer.objects.count() == 20
    assert Membership.objects.filter(role="owner").count() == 20
    assert Subscription.objects.active().count() == 20
    assert set(Plan.objects.values_list("name", flat=True)) == {"Free", "Premium", "Enterprise"}
    assert ApiKey.objects.count() == 40
    assert set(KeyCopy.objects.values_list("region", flat=True)) == {"us-east-1", "eu-west-1"}
    assert KeyCopy.objects.count() == 80
    assert UsageDay.objects.count() == 20 * 2 * 2 * 3
    assert UsageDay.objects.filter(used=0).exists()  # some keys idle
    for key in ApiKey.objects.all():
        assert len(key.secret_sha256) == 64 and key.display_prefix
    # No field anywhere holds a key value: only the SHA-256 and the short prefix.
    names = {f.name for f in ApiKey._meta.get_fields()} | {
        f.name for f in KeyCopy._meta.get_fields()
    }
    assert not {"value", "secret", "key_value"} & names


def test_a_second_run_is_refused_without_force() -> None:
    seed()
    with pytest.raises(CommandError, match="already has seed_scale data"):
        seed()
    assert Customer.objects.count() == 20
    seed("--force")
    assert Customer.objects.count() == 40
    assert ApiKey.objects.count() == 80


def test_with_aws_imports_the_keys_so_a_reconcile_finds_them_in_sync(
    live_tiers: dict[str, Plan],
) -> None:
    from portal.reconcile.services import reconcile

    out = seed_args("--customers", "6", "--keys-per-customer", "2", "--with-aws")
    assert "ImportApiKeys: " in out and "12 copies linked" in out
    assert not KeyCopy.objects.filter(aws_id__startswith="ss").exists()
    summary = reconcile().summary()
    assert summary["in_sync"] == 12 + len(live_tiers), summary
    assert summary["drifted"] == summary["resync"] == summary["removed"] == 0


def test_with_aws_refuses_more_than_aws_keys_per_region(live_tiers: dict[str, Plan]) -> None:
    with pytest.raises(CommandError, match="10,000 API keys per account and region"):
        seed_args("--customers", "2001", "--keys-per-customer", "5", "--with-aws")
    assert not Customer.objects.exists()


def seed_args(*args: str) -> str:
    out = StringIO()
    call_command("seed_scale", "--days", "1", *args, stdout=out, stderr=StringIO())
    return out.getvalue()
