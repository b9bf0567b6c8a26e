"""collect_metrics reads every range from CloudWatch into the cache the ops page reads."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from localaws.testing import LocalAwsControl
from plans.models import ApiStage
from portal.usage.metrics import RANGES, dims, fetch_api_metrics

pytestmark = pytest.mark.integration


def test_it_reads_each_range_once_and_the_page_then_reads_the_cache(
    live_stage: ApiStage, control: LocalAwsControl
) -> None:
    control.clear_calls()
    out = StringIO()
    call_command("collect_metrics", stdout=out)
    assert len(control.calls("GetMetricData")) == len(RANGES)
    assert "24h: read at" in out.getvalue()

    fetched = fetch_api_metrics([dims(live_stage)], RANGES["24h"])
    assert fetched.cached and fetched.error == ""
    assert len(control.calls("GetMetricData")) == len(RANGES)


def test_it_fails_loudly_when_cloudwatch_does_not_answer(
    live_stage: ApiStage, control: LocalAwsControl, capsys: Any
) -> None:
    control.add_fault("GetMetricData", status=500, times=None)
    with pytest.raises(CommandError, match="CloudWatch did not answer"):
        call_command("collect_metrics", "--range", "3h")
