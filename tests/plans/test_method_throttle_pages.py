"""Per-method limits on the console's tier form: each bad input's message, nothing saved."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from plans.models import ApiStage, MethodThrottle, Plan
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.catalog.models import ApiDocument
from portal.catalog.services import record_operations
from tests.conftest import login
from tests.plans.test_tier_pages import GOOD

ROW = {"method": "GET /forecast", "rate": "5", "burst": "10"}


def rows_data(stage: ApiStage, *rows: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "mt-TOTAL_FORMS": str(len(rows)),
        "mt-INITIAL_FORMS": "0",
        "mt-MIN_NUM_FORMS": "0",
        "mt-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for field, value in {"stage": str(stage.pk), **row}.items():
            if value is not None:
                data[f"mt-{i}-{field}"] = value
    return data


def post_tier(user: User, stage: ApiStage, *rows: dict[str, Any], **changes: Any) -> Any:
    data = {**GOOD, "stages": [str(stage.pk)], **changes, **rows_data(stage, *rows)}
    return login(user).post(reverse("console:tier-create"), data)


def edit_tier(user: User, plan: Plan, stage: ApiStage, *rows: dict[str, Any]) -> Any:
    data = {
        "name": plan.name,
        "description": plan.description,
        "monthly_price": f"{plan.monthly_price}",
        "self_serve": "on",
        "listed": "on",
        "throttle_rate": f"{plan.throttle_rate}",
        "throttle_burst": str(plan.throttle_burst),
        "quota_limit": str(plan.quota_limit),
        "quota_period": plan.quota_period,
        "quota_offset": str(plan.quota_offset),
        "stages": [str(stage.pk)],
        **rows_data(stage, *rows),
    }
    return login(user).post(reverse("console:tier-edit", args=[plan.pk]), data)


def test_it_creates_a_tier_with_a_method_limit(admin: User, stage: ApiStage) -> None:
    response = post_tier(
        admin, stage, ROW, {"method": "post /forecast/{city}", "rate": "2.5", "burst": "3"}
    )
    assert response.status_code == 302
    plan = Plan.objects.get(name="Gold")
    found = {(t.http_method, t.resource_path, t.rate, t.burst) for t in plan.method_throttles.all()}
    assert found == {
        ("GET", "/forecast", Decimal("5"), 10),
        ("POST", "/forecast/{city}", Decimal("2.5"), 3),
    }
    event = AuditEvent.objects.get(action="tier.created")
    assert event.after is not None
    assert len(event.after["method_throttles"]) == 2


def test_blank_rows_are_skipped(admin: User, stage: ApiStage) -> None:
    response = post_tier(admin, stage, ROW, {"method": "", "rate": "", "burst": ""})
    assert response.status_code == 302
    assert MethodThrottle.objects.count() == 1


def test_the_edit_page_shows_the_limits(
    admin: User, tiers: dict[str, Plan], stage: ApiStage
) -> None:
    plan = tiers["Premium"]
    edit_tier(admin, plan, stage, ROW)
    page = login(admin).get(reverse("console:tier-edit", args=[plan.pk])).content.decode()
    assert "Per-method limits" in page
    assert 'value="GET /forecast"' in page


def test_editing_a_limit_bumps_the_version_and_removing_it_too(
    admin: User, tiers: dict[str, Plan], stage: ApiStage
) -> None:
    plan = tiers["Premium"]
    assert edit_tier(admin, plan, stage, ROW).status_code == 302
    plan.refresh_from_db()
    assert plan.desired_version == 2

    edit_tier(admin, plan, stage, ROW)  # unchanged
    plan.refresh_from_db()
    assert plan.desired_version == 2

    edit_tier(admin, plan, stage, {**ROW, "rate": "7"})
    plan.refresh_from_db()
    assert plan.desired_version == 3
    assert plan.method_throttles.get().rate == 7

    edit_tier(admin, plan, stage, {**ROW, "DELETE": "on"})
    plan.refresh_from_db()
    assert plan.desired_version == 4
    assert not plan.method_throttles.exists()


def test_a_post_without_the_section_keeps_the_limits(
    admin: User, tiers: dict[str, Plan], stage: ApiStage
) -> None:
    plan = tiers["Premium"]
    edit_tier(admin, plan, stage, ROW)
    data = {**GOOD, "name": "Premium", "stages": [str(stage.pk)]}
    assert login(admin).post(reverse("console:tier-edit", args=[plan.pk]), data).status_code == 302
    assert plan.method_throttles.count() == 1


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (
            {"method": "/forecast"},
            "method",
            "Write the method as API Gateway does, e.g. “GET /forecast”.",
        ),
        (
            {"method": "GET forecast"},
            "method",
            "Write the method as API Gateway does, e.g. “GET /forecast”.",
        ),
        (
            {"method": "FETCH /forecast"},
            "method",
            "FETCH is not an HTTP method API Gateway throttles: choose one of GET, POST, PUT, "
            "PATCH, DELETE, HEAD, OPTIONS.",
        ),
        (
            {"method": "GET /forecast?days=3"},
            "method",
            "Write the resource path as API Gateway does, e.g. /forecast or /forecast/{city}.",
        ),
        ({"method": ""}, "method", "Write the method as API Gateway does, e.g. “GET /forecast”."),
        ({"stage": ""}, "stage", "Choose the stage this method belongs to."),
        ({"rate": ""}, "rate", "Set a rate above 0 and up to 10,000 requests per second."),
        ({"burst": ""}, "burst", "Set a burst from 1 to 5,000 requests."),
        ({"rate": "fast"}, "rate", "Enter a number."),
        ({"rate": "0"}, "rate", "The rate must be above 0 requests per second."),
        ({"burst": "0"}, "burst", "The burst must be at least 1 request."),
        (
            {"rate": "10001"},
            "rate",
            "API Gateway allows at most 10,000 requests per second per account.",
        ),
        ({"burst": "5001"}, "burst", "API Gateway allows a burst of at most 5,000 requests."),
        ({"rate": "30"}, "rate", "A method's rate cannot be above the tier's (25.5 req/s)."),
        ({"burst": "51"}, "burst", "A method's burst cannot be above the tier's (50)."),
    ],
)
def test_it_explains_each_bad_row(
    admin: User, stage: ApiStage, row: dict[str, Any], field: str, message: str
) -> None:
    response = post_tier(admin, stage, {**ROW, **row})
    assert response.status_code == 200
    form = response.context["throttles"].forms[0]
    assert message in form.errors[field]
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Plan.objects.exists()
    assert not MethodThrottle.objects.exists()


def test_a_tier_error_keeps_the_rows_as_typed(admin: User, stage: ApiStage) -> None:
    response = post_tier(admin, stage, {**ROW, "rate": "3.5"}, name="")
    assert "This field is required." in response.context["form"].errors["name"]
    page = response.content.decode()
    assert 'value="GET /forecast"' in page
    assert 'value="3.5"' in page
    assert not Plan.objects.exists()


def test_without_a_tier_throttle_any_legal_limit_goes(admin: User, stage: ApiStage) -> None:
    response = post_tier(
        admin, stage, {**ROW, "rate": "9000", "burst": "4000"}, throttle_rate="", throttle_burst=""
    )
    assert response.status_code == 302
    assert MethodThrottle.objects.get().rate == 9000


def test_the_same_method_twice_is_refused(admin: User, stage: ApiStage) -> None:
    response = post_tier(admin, stage, ROW, {**ROW, "rate": "3"})
    assert response.status_code == 200
    assert (
        "This method already has a limit in this tier."
        in (response.context["throttles"].forms[1].errors["method"])
    )
    assert not Plan.objects.exists()


def test_a_stage_the_tier_does_not_cover_is_refused(admin: User, stage: ApiStage) -> None:
    other = ApiStage.objects.create(
        region="us-east-1", rest_api_id="def456", stage_name="beta", api_name="Beta", available=True
    )
    data = {**GOOD, "stages": [str(stage.pk)], **rows_data(other, ROW)}
    response = login(admin).post(reverse("console:tier-create"), data)
    assert response.status_code == 200
    assert (
        "This tier does not cover that stage; tick it under API stages first."
        in (response.context["throttles"].forms[0].errors["stage"])
    )
    assert not Plan.objects.exists()


def test_a_method_missing_from_the_stage_document_is_refused(admin: User, stage: ApiStage) -> None:
    document = ApiDocument.objects.create(
        stage=stage,
        deployment_id="",
        raw_size=1,
        document={"openapi": "3.0.1", "paths": {"/forecast": {"get": {}}}},
    )
    record_operations(stage, document)
    page = login(admin).get(reverse("console:tier-create")).content.decode()
    assert '<option value="GET /forecast">' in page

    response = post_tier(admin, stage, {**ROW, "method": "DELETE /forecast"})
    assert response.status_code == 200
    assert (
        "Weather API / prod has no method DELETE /forecast."
        in (response.context["throttles"].forms[0].errors["method"])
    )
    assert post_tier(admin, stage, ROW).status_code == 302
