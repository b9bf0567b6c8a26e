"""Clients for the local AWS tests (the server and its reset come from tests/conftest.py)."""

from __future__ import annotations

from typing import Any, Literal

import boto3
import pytest
from botocore.config import Config

from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl

REGION = "us-east-1"


def make_client(
    endpoint_url: str, service: Literal["apigateway", "cloudwatch"], **config: Any
) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**config) if config else None,
    )


@pytest.fixture
def apigw(local_aws: LocalAwsServer, control: LocalAwsControl) -> Any:
    return make_client(local_aws.endpoint_url, "apigateway")


@pytest.fixture
def apigw_no_retry(local_aws: LocalAwsServer, control: LocalAwsControl) -> Any:
    """A client that surfaces the first error instead of retrying it."""
    return make_client(local_aws.endpoint_url, "apigateway", retries={"total_max_attempts": 1})


@pytest.fixture
def cloudwatch(local_aws: LocalAwsServer, control: LocalAwsControl) -> Any:
    return make_client(local_aws.endpoint_url, "cloudwatch", retries={"total_max_attempts": 1})
