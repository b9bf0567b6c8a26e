"""The demo's AWS estate: the demo API in two regions of the main account and in a partner
account reached the way SaaS tools reach customer accounts (STS AssumeRole + external id).

What ``ensure_demo_estate`` makes (idempotent; every call redeploys the stages, as
``ensure_demo_api`` does):

====================  ===========  ===========================================
account               region       custom domain (base path ``v1`` -> ``prod``)
====================  ===========  ===========================================
123456789012 (main)   us-east-1    ``api.tollgate.localhost``
123456789012 (main)   eu-west-1    ``eu.api.tollgate.localhost``
222222222222          us-east-1    ``partner.api.tollgate.localhost``
====================  ===========  ===========================================

Account ``222222222222`` holds the IAM role ``TollgateAccess`` whose trust policy lets the
main account (``arn:aws:iam::123456789012:root``) assume it with ``sts:ExternalId``
``tollgate-partner``, and an inline policy granting what Tollgate needs (API Gateway, CloudWatch
reads). The partner's own administrator creates that role: locally, requests carrying moto's
``x-moto-account-id`` header stand for that administrator. The partner's API is then deployed
with the credentials the assumed role hands out, exactly as Tollgate will reach it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3.session

from localaws.demo_api import DEMO_DOMAIN, MAIN_ACCOUNT_ID, ensure_demo_api

PARTNER_ACCOUNT_ID = "222222222222"
PARTNER_ROLE_NAME = "TollgateAccess"
PARTNER_ROLE_ARN = f"arn:aws:iam::{PARTNER_ACCOUNT_ID}:role/{PARTNER_ROLE_NAME}"
PARTNER_EXTERNAL_ID = "tollgate-partner"
EU_REGION = "eu-west-1"
EU_DOMAIN = "eu.api.tollgate.localhost"
PARTNER_DOMAIN = "partner.api.tollgate.localhost"
MAIN_REGION = "us-east-1"
# The fake credentials of the main account (moto maps keys it never issued to it).
_MAIN_CREDENTIALS = {"aws_access_key_id": "localaws", "aws_secret_access_key": "localaws"}

TRUST_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{MAIN_ACCOUNT_ID}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": PARTNER_EXTERNAL_ID}},
        }
    ],
}
# What Tollgate does in a connected account: manage API Gateway keys and usage plans, read
# stages, and read CloudWatch metrics (the dashboard's dry read checks these).
ACCESS_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "apigateway:GET",
                "apigateway:POST",
                "apigateway:PATCH",
                "apigateway:DELETE",
            ],
            "Resource": "arn:aws:apigateway:*::/*",
        },
        {
            "Effect": "Allow",
            "Action": ["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics"],
            "Resource": "*",
        },
    ],
}


@dataclass(frozen=True)
class DemoDeployment:
    """One copy of the demo API: where it lives and how it is published."""

    account_id: str
    region: str
    rest_api_id: str
    stage_name: str
    domain: str


@dataclass(frozen=True)
class DemoEstate:
    deployments: tuple[DemoDeployment, ...]
    role_arn: str = PARTNER_ROLE_ARN
    external_id: str = PARTNER_EXTERNAL_ID


def ensure_demo_estate(endpoint_url: str) -> DemoEstate:
    """Create (or bring up to date) the whole demo estate on the local AWS at ``endpoint_url``."""
    deployments = [
        _deploy(_main_client(endpoint_url, MAIN_REGION), MAIN_ACCOUNT_ID, DEMO_DOMAIN),
        _deploy(_main_client(endpoint_url, EU_REGION), MAIN_ACCOUNT_ID, EU_DOMAIN),
    ]
    ensure_partner_role(endpoint_url)
    partner = client(endpoint_url, "apigateway", MAIN_REGION, assume_partner_role(endpoint_url))
    deployments.append(_deploy(partner, PARTNER_ACCOUNT_ID, PARTNER_DOMAIN))
    return DemoEstate(tuple(deployments))


def client(
    endpoint_url: str,
    service: str,
    region: str = MAIN_REGION,
    credentials: Mapping[str, str] = _MAIN_CREDENTIALS,
) -> Any:
    """A boto3 client of the local AWS; the main account's unless ``credentials`` say else
    (e.g. ``assume_partner_role``'s)."""
    session = boto3.session.Session(
        aws_access_key_id=credentials["aws_access_key_id"],
        aws_secret_access_key=credentials["aws_secret_access_key"],
        aws_session_token=credentials.get("aws_session_token"),
        region_name=region,
    )
    make: Any = session.client  # typed per service literal; ours is a variable
    return make(service, endpoint_url=endpoint_url)


def _main_client(endpoint_url: str, region: str) -> Any:
    return client(endpoint_url, "apigateway", region)


def _deploy(client: Any, account_id: str, domain: str) -> DemoDeployment:
    api_id, stage = ensure_demo_api(client, domain=domain, account=account_id)
    return DemoDeployment(account_id, client.meta.region_name, api_id, stage, domain)


def partner_admin_client(endpoint_url: str, service: str, region: str = MAIN_REGION) -> Any:
    """A client acting as the partner account's own administrator (moto's account header)."""
    admin = client(endpoint_url, service, region)

    def as_partner(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = PARTNER_ACCOUNT_ID

    admin.meta.events.register("before-sign.*.*", as_partner)
    return admin


def ensure_partner_role(endpoint_url: str) -> None:
    """The partner's ``TollgateAccess`` role with today's trust and access policies."""
    iam = partner_admin_client(endpoint_url, "iam")
    trust = json.dumps(TRUST_POLICY)
    try:
        iam.get_role(RoleName=PARTNER_ROLE_NAME)
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(
            RoleName=PARTNER_ROLE_NAME,
            AssumeRolePolicyDocument=trust,
            Description="Lets Tollgate manage API keys and usage plans in this account",
        )
    else:
        iam.update_assume_role_policy(RoleName=PARTNER_ROLE_NAME, PolicyDocument=trust)
    iam.put_role_policy(
        RoleName=PARTNER_ROLE_NAME,
        PolicyName="TollgateAccess",
        PolicyDocument=json.dumps(ACCESS_POLICY),
    )


def assume_partner_role(endpoint_url: str) -> dict[str, str]:
    """boto3 client keyword arguments for the partner account, from the main account's
    credentials through AssumeRole (what Tollgate's AWS connection does)."""
    sts = client(endpoint_url, "sts")
    credentials = sts.assume_role(
        RoleArn=PARTNER_ROLE_ARN,
        RoleSessionName="tollgate-demo",
        ExternalId=PARTNER_EXTERNAL_ID,
    )["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }
