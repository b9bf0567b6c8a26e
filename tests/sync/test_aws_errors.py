"""Every botocore failure becomes a retry-or-not decision with words a person can act on."""

from __future__ import annotations

import pytest
from botocore.exceptions import HTTPClientError, NoCredentialsError, ParamValidationError

from portal.aws.errors import aws_errors
from portal.errors import PermanentSyncError, TransientSyncError


def test_missing_credentials_say_what_to_configure() -> None:
    with pytest.raises(PermanentSyncError, match="Give Tollgate credentials"), aws_errors():
        raise NoCredentialsError()


def test_an_invalid_request_is_not_retried() -> None:
    with pytest.raises(PermanentSyncError, match="invalid request"), aws_errors():
        raise ParamValidationError(report="bad")


def test_other_client_failures_are_retried() -> None:
    with pytest.raises(TransientSyncError, match="The AWS client failed"), aws_errors():
        raise HTTPClientError(error="connection reset")
