"""pytest plugin for scripts/moto_suite.py: each test's outcome, by node id, as JSON.

Loaded into the pytest that runs moto's own tests (``-p moto_suite_report``); it writes
``{"node id": "passed" | "failed" | "skipped"}`` to the file named by
``MOTO_SUITE_REPORT`` when the session ends. A test whose setup or teardown fails counts
as failed, as pytest's own summary counts it (an error).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:
        _outcomes[report.nodeid] = "failed"
    elif report.skipped and report.when in ("setup", "call"):
        _outcomes.setdefault(report.nodeid, "skipped")
    elif report.passed and report.when == "call":
        _outcomes.setdefault(report.nodeid, "passed")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    Path(os.environ["MOTO_SUITE_REPORT"]).write_text(json.dumps(_outcomes, indent=1))
