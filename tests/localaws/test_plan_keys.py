"""Usage plan keys answer as AWS answers them (localaws.plan_keys), where moto does not."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration

NO_KEY = "Invalid API Key identifier specified"
NO_PLAN = "Invalid Usage Plan ID specified"


def _not_found(caught: pytest.ExceptionInfo[ClientError]) -> str:
    response = caught.value.response
    assert response["Error"]["Code"] == "NotFoundException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    return str(response["Error"]["Message"])


def test_keys_of_an_unknown_plan_are_an_empty_list(apigw: Any) -> None:
    assert apigw.get_usage_plan_keys(usagePlanId="nosuchplan")["items"] == []
    pages = list(apigw.get_paginator("get_usage_plan_keys").paginate(usagePlanId="nosuchplan"))
    assert [page["items"] for page in pages] == [[]]


def test_keys_of_a_deleted_plan_are_an_empty_list(apigw: Any) -> None:
    plan = apigw.create_usage_plan(name="gone")["id"]
    key = apigw.create_api_key(name="customer")["id"]
    apigw.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
    apigw.delete_usage_plan(usagePlanId=plan)
    assert apigw.get_usage_plan_keys(usagePlanId=plan)["items"] == []


def test_deleting_a_key_that_is_not_in_the_plan_is_not_found(apigw_no_retry: Any) -> None:
    apigw = apigw_no_retry
    plan = apigw.create_usage_plan(name="plan")["id"]
    key = apigw.create_api_key(name="outsider")["id"]

    with pytest.raises(ClientError) as caught:
        apigw.delete_usage_plan_key(usagePlanId=plan, keyId=key)
    assert _not_found(caught) == NO_PLAN

    with pytest.raises(ClientError) as caught:
        apigw.delete_usage_plan_key(usagePlanId=plan, keyId="nosuchkey")
    assert _not_found(caught) == NO_KEY

    with pytest.raises(ClientError) as caught:
        apigw.delete_usage_plan_key(usagePlanId="nosuchplan", keyId=key)
    assert _not_found(caught) == NO_PLAN


def test_deleting_a_member_key_still_works_once(apigw_no_retry: Any) -> None:
    apigw = apigw_no_retry
    plan = apigw.create_usage_plan(name="plan")["id"]
    key = apigw.create_api_key(name="member")["id"]
    apigw.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")

    answer = apigw.delete_usage_plan_key(usagePlanId=plan, keyId=key)

    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert apigw.get_usage_plan_keys(usagePlanId=plan)["items"] == []
    with pytest.raises(ClientError) as caught:
        apigw.delete_usage_plan_key(usagePlanId=plan, keyId=key)
    assert _not_found(caught) == NO_PLAN


def test_a_key_of_a_deleted_plan_is_not_found(apigw_no_retry: Any) -> None:
    apigw = apigw_no_retry
    plan = apigw.create_usage_plan(name="gone")["id"]
    key = apigw.create_api_key(name="customer")["id"]
    apigw.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
    apigw.delete_usage_plan(usagePlanId=plan)

    with pytest.raises(ClientError) as caught:
        apigw.get_usage_plan_key(usagePlanId=plan, keyId=key)
    assert _not_found(caught) == NO_PLAN


def test_joining_names_the_unknown_key_before_the_unknown_plan(apigw_no_retry: Any) -> None:
    apigw = apigw_no_retry
    with pytest.raises(ClientError) as caught:
        apigw.create_usage_plan_key(usagePlanId="nosuchplan", keyId="nosuchkey", keyType="API_KEY")
    assert _not_found(caught) == NO_KEY

    key = apigw.create_api_key(name="customer")["id"]
    with pytest.raises(ClientError) as caught:
        apigw.create_usage_plan_key(usagePlanId="nosuchplan", keyId=key, keyType="API_KEY")
    assert _not_found(caught) == NO_PLAN


def test_a_domain_without_mappings_lists_none(apigw: Any) -> None:
    apigw.create_domain_name(
        domainName="empty.example.com",
        regionalCertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/empty",
        endpointConfiguration={"types": ["REGIONAL"]},
    )

    assert apigw.get_base_path_mappings(domainName="empty.example.com").get("items", []) == []
    with pytest.raises(apigw.exceptions.NotFoundException):
        apigw.get_base_path_mappings(domainName="unknown.example.com")
