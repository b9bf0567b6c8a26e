"""APIs, keys and plans for the gateway tests, built through boto3 as an API owner would,
and a client that calls the deployed stage over HTTP."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests

from localaws.server import LocalAwsServer

MOCK_OK = '{"statusCode": 200}'


@dataclass(frozen=True)
class Method:
    path: str
    http_method: str = "GET"
    key_required: bool = True
    integration: str = "MOCK"
    request_template: str | None = MOCK_OK
    # status code -> (selection pattern, response template)
    responses: tuple[tuple[str, str | None, str | None], ...] = (("200", None, '{"ok": true}'),)
    response_parameters: tuple[tuple[str, str], ...] = ()


def _resource(apigw: Any, api_id: str, ids: dict[str, str], path: str) -> str:
    if path in ids:
        return ids[path]
    parent, _, part = path.rpartition("/")
    parent_id = _resource(apigw, api_id, ids, parent or "/")
    ids[path] = str(
        apigw.create_resource(restApiId=api_id, parentId=parent_id, pathPart=part)["id"]
    )
    return ids[path]


def add_methods(apigw: Any, api_id: str, methods: Iterable[Method]) -> None:
    ids = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=api_id)["items"]}
    for m in methods:
        where = {
            "restApiId": api_id,
            "resourceId": _resource(apigw, api_id, ids, m.path),
            "httpMethod": m.http_method,
        }
        apigw.put_method(**where, authorizationType="NONE", apiKeyRequired=m.key_required)
        if m.integration == "MOCK":
            templates = {"application/json": m.request_template} if m.request_template else {}
            apigw.put_integration(**where, type="MOCK", requestTemplates=templates)
        elif m.integration != "NONE":
            apigw.put_integration(
                **where,
                type=m.integration,
                integrationHttpMethod="GET",
                uri="https://backend.example.test/items",
            )
        for code, pattern, template in m.responses:
            apigw.put_method_response(**where, statusCode=code)
            extra: dict[str, Any] = {}
            if pattern:
                extra["selectionPattern"] = pattern
            if template:
                extra["responseTemplates"] = {"application/json": template}
            if m.response_parameters:
                extra["responseParameters"] = dict(m.response_parameters)
            if m.integration != "NONE":
                apigw.put_integration_response(**where, statusCode=code, **extra)


def create_api(
    apigw: Any, methods: Iterable[Method], stages: Iterable[str] = ("prod",), name: str = "Shop"
) -> str:
    """A REST API with ``methods``, deployed to each of ``stages``; returns its id."""
    api_id = str(apigw.create_rest_api(name=name)["id"])
    add_methods(apigw, api_id, methods)
    for stage in stages:
        apigw.create_deployment(restApiId=api_id, stageName=stage)
    return api_id


def keyed_plan(
    apigw: Any,
    stages: list[dict[str, Any]],
    *,
    throttle: dict[str, Any] | None = None,
    quota: dict[str, Any] | None = None,
    enabled: bool = True,
) -> tuple[str, dict[str, Any]]:
    """A usage plan over ``stages`` with one new API key in it: (plan id, key)."""
    extra: dict[str, Any] = {}
    if throttle:
        extra["throttle"] = throttle
    if quota:
        extra["quota"] = quota
    plan_id = str(apigw.create_usage_plan(name="plan", apiStages=stages, **extra)["id"])
    key = apigw.create_api_key(name="key", enabled=enabled)
    apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=key["id"], keyType="API_KEY")
    return plan_id, key


class Invoker:
    """Calls one deployed stage at its path-style invoke address."""

    def __init__(self, server: LocalAwsServer, api_id: str, stage: str = "prod") -> None:
        self.base = f"{server.endpoint_url}/restapis/{api_id}/{stage}/_user_request_"
        self.session = requests.Session()

    def get(self, path: str, key: str | None = None, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, key, **kwargs)

    def request(
        self, method: str, path: str, key: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if key is not None:
            headers["x-api-key"] = key
        return self.session.request(method, self.base + path, headers=headers, timeout=10, **kwargs)

    def statuses(self, count: int, path: str, key: str | None = None) -> list[int]:
        return [self.get(path, key).status_code for _ in range(count)]


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


STATS = (
    ("Count", "Sum"),
    ("Count", "SampleCount"),
    ("4XXError", "Sum"),
    ("4XXError", "Average"),
    ("5XXError", "Sum"),
    ("Latency", "SampleCount"),
    ("Latency", "p99"),
    ("IntegrationLatency", "SampleCount"),
)


def metric_sums(cloudwatch: Any, api_name: str, stage: str = "prod") -> dict[str, float]:
    """``{"Count Sum": ..., "Latency p99": ...}`` of one stage over one hour-long period
    around now (statistics with no datapoint left out)."""
    now = datetime.datetime.now(datetime.UTC)
    queries = [
        {
            "Id": f"q{index}",
            "Label": f"{metric} {stat}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/ApiGateway",
                    "MetricName": metric,
                    "Dimensions": [
                        {"Name": "ApiName", "Value": api_name},
                        {"Name": "Stage", "Value": stage},
                    ],
                },
                "Period": 3600,
                "Stat": stat,
            },
        }
        for index, (metric, stat) in enumerate(STATS)
    ]
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=queries,
        StartTime=now - datetime.timedelta(minutes=30),
        EndTime=now + datetime.timedelta(minutes=30),
    )
    return {r["Label"]: sum(r["Values"]) for r in answer["MetricDataResults"] if r["Values"]}
