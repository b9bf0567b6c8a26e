"""What a request gets past the checks: MOCK answers as configured, stand-ins for integrations
that are not invoked locally, and gateway responses as PutGatewayResponse customised them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localaws.server import LocalAwsServer
from tests.localaws.gateway_setup import Invoker, Method, create_api

pytestmark = pytest.mark.integration

ORDER = Method(
    "/orders/{id}",
    key_required=False,
    request_template="{\"statusCode\": $input.params('status')}",
    responses=(
        ("200", None, '{"order": "$input.params(\'id\')", "stage": "$context.stage"}'),
        ("404", "404", '{"message": "no such order"}'),
        ("503", "5\\d\\d", None),
    ),
    response_parameters=(("method.response.header.X-Shop", "'local'"),),
)


@pytest.fixture
def invoker(apigw: Any, local_aws: LocalAwsServer) -> Invoker:
    return Invoker(local_aws, create_api(apigw, [ORDER]))


def test_the_request_template_picks_the_status_and_the_default_response_answers(
    invoker: Invoker,
) -> None:
    response = invoker.get("/orders/42", params={"status": "200"})

    assert response.status_code == 200
    assert response.json() == {"order": "42", "stage": "prod"}
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Shop"] == "local"


def test_a_selection_pattern_picks_the_integration_response(invoker: Invoker) -> None:
    missing = invoker.get("/orders/42", params={"status": "404"})
    unavailable = invoker.get("/orders/42", params={"status": "502"})

    assert (missing.status_code, missing.json()) == (404, {"message": "no such order"})
    assert (unavailable.status_code, unavailable.text) == (503, "")


def test_a_mock_with_no_matching_response_is_an_internal_server_error(
    apigw: Any, local_aws: LocalAwsServer
) -> None:
    only_404 = Method("/x", key_required=False, responses=(("404", "404", "{}"),))
    response = Invoker(local_aws, create_api(apigw, [only_404])).get("/x")

    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}
    assert response.headers["x-amzn-ErrorType"] == "InternalServerErrorException"


@pytest.mark.parametrize("kind", ["HTTP", "HTTP_PROXY"])
def test_other_integrations_answer_a_marked_stand_in(
    apigw: Any, local_aws: LocalAwsServer, kind: str
) -> None:
    method = Method(
        "/items", key_required=False, integration=kind, responses=(("200", None, None),)
    )
    response = Invoker(local_aws, create_api(apigw, [method])).get("/items")

    assert response.status_code == 200
    assert response.headers["x-localaws-stand-in"] == "true"
    body = response.json()
    assert body["localaws"] == f"stand-in answer: integration type {kind} is not invoked locally"
    assert body["uri"] == "https://backend.example.test/items"


def test_a_customised_gateway_response_is_used(apigw: Any, local_aws: LocalAwsServer) -> None:
    api_id = create_api(apigw, [Method("/items")])
    apigw.put_gateway_response(
        restApiId=api_id,
        responseType="INVALID_API_KEY",
        statusCode="401",
        responseParameters={"gatewayresponse.header.WWW-Authenticate": "'ApiKey'"},
        responseTemplates={
            "application/json": (
                '{"error": $context.error.messageString, "type": "$context.error.responseType",'
                ' "request": "$context.requestId"}'
            )
        },
    )

    response = Invoker(local_aws, api_id).get("/items")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "ApiKey"
    assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert json.loads(response.text) == {
        "error": "Forbidden",
        "type": "INVALID_API_KEY",
        "request": response.headers["x-amzn-RequestId"],
    }


def test_default_4xx_customises_every_4xx_not_customised_itself(
    apigw: Any, local_aws: LocalAwsServer
) -> None:
    api_id = create_api(apigw, [Method("/items")])
    apigw.put_gateway_response(
        restApiId=api_id,
        responseType="DEFAULT_4XX",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
        responseTemplates={"application/json": '{"problem": $context.error.messageString}'},
    )
    invoker = Invoker(local_aws, api_id)

    missing = invoker.get("/nowhere")
    forbidden = invoker.get("/items")

    assert (missing.status_code, missing.json()) == (
        403,
        {"problem": "Missing Authentication Token"},
    )
    assert (forbidden.status_code, forbidden.json()) == (403, {"problem": "Forbidden"})
    assert missing.headers["Access-Control-Allow-Origin"] == "*"
