"""Where the demo's live traffic finds its keys and how each request goes out.

`AwsKeys` reads one account and region of the local AWS as a customer's clients would know it:
each key's value (GetApiKeys with includeValues; the demo is local only, so it may), its usage
plan's throttle, quota and stages (GetUsagePlans, GetUsagePlanKeys), the quota left today
(GetUsage) and the public address of each stage: the custom-domain URL Tollgate shows customers
(`published_addresses`), else the path-style invoke address on the local AWS endpoint.
`EveryPlace` does so in every account and region of Tollgate's AWS connections (a partner's
through its role), so each copy of a key that spans regions gets traffic at its own address.

`HttpSender` sends one request with plain `http.client`, one kept-alive connection per worker
thread, always to the local AWS endpoint's host and port: a custom domain name such as
`api.tollgate.localhost` goes in the Host header only, since Python's resolver does not map
`*.localhost` to 127.0.0.1 (the gateway ignores the port in Host).
"""

from __future__ import annotations

import datetime
import http.client
import threading
import urllib.parse
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db.models import Q

from demo.traffic_plan import Address, Call, LiveKey, period_left
from plans.calls import stage_url
from plans.models import ApiStage
from portal.connections.models import AwsConnection

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient

USER_AGENT = "tollgate-demo-traffic/1"


def _host_port(endpoint_url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(endpoint_url)
    return parts.hostname or "127.0.0.1", parts.port or 80


Credentials = dict[str, str]  # boto3 client keyword arguments


def published_addresses(where: Q | None = None) -> dict[tuple[str, str], Address]:
    """(API id, stage) -> the custom-domain address Tollgate shows customers for the stage
    (plans.calls.stage_url, from what stage discovery read), for stages that have one (and
    match `where`, the place's stages): the traffic goes where the key page's curl line
    points."""
    mapped: dict[tuple[str, str], Address] = {}
    stages = ApiStage.objects.exclude(custom_domain="")
    for stage in stages.filter(where) if where is not None else stages:
        url = urllib.parse.urlsplit(stage_url(stage))
        mapped[(stage.rest_api_id, stage.stage_name)] = Address(url.netloc, url.path.rstrip("/"))
    return mapped


_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"total_max_attempts": 1})


class AwsKeys:
    """`discover()`: every key in a usage plan, with what its client needs to call the API."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        credentials: Credentials | None = None,
        stages: Q | None = None,
        label: str = "",
    ) -> None:
        """`credentials`: another account's (the environment's by default); `stages`: the
        ApiStage rows of this place, for their published addresses; `label`: the place, added
        to each key's name when traffic goes to several."""
        self.host, self.port = _host_port(endpoint_url)
        self.stages = stages
        self.label = label
        self.client: APIGatewayClient = boto3.client(
            "apigateway",
            endpoint_url=endpoint_url,
            region_name=region,
            config=_CONFIG,
            # None: the environment's credentials (boto3's chain).
            aws_access_key_id=(credentials or {}).get("aws_access_key_id"),
            aws_secret_access_key=(credentials or {}).get("aws_secret_access_key"),
            aws_session_token=(credentials or {}).get("aws_session_token"),
        )

    def __call__(self) -> list[LiveKey]:
        return self.discover()

    def _pages(self, operation: str, field: str = "items", **kwargs: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        paginator: Any = self.client.get_paginator(operation)  # type: ignore[call-overload]
        for page in paginator.paginate(**kwargs):
            found += page.get(field, [])
        return found

    def resource_paths(self, api_id: str) -> frozenset[str]:
        return frozenset(r["path"] for r in self._pages("get_resources", restApiId=api_id))

    def discover(self) -> list[LiveKey]:
        values = {
            key["id"]: key
            for key in self._pages("get_api_keys", includeValues=True)
            if "value" in key
        }
        mapped = published_addresses(self.stages)
        paths: dict[str, frozenset[str]] = {}
        now = datetime.datetime.now(datetime.UTC)
        today = now.date().isoformat()
        found: dict[str, LiveKey] = {}
        for plan in self._pages("get_usage_plans"):
            stages = [(s["apiId"], s["stage"]) for s in plan.get("apiStages", []) if "stage" in s]
            if not stages:
                continue
            api_id, stage = sorted(stages, key=lambda s: s not in mapped)[0]
            if api_id not in paths:
                paths[api_id] = self.resource_paths(api_id)
            address = mapped.get((api_id, stage)) or Address(
                host=f"{self.host}:{self.port}", prefix=f"/restapis/{api_id}/{stage}/_user_request_"
            )
            address = Address(address.host, address.prefix, paths[api_id])
            throttle, quota = plan.get("throttle", {}), plan.get("quota", {})
            remaining: dict[str, int] = {}
            if quota.get("limit"):
                usage = self.client.get_usage(
                    usagePlanId=plan["id"], startDate=today, endDate=today, limit=500
                )
                for key_id, pairs in usage.get("items", {}).items():
                    if pairs:
                        remaining[key_id] = int(pairs[-1][-1])
            for member in self._pages("get_usage_plan_keys", usagePlanId=plan["id"]):
                key = values.get(member["id"])
                if key is None or member["id"] in found:
                    continue
                name = str(key.get("description") or key.get("name") or member["id"])
                found[member["id"]] = LiveKey(
                    key_id=member["id"],
                    name=f"{name} @ {self.label}" if self.label else name,
                    value=str(key["value"]),
                    enabled=bool(key.get("enabled", True)),
                    address=address,
                    throttle_rate=throttle.get("rateLimit"),
                    throttle_burst=throttle.get("burstLimit"),
                    quota_limit=quota.get("limit"),
                    quota_period=quota.get("period"),
                    quota_remaining=remaining.get(member["id"]),
                    period_left=period_left(quota.get("period"), now),
                )
        return list(found.values())


class EveryPlace:
    """`discover()` in every account and region of Tollgate's AWS connections, read again on
    each call (a connection added in the console gets traffic at the next refresh); the
    settings' region alone while there is no connection yet."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url

    def __call__(self) -> list[LiveKey]:
        connections = list(AwsConnection.objects.all())
        if not connections:
            return AwsKeys(self.endpoint_url, settings.AWS_REGION).discover()
        found: list[LiveKey] = []
        for connection in connections:
            credentials = self._credentials(connection)
            if credentials is None:
                continue  # its role cannot be assumed (yet): the other places still get traffic
            for region in connection.regions:
                # A stage found before connections existed has none: the default's.
                ours = Q(connection=connection)
                if connection.is_default:
                    ours |= Q(connection__isnull=True)
                label = _where(connection, region)
                keys = AwsKeys(
                    self.endpoint_url, region, credentials, Q(region=region) & ours, label
                )
                found += keys.discover()
        return found

    def _credentials(self, connection: AwsConnection) -> Credentials | None:
        """The environment's credentials (empty: boto3's chain), or the role's, assumed the way
        Tollgate assumes it."""
        if not connection.role_arn:
            return {}
        sts = boto3.client("sts", endpoint_url=self.endpoint_url, config=_CONFIG)
        extra = {"ExternalId": connection.external_id} if connection.external_id else {}
        try:
            answer = sts.assume_role(
                RoleArn=connection.role_arn, RoleSessionName="tollgate-demo-traffic", **extra
            )
        except (BotoCoreError, ClientError):
            return None
        credentials = answer["Credentials"]
        return {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }


def _where(connection: AwsConnection, region: str) -> str:
    """What a key's name gets in the log lines: nothing in the home region, "eu-west-1" or
    "Partner · us-east-1" elsewhere (as Tollgate's pages name copies)."""
    if not connection.is_default:
        return f"{connection.name} · {region}"
    return "" if region == settings.AWS_REGION else region


class HttpSender:
    """`sender(call)` -> (status, body); OSError when the local AWS cannot be reached."""

    def __init__(self, endpoint_url: str, timeout: float = 5.0) -> None:
        self.host, self.port = _host_port(endpoint_url)
        self.timeout = timeout
        self.local = threading.local()

    def __call__(self, call: Call) -> tuple[int, bytes]:
        headers = {"Host": call.host, "User-Agent": USER_AGENT, "Accept": "application/json"}
        if call.key is not None:
            headers["x-api-key"] = call.key
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        reused = getattr(self.local, "connection", None) is not None
        try:
            return self._send(call, headers)
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            if not reused:
                raise OSError(str(exc)) from exc
        # A kept-alive connection the server had closed: one more try on a fresh one.
        try:
            return self._send(call, headers)
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise OSError(str(exc)) from exc

    def _send(self, call: Call, headers: dict[str, str]) -> tuple[int, bytes]:
        connection: http.client.HTTPConnection | None = getattr(self.local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.local.connection = connection
        connection.request(call.method, call.path, body=call.body, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.will_close:
            self._drop()
        return response.status, body

    def _drop(self) -> None:
        connection = getattr(self.local, "connection", None)
        if connection is not None:
            connection.close()
        self.local.connection = None
