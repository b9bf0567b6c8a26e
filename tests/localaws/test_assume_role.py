"""STS AssumeRole refuses as AWS does: a missing role, a trust policy that does not name the
caller's account, or a missing or wrong external id is 403 AccessDenied."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws.demo_estate import (
    PARTNER_ACCOUNT_ID,
    PARTNER_EXTERNAL_ID,
    PARTNER_ROLE_ARN,
    client,
    ensure_partner_role,
    partner_admin_client,
)
from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl

pytestmark = pytest.mark.integration

CALLER = "arn:aws:sts::123456789012:user/moto"


@pytest.fixture
def sts(local_aws: LocalAwsServer, control: LocalAwsControl) -> Any:
    ensure_partner_role(local_aws.endpoint_url)
    return client(local_aws.endpoint_url, "sts")


def denied(sts: Any, role_arn: str, **extra: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="tollgate", **extra)
    error = dict(caught.value.response["Error"])
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return error


def test_the_right_external_id_assumes_the_role(sts: Any) -> None:
    result = sts.assume_role(
        RoleArn=PARTNER_ROLE_ARN, RoleSessionName="tollgate", ExternalId=PARTNER_EXTERNAL_ID
    )

    assert result["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{PARTNER_ACCOUNT_ID}:assumed-role/TollgateAccess/tollgate"
    )
    assert result["Credentials"]["AccessKeyId"]


@pytest.mark.parametrize("extra", [{}, {"ExternalId": "someone-else"}])
def test_a_missing_or_wrong_external_id_is_access_denied(sts: Any, extra: dict[str, str]) -> None:
    error = denied(sts, PARTNER_ROLE_ARN, **extra)

    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        f"User: {CALLER} is not authorized to perform: sts:AssumeRole on resource: "
        f"{PARTNER_ROLE_ARN}"
    )


def test_a_role_missing_from_the_account_is_access_denied(sts: Any) -> None:
    # The role exists, but in the partner account, not in 333333333333.
    for arn in (
        f"arn:aws:iam::{PARTNER_ACCOUNT_ID}:role/NoSuchRole",
        "arn:aws:iam::333333333333:role/TollgateAccess",
    ):
        assert denied(sts, arn, ExternalId=PARTNER_EXTERNAL_ID)["Code"] == "AccessDenied"


def test_the_trust_policy_must_name_the_callers_account(
    local_aws: LocalAwsServer, sts: Any
) -> None:
    iam = partner_admin_client(local_aws.endpoint_url, "iam")
    for name, principal in (("OtherTrust", "arn:aws:iam::999999999999:root"), ("Anyone", "*")):
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": principal},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
    other = f"arn:aws:iam::{PARTNER_ACCOUNT_ID}:role/OtherTrust"
    assert denied(sts, other)["Code"] == "AccessDenied"
    anyone = f"arn:aws:iam::{PARTNER_ACCOUNT_ID}:role/Anyone"
    assert sts.assume_role(RoleArn=anyone, RoleSessionName="tollgate")["Credentials"]


def test_sts_calls_are_journaled_and_take_faults(sts: Any, control: LocalAwsControl) -> None:
    control.clear_calls()
    control.add_fault("AssumeRole", status=400, code="RegionDisabledException", message="off")

    with pytest.raises(ClientError) as caught:
        sts.assume_role(
            RoleArn=PARTNER_ROLE_ARN, RoleSessionName="tollgate", ExternalId=PARTNER_EXTERNAL_ID
        )
    assert caught.value.response["Error"]["Code"] == "RegionDisabledException"
    sts.get_caller_identity()

    calls = [(c["service"], c["operation"], c["status"]) for c in control.calls()]
    assert calls == [("sts", "AssumeRole", 400), ("sts", "GetCallerIdentity", 200)]
