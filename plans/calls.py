"""The one call a ready-made example makes (the key page's `curl` line): one of the stage's
key-protected operations as the catalog recorded them (`ApiStage.key_operations`), never the
stage root, which is none of the API's operations.

Pure functions, no query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

from plans.models import ApiStage

_PATH_PARAMETER = re.compile(r"\{([^}]+)\}")
# A GET first (safe to try, no body to make up); a DELETE last: an example must not destroy.
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "OPTIONS", "TRACE", "DELETE")


@dataclass(frozen=True)
class SampleCall:
    method: str  # "GET"
    url: str  # the full URL, placeholders in capitals: ".../prod/forecast/CITY"
    operation: str  # as the catalog recorded it, "GET /forecast/{city}"; "" for the stage root

    @property
    def documented(self) -> bool:
        """False: no key-protected operation is known (yet), so the call is the stage root."""
        return bool(self.operation)


def stage_url(stage: ApiStage) -> str:
    """The stage's public base URL, the one every page and the REST API show: its custom domain
    where discovery found one (what sellers publish; TOLLGATE["CUSTOM_DOMAIN_URL"] makes the
    URL, "https://{domain}" unless a proxy or port stands in front), else the execute-api URL
    API Gateway gives every stage. An exported document's `servers` never wins: AWS's export
    names the execute-api host whatever domains map the stage."""
    if stage.custom_domain:
        template = str(settings.TOLLGATE["CUSTOM_DOMAIN_URL"])
        base = template.replace("{domain}", stage.custom_domain).rstrip("/")
        return f"{base}/{stage.custom_domain_path}" if stage.custom_domain_path else base
    region = stage.region or settings.AWS_REGION
    return f"https://{stage.rest_api_id}.execute-api.{region}.amazonaws.com/{stage.stage_name}"


def _preference(operation: str) -> tuple[int, bool, bool, int, str]:
    method, _, target = operation.partition(" ")
    path, _, query = target.partition("?")
    return (
        _METHOD_ORDER.index(method) if method in _METHOD_ORDER else len(_METHOD_ORDER),
        "{" in path,  # then one without path parameters
        bool(query),  # and without required query parameters
        path.count("/"),  # the shortest
        operation,  # and, all else equal, in order
    )


def choose_operation(key_operations: list[str] | None) -> str | None:
    """The operation examples call: a GET without path parameters where there is one."""
    found = [str(op) for op in key_operations or [] if " /" in str(op)]
    return min(found, key=_preference) if found else None


def _placeholder(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).upper() or "VALUE"


def sample_call(stage: ApiStage) -> SampleCall:
    """The call for `stage`: its chosen key-protected operation with placeholders filled in
    ("{city}" → "CITY"), else the stage root (`documented` is then False: say so)."""
    base = stage_url(stage)
    operation = choose_operation(stage.key_operations)
    if operation is None:
        return SampleCall("GET", f"{base}/", "")
    method, _, target = operation.partition(" ")
    target = _PATH_PARAMETER.sub(lambda match: _placeholder(match.group(1)), target)
    return SampleCall(method, f"{base}{target}", operation)


def sample_call_among(stages: list[ApiStage]) -> SampleCall | None:
    """The first stage's call that is documented, else the first stage's root; None without
    any stage."""
    calls = [sample_call(stage) for stage in stages]
    return next((call for call in calls if call.documented), calls[0] if calls else None)
