"""Against the local AWS: the connection check reads the account throttle (GetAccount) that the
capacity page compares the tiers' promises with, and a refused key never reaches AWS."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from keys.models import ApiKey
from keys.services import key_create
from localaws.testing import LocalAwsControl
from plans.models import Plan
from portal.accounts.models import User
from portal.aws.clients import reset_clients
from portal.connections.capacity import place_capacities
from portal.connections.services import connection_check, connection_default
from portal.customers.models import Customer
from tests.conftest import login


@pytest.mark.django_db
def test_the_check_records_the_account_throttle_and_the_page_compares_with_it(
    admin: User, apigw: Any, tiers: dict[str, Plan], acme_key: ApiKey
) -> None:
    reset_clients()
    body = login(admin).get("/console/capacity/").content.decode()
    assert "Account throttle not read yet" in body
    account = apigw.get_account()["throttleSettings"]

    connection = connection_check(connection=connection_default(), actor=admin)

    connection.refresh_from_db()
    assert connection.check_report["account_throttle"]["us-east-1"] == {
        "rateLimit": float(account["rateLimit"]),
        "burstLimit": float(account["burstLimit"]),
    }
    [home] = place_capacities()
    assert home.throttle.cap == int(account["rateLimit"])
    assert home.burst_limit == int(account["burstLimit"])
    assert home.throttle.used == tiers["Free"].throttle_rate  # Acme's one key, on Free
    body = login(admin).get("/console/capacity/").content.decode()
    assert "Account throttle not read yet" not in body
    assert f"burst {int(account['burstLimit']):,}" in body


def test_a_refused_key_makes_no_aws_call(
    settings: Any, control: LocalAwsControl, initech: Customer, owner: User, settle: Any
) -> None:
    """`initech` is on the live Free tier (a usage plan in the local AWS, settled)."""
    key_create(actor=owner, customer=initech, name="first")
    settle()
    settings.TOLLGATE = {**settings.TOLLGATE, "AWS_CAPS": {"api_keys": 1}}
    control.clear_calls()
    with pytest.raises(ValidationError, match="API Gateway allows 1 API keys"):
        key_create(actor=owner, customer=initech, name="second")
    assert ApiKey.objects.filter(customer=initech).count() == 1
    assert control.calls() == []
