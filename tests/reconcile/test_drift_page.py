"""A drift made directly in AWS shows on the drift page and an admin settles it either way."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from plans.models import Plan
from portal.accounts.models import StaffRole
from portal.reconcile.services import reconcile
from portal.sync import SyncStatus
from tests.conftest import login, make_user

pytestmark = pytest.mark.integration


def test_drift_is_shown_and_settled_both_ways(
    live_tiers: dict[str, Plan], apigw: Any, settle: Any
) -> None:
    admin = make_user("admin@tollgate.test", StaffRole.ADMIN)
    premium, free = live_tiers["Premium"], live_tiers["Free"]
    apigw.update_usage_plan(
        usagePlanId=premium.aws_id,
        patchOperations=[{"op": "replace", "path": "/throttle/burstLimit", "value": "7"}],
    )
    apigw.update_usage_plan(
        usagePlanId=free.aws_id,
        patchOperations=[{"op": "replace", "path": "/description", "value": "Edited in console"}],
    )
    reconcile()
    client = login(admin)

    page = client.get(reverse("console:drift")).content.decode()
    assert "Tier “Premium”" in page and "Tier “Free”" in page
    assert "<code>50 req/s, burst 100</code></td><td><code>50 req/s, burst 7</code>" in page
    assert "<code>Try it out</code></td><td><code>Edited in console</code>" in page

    response = client.post(reverse("console:drift-settle", args=["tier", premium.pk, "ours"]))
    assert response.status_code == 302
    settle()
    assert apigw.get_usage_plan(usagePlanId=premium.aws_id)["throttle"]["burstLimit"] == 100

    client.post(reverse("console:drift-settle", args=["tier", free.pk, "aws"]))
    free.refresh_from_db()
    assert free.description == "Edited in console"
    assert free.sync_status == SyncStatus.SYNCED

    page = client.get(reverse("console:drift")).content.decode()
    assert "No drift" in page


def test_ops_see_drift_but_cannot_settle_it(live_tiers: dict[str, Plan], apigw: Any) -> None:
    ops = make_user("ops@tollgate.test", StaffRole.OPS)
    premium = live_tiers["Premium"]
    apigw.update_usage_plan(
        usagePlanId=premium.aws_id,
        patchOperations=[{"op": "replace", "path": "/quota/limit", "value": "5"}],
    )
    reconcile()
    client = login(ops)
    page = client.get(reverse("console:drift")).content.decode()
    assert "Tier “Premium”" in page
    assert "Push Tollgate" not in page
    url = reverse("console:drift-settle", args=["tier", premium.pk, "aws"])
    assert client.post(url).status_code == 403
    premium.refresh_from_db()
    assert premium.quota_limit == 100_000
