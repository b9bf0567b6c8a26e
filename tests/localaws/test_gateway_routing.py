"""Invoke addresses (path style, execute-api host, custom domain with base path mappings) and
resource matching; anything that reaches no deployed method is 403 Missing Authentication Token."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from localaws.gateway.resources import MethodSpec, RouteTable
from localaws.server import LocalAwsServer
from tests.localaws.gateway_setup import Invoker, Method, add_methods, create_api

pytestmark = pytest.mark.integration

MISSING_TOKEN = {"message": "Missing Authentication Token"}


def assert_missing_token(response: requests.Response) -> None:
    assert response.status_code == 403
    assert response.json() == MISSING_TOKEN
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def echo(name: str) -> Method:
    """An open method whose MOCK answer names it."""
    return Method(
        f"/{name}" if name != "root" else "/",
        key_required=False,
        responses=(("200", None, f'{{"at": "{name}"}}'),),
    )


@pytest.fixture
def api(apigw: Any) -> str:
    return create_api(apigw, [echo("root"), echo("items")], stages=("prod", "beta"))


def get(server: LocalAwsServer, path: str, host: str) -> requests.Response:
    return requests.get(server.endpoint_url + path, headers={"Host": host}, timeout=10)


# -- addresses ----------------------------------------------------------------------------------


def test_path_style_reaches_the_stage(local_aws: LocalAwsServer, api: str) -> None:
    invoker = Invoker(local_aws, api)

    assert invoker.get("/items").json() == {"at": "items"}
    assert invoker.get("/").json() == {"at": "root"}
    assert invoker.get("").json() == {"at": "root"}


@pytest.mark.parametrize(
    "host",
    ["{api}.execute-api.us-east-1.amazonaws.com", "{api}.execute-api.us-east-1.localhost:4566"],
)
def test_the_execute_api_host_reaches_the_stage(
    local_aws: LocalAwsServer, api: str, host: str
) -> None:
    response = get(local_aws, "/prod/items", host.format(api=api))

    assert response.status_code == 200
    assert response.json() == {"at": "items"}


def test_the_execute_api_host_of_another_region_finds_no_api(
    local_aws: LocalAwsServer, api: str
) -> None:
    assert_missing_token(
        get(local_aws, "/prod/items", f"{api}.execute-api.eu-west-1.amazonaws.com")
    )


def test_a_custom_domain_maps_base_paths_to_stages(
    apigw: Any, local_aws: LocalAwsServer, api: str
) -> None:
    apigw.create_domain_name(domainName="api.shop.test", regionalCertificateArn="arn:cert")
    apigw.create_base_path_mapping(domainName="api.shop.test", restApiId=api, stage="prod")
    apigw.create_base_path_mapping(
        domainName="api.shop.test", restApiId=api, basePath="beta", stage="beta"
    )
    apigw.create_base_path_mapping(domainName="api.shop.test", restApiId=api, basePath="any")

    assert get(local_aws, "/items", "API.Shop.test:8443").json() == {"at": "items"}
    assert get(local_aws, "/", "api.shop.test").json() == {"at": "root"}
    assert get(local_aws, "/beta/items", "api.shop.test").json() == {"at": "items"}
    assert get(local_aws, "/any/beta/items", "api.shop.test").json() == {"at": "items"}
    assert_missing_token(get(local_aws, "/prod/items", "api.shop.test"))  # no resource /prod


def test_a_custom_domain_path_no_mapping_covers_is_refused(
    apigw: Any, local_aws: LocalAwsServer, api: str
) -> None:
    apigw.create_domain_name(domainName="api.shop.test", regionalCertificateArn="arn:cert")
    apigw.create_base_path_mapping(
        domainName="api.shop.test", restApiId=api, basePath="v1", stage="prod"
    )

    assert get(local_aws, "/v1/items", "api.shop.test").status_code == 200
    assert_missing_token(get(local_aws, "/v2/items", "api.shop.test"))
    assert_missing_token(get(local_aws, "/items", "api.shop.test"))


def test_signed_management_calls_still_reach_moto(apigw: Any, api: str) -> None:
    assert apigw.get_rest_api(restApiId=api)["name"] == "Shop"


# -- refusals -----------------------------------------------------------------------------------


def test_unknown_api_stage_resource_or_method_is_missing_authentication_token(
    local_aws: LocalAwsServer, api: str
) -> None:
    assert_missing_token(Invoker(local_aws, "nosuchapi").get("/items"))
    assert_missing_token(Invoker(local_aws, api, "nosuchstage").get("/items"))
    assert_missing_token(Invoker(local_aws, api).get("/nosuchresource"))
    assert_missing_token(Invoker(local_aws, api).request("DELETE", "/items"))
    assert_missing_token(get(local_aws, "/", f"{api}.execute-api.us-east-1.amazonaws.com"))


def test_a_stage_serves_its_deployment_not_later_edits(
    apigw: Any, local_aws: LocalAwsServer, api: str
) -> None:
    invoker = Invoker(local_aws, api)
    add_methods(apigw, api, [echo("later")])
    assert_missing_token(invoker.get("/later"))

    deployment = apigw.create_deployment(restApiId=api, stageName="beta")
    apigw.update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment["id"]}],
    )

    assert invoker.get("/later").json() == {"at": "later"}


# -- matching -----------------------------------------------------------------------------------


def spec(path: str, method: str = "GET") -> MethodSpec:
    return MethodSpec(path, method, False, None)


def test_literal_parts_beat_parameters_which_beat_proxies() -> None:
    table = RouteTable(
        [
            spec("/items/special"),
            spec("/items/{id}"),
            spec("/items/{id}/parts"),
            spec("/{proxy+}", "ANY"),
            spec("/"),
        ]
    )

    def matched(path: str, method: str = "GET") -> tuple[str, dict[str, str]] | None:
        found = table.match(path, method)
        return None if found is None else (found.method.resource_path, found.path_parameters)

    assert matched("/items/special") == ("/items/special", {})
    assert matched("/items/42") == ("/items/{id}", {"id": "42"})
    assert matched("/items/42/parts") == ("/items/{id}/parts", {"id": "42"})
    assert matched("/items/42/other/deep") == ("/{proxy+}", {"proxy": "items/42/other/deep"})
    assert matched("/") == ("/", {})
    assert matched("/", "POST") is None  # the root has no POST and {proxy+} needs a segment
    assert matched("/items/42", "DELETE") is None  # the resource has no DELETE and no ANY


def test_any_answers_methods_the_resource_does_not_define() -> None:
    table = RouteTable([spec("/items", "ANY"), spec("/items", "POST")])

    for method in ("GET", "DELETE", "PATCH"):
        found = table.match("/items", method)
        assert found is not None and found.method.http_method == "ANY"
    found = table.match("/items", "post")
    assert found is not None and found.method.http_method == "POST"
