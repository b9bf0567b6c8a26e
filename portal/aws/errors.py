from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ReadTimeoutError,
)

from portal.errors import AnswerLost, PermanentSyncError, TransientSyncError

# Retrying these later can succeed without anyone changing anything.
TRANSIENT_CODES = {
    "TooManyRequestsException",
    "LimitExceededException",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServerError",
    "RequestTimeout",
    "Throttling",
    "ThrottlingException",
}

FRIENDLY = {
    "BadRequestException": "API Gateway rejected the request",
    "NotFoundException": "API Gateway has no such object",
    "ConflictException": "API Gateway reported a conflict",
    "UnauthorizedException": "The AWS credentials were refused",
    "AccessDeniedException": "The AWS credentials lack permission",
    "TooManyRequestsException": "API Gateway throttled the request",
}


class AwsNotFound(PermanentSyncError):
    pass


class AwsAccessDenied(PermanentSyncError):
    """The credentials may not make this call (IAM): a reader can do without what it tells."""


def describe(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    code = error.get("Code", "Unknown")
    message = error.get("Message") or ""
    operation = exc.operation_name
    lead = FRIENDLY.get(code, f"AWS answered {code}")
    return f"{lead} ({operation}): {message}".rstrip(": ")


@contextmanager
def aws_errors() -> Iterator[None]:
    """Translate botocore failures into retry-or-not decisions with messages people can act on."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in TRANSIENT_CODES or status >= 500 or status == 429:
            raise TransientSyncError(describe(exc)) from exc
        if code == "NotFoundException" or status == 404:
            raise AwsNotFound(describe(exc)) from exc
        # IAM refusals come as AccessDeniedException; the API reference lists Unauthorized too.
        if code in ("AccessDeniedException", "UnauthorizedException"):
            raise AwsAccessDenied(describe(exc)) from exc
        raise PermanentSyncError(describe(exc)) from exc
    except (ReadTimeoutError, ConnectionClosedError) as exc:
        raise AnswerLost(f"AWS did not answer in time: {exc}") from exc
    except (EndpointConnectionError, ConnectTimeoutError) as exc:
        raise TransientSyncError(f"Could not reach AWS: {exc}") from exc
    except (NoCredentialsError, NoRegionError) as exc:
        raise PermanentSyncError(
            f"AWS is not configured: {exc}. Give Tollgate credentials (an instance or task role, "
            "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION."
        ) from exc
    except ParamValidationError as exc:
        raise PermanentSyncError(f"Tollgate sent AWS an invalid request: {exc}") from exc
    except BotoCoreError as exc:
        raise TransientSyncError(f"The AWS client failed: {exc}") from exc
