"""Stage discovery records where customers call each stage: its custom domain (GetDomainNames +
GetBasePathMappings, as sellers publish APIs) where one maps it, else the execute-api address,
against the local AWS (plans.stages.stages_discover, portal.aws.apigateway.domains)."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse

from localaws.demo_api import DEMO_DOMAIN
from localaws.testing import LocalAwsControl
from plans.calls import stage_url
from plans.models import ApiStage
from plans.stages import DOMAINS_UNREADABLE, stages_discover, stages_domains_unreadable
from portal.accounts.models import User
from tests.conftest import login

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _forget_refusals() -> None:
    cache.delete(DOMAINS_UNREADABLE)


def stages() -> dict[str, ApiStage]:
    return {s.stage_name: s for s in ApiStage.objects.all()}


def test_the_demo_stage_is_found_at_its_custom_domain_in_four_calls(
    db: None, demo_api: tuple[str, str], control: LocalAwsControl, settings: Any
) -> None:
    control.clear_calls()

    result = stages_discover()

    prod = stages()["prod"]
    assert (prod.custom_domain, prod.custom_domain_path) == (DEMO_DOMAIN, "v1")
    assert prod.custom_domain_address == "api.tollgate.localhost/v1"
    assert stage_url(prod) == "https://api.tollgate.localhost/v1"
    settings.TOLLGATE = {**settings.TOLLGATE, "CUSTOM_DOMAIN_URL": "http://{domain}:5000"}
    assert stage_url(prod) == "http://api.tollgate.localhost:5000/v1"
    assert result.domains_unreadable == ""
    # One GetDomainNames page, one GetBasePathMappings per domain, besides the stage listing.
    assert Counter(call["operation"] for call in control.calls()) == {
        "GetRestApis": 1,
        "GetStages": 1,
        "GetDomainNames": 1,
        "GetBasePathMappings": 1,
    }


def test_without_a_custom_domain_it_is_the_execute_api_address(
    db: None, demo_api: tuple[str, str], apigw: Any
) -> None:
    stages_discover()
    apigw.delete_domain_name(domainName=DEMO_DOMAIN)

    stages_discover()

    prod = stages()["prod"]
    assert (prod.custom_domain, prod.custom_domain_path, prod.custom_domain_address) == ("", "", "")
    assert stage_url(prod) == f"https://{demo_api[0]}.execute-api.us-east-1.amazonaws.com/prod"


def test_several_domains_pick_the_shortest_path_then_the_first_name(
    db: None, demo_api: tuple[str, str], apigw: Any, control: LocalAwsControl
) -> None:
    api_id, _ = demo_api
    apigw.create_deployment(restApiId=api_id, stageName="beta")

    def domain(name: str, *mappings: dict[str, str]) -> None:
        apigw.create_domain_name(
            domainName=name,
            regionalCertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/test",
            endpointConfiguration={"types": ["REGIONAL"]},
        )
        for mapping in mappings:
            apigw.create_base_path_mapping(domainName=name, restApiId=api_id, **mapping)

    # Besides the demo's api.tollgate.localhost/v1 → prod:
    domain("weather.example.com", {})  # no base path, no stage: /{stage} for every stage
    domain("a.example.com", {"basePath": "v1", "stage": "prod"})  # same path as the demo's
    # A wildcard is no address anyone can type: skipped, its mappings never asked for (moto
    # cannot map one: it does not decode the "%2A" in the path).
    domain("*.example.net")
    control.clear_calls()

    stages_discover()

    found = {name: (s.custom_domain, s.custom_domain_path) for name, s in stages().items()}
    assert found == {
        "prod": ("a.example.com", "v1"),  # "v1" is shorter than "prod"; a... before api...
        "beta": ("weather.example.com", "beta"),  # the only domain that serves it
    }
    assert stage_url(stages()["beta"]) == "https://weather.example.com/beta"
    mapped = sorted(call["path"] for call in control.calls("GetBasePathMappings"))
    assert mapped == [
        "/domainnames/a.example.com/basepathmappings",
        f"/domainnames/{DEMO_DOMAIN}/basepathmappings",
        "/domainnames/weather.example.com/basepathmappings",
    ]


def test_without_permission_for_domains_discovery_goes_on_and_says_why_once(
    db: None,
    demo_api: tuple[str, str],
    control: LocalAwsControl,
    caplog: pytest.LogCaptureFixture,
    admin: User,
) -> None:
    denied = "User: arn:aws:iam::123456789012:user/tollgate is not authorized to perform: GET"
    control.add_fault(
        "GetDomainNames", status=403, code="AccessDeniedException", message=denied, times=None
    )

    with caplog.at_level(logging.WARNING, logger="plans.stages"):
        first = stages_discover()
        second = stages_discover()

    prod = stages()["prod"]
    assert (first.found, prod.custom_domain) == (1, "")
    assert stage_url(prod).endswith(".execute-api.us-east-1.amazonaws.com/prod")
    assert "lack permission (GetDomainNames)" in first.domains_unreadable
    assert second.domains_unreadable == first.domains_unreadable
    warnings = [r.getMessage() for r in caplog.records if r.name == "plans.stages"]
    assert len(warnings) == 1 and denied in warnings[0]
    assert control.calls("GetBasePathMappings") == []
    page = login(admin).get(reverse("console:stages")).content.decode()
    assert "Custom domains not read" in page and "lack permission" in page

    control.clear_faults()
    stages_discover()

    assert stages()["prod"].custom_domain == DEMO_DOMAIN
    assert stages_domains_unreadable() == ""
    page = login(admin).get(reverse("console:stages")).content.decode()
    assert "Custom domains not read" not in page
    assert "at <code>api.tollgate.localhost/v1</code>" in page
