"""`POST keys/leaked`: a secret scanner reports API key values it found (keys.leaks acts on them).

Only a leak-report token (scope "leaks", which admins create and which can do nothing else) is
taken here (portal.rest.permissions), at its own rate (`leak_reports`). The answer is the same
202 whatever matched, and takes at least TOLLGATE_LEAK_REPORT_ANSWER_SECONDS, so neither its
body nor its timing tells which values are keys.
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from keys.leaks import MAX_VALUE_LENGTH, MAX_VALUES, keys_report_leaked
from portal.rest.permissions import ANYONE
from portal.rest.throttling import PerUserThrottle
from portal.rest.viewsets import request_ip

# The answer's floor; settings.TOLLGATE["LEAK_REPORT_ANSWER_SECONDS"] overrides it (the tests).
ANSWER_SECONDS = float(os.environ.get("TOLLGATE_LEAK_REPORT_ANSWER_SECONDS", "1"))


class LeakReportThrottle(PerUserThrottle):
    """REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["leak_reports"] (TOLLGATE_LEAK_REPORT_RATE)."""

    scope = "leak_reports"


class LeakReportSerializer(serializers.Serializer[Any]):
    values = serializers.ListField(
        child=serializers.CharField(max_length=MAX_VALUE_LENGTH, trim_whitespace=False),
        min_length=1,
        max_length=MAX_VALUES,
        help_text=f"The values found, 1 to {MAX_VALUES}, each at most {MAX_VALUE_LENGTH} "
        "characters.",
    )

    def validate_values(self, values: list[str]) -> list[str]:
        raw = self.initial_data.get("values") if isinstance(self.initial_data, dict) else None
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise serializers.ValidationError("Send the values as a list of strings.")
        return values


class LeakReportReceivedSerializer(serializers.Serializer[Any]):
    received = serializers.IntegerField(help_text="How many values the report held.")


class LeakReportView(APIView):
    audience = ANYONE  # the permission class lets only a leak-report token in (`leak_report`)
    leak_report = True
    throttle_classes = [PerUserThrottle, LeakReportThrottle]

    @extend_schema(
        summary="Report leaked API keys (leak-report token only)",
        description="For a secret scanner: the values it found that may be Tollgate's API keys "
        "(`tgk` and 38 letters and digits, or any key imported into Tollgate). Each value that "
        "is a live key's secret (matched by SHA-256) gets its organisation's leak response: the "
        "key is disabled, or rolled, its owners are emailed and the audit log records it. "
        "Values whose checksum does not add up are skipped. The answer is the same 202 whether "
        "or not anything matched; no value is stored or logged. Needs a token of scope "
        "`leaks`, which Tollgate admins create on their tokens page; such a token can do "
        "nothing else.",
        request=LeakReportSerializer,
        responses={
            202: OpenApiResponse(
                LeakReportReceivedSerializer,
                examples=[OpenApiExample("Received", value={"received": 2})],
            )
        },
    )
    def post(self, request: Request) -> Response:
        started = time.monotonic()
        serializer = LeakReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        received = keys_report_leaked(
            reporter=request.user,
            values=serializer.validated_data["values"],
            ip=request_ip(request),
        )
        floor = float(settings.TOLLGATE.get("LEAK_REPORT_ANSWER_SECONDS", ANSWER_SECONDS))
        time.sleep(max(0.0, floor - (time.monotonic() - started)))
        return Response({"received": received}, status=202)
