"""Fixtures: one in-process local AWS per test session, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import boto3
import pytest
from botocore.config import Config

from localaws.server import LocalAwsServer
from localaws.testing import LocalAwsControl, start_local_aws

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


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAwsServer]:
    server = start_local_aws()
    yield server
    server.stop()


@pytest.fixture
def control(local_aws: LocalAwsServer) -> LocalAwsControl:
    ctl = LocalAwsControl(local_aws.endpoint_url)
    ctl.reset()
    return ctl


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
