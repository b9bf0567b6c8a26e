"""API keys at the gateway: a key-protected method admits only an enabled key of a usage plan
that covers this API stage; everything else is 403 {"message":"Forbidden"}."""

from __future__ import annotations

from typing import Any

import pytest

from localaws.server import LocalAwsServer
from tests.localaws.gateway_setup import Invoker, Method, create_api, keyed_plan

pytestmark = pytest.mark.integration

FORBIDDEN = {"message": "Forbidden"}


@pytest.fixture
def api(apigw: Any) -> str:
    return create_api(
        apigw, [Method("/items"), Method("/health", key_required=False)], stages=("prod", "beta")
    )


@pytest.fixture
def invoker(local_aws: LocalAwsServer, api: str) -> Invoker:
    return Invoker(local_aws, api)


@pytest.fixture
def key(apigw: Any, api: str) -> dict[str, Any]:
    return keyed_plan(apigw, [{"apiId": api, "stage": "prod"}])[1]


def assert_forbidden(response: Any) -> None:
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert response.headers["x-amzn-RequestId"]
    assert response.headers["x-amz-apigw-id"]


def test_it_admits_a_key_of_the_stages_plan(invoker: Invoker, key: dict[str, Any]) -> None:
    response = invoker.get("/items", key["value"])

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response.headers["x-amzn-RequestId"] and response.headers["x-amz-apigw-id"]


def test_the_key_header_name_is_case_insensitive(invoker: Invoker, key: dict[str, Any]) -> None:
    response = invoker.get("/items", headers={"X-API-KEY": key["value"]})

    assert response.status_code == 200


def test_it_refuses_a_missing_or_unknown_key(invoker: Invoker, key: dict[str, Any]) -> None:
    assert_forbidden(invoker.get("/items"))
    assert_forbidden(invoker.get("/items", "not-a-key-of-this-account"))
    assert_forbidden(invoker.get("/items", ""))


def test_a_method_without_api_key_required_needs_no_key(invoker: Invoker) -> None:
    assert invoker.get("/health").status_code == 200
    assert invoker.get("/health", "anything").status_code == 200


def test_a_key_works_only_on_the_stages_of_its_plan(
    local_aws: LocalAwsServer, api: str, key: dict[str, Any]
) -> None:
    assert Invoker(local_aws, api, "prod").get("/items", key["value"]).status_code == 200
    assert_forbidden(Invoker(local_aws, api, "beta").get("/items", key["value"]))


def test_a_key_in_no_usage_plan_is_refused(apigw: Any, invoker: Invoker) -> None:
    loose = apigw.create_api_key(name="loose", enabled=True)

    assert_forbidden(invoker.get("/items", loose["value"]))


def test_a_disabled_key_is_refused_until_it_is_enabled_again(
    apigw: Any, invoker: Invoker, key: dict[str, Any]
) -> None:
    def set_enabled(value: bool) -> None:
        apigw.update_api_key(
            apiKey=key["id"],
            patchOperations=[{"op": "replace", "path": "/enabled", "value": str(value).lower()}],
        )

    set_enabled(False)
    assert_forbidden(invoker.get("/items", key["value"]))
    set_enabled(True)
    assert invoker.get("/items", key["value"]).status_code == 200


def test_a_key_created_disabled_is_refused(apigw: Any, api: str, local_aws: LocalAwsServer) -> None:
    _, disabled = keyed_plan(apigw, [{"apiId": api, "stage": "beta"}], enabled=False)

    assert_forbidden(Invoker(local_aws, api, "beta").get("/items", disabled["value"]))


def test_a_deleted_key_is_refused(apigw: Any, invoker: Invoker, key: dict[str, Any]) -> None:
    assert invoker.get("/items", key["value"]).status_code == 200

    apigw.delete_api_key(apiKey=key["id"])

    assert_forbidden(invoker.get("/items", key["value"]))


def test_a_key_removed_from_its_plan_is_refused(apigw: Any, api: str, invoker: Invoker) -> None:
    plan_id, key = keyed_plan(apigw, [{"apiId": api, "stage": "prod"}])
    assert invoker.get("/items", key["value"]).status_code == 200

    apigw.delete_usage_plan_key(usagePlanId=plan_id, keyId=key["id"])

    assert_forbidden(invoker.get("/items", key["value"]))


def test_a_stage_removed_from_the_plan_refuses_its_keys(
    apigw: Any, api: str, invoker: Invoker
) -> None:
    plan_id, key = keyed_plan(
        apigw, [{"apiId": api, "stage": "prod"}, {"apiId": api, "stage": "beta"}]
    )
    apigw.update_usage_plan(
        usagePlanId=plan_id,
        patchOperations=[{"op": "remove", "path": "/apiStages", "value": f"{api}:prod"}],
    )

    assert_forbidden(invoker.get("/items", key["value"]))


def test_key_look_ups_use_an_index_rebuilt_only_after_writes(
    apigw: Any, local_aws: LocalAwsServer, invoker: Invoker, key: dict[str, Any]
) -> None:
    assert local_aws.app is not None
    catalog = local_aws.app.gateway.catalog
    assert invoker.get("/items", key["value"]).status_code == 200
    built = catalog.rebuilds

    assert invoker.statuses(20, "/items", key["value"]) == [200] * 20
    assert catalog.rebuilds == built

    apigw.create_api_key(name="another", enabled=True)
    assert invoker.get("/items", key["value"]).status_code == 200
    assert catalog.rebuilds == built + 1  # the key index only, not the routes
