"""State survives restarts; ``python -m localaws`` starts, serves and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.moto_api._internal.models import moto_api_backend

from localaws.demo_api import DEMO_API_NAME
from localaws.testing import LocalAwsControl, start_local_aws
from tests.localaws.conftest import make_client

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_state_survives_restart(tmp_path: Path, control: LocalAwsControl) -> None:
    state = tmp_path / "state.pickle"
    server = start_local_aws(state_file=state)
    apigw = make_client(server.endpoint_url, "apigateway")
    plan = apigw.create_usage_plan(name="gold")["id"]
    key = apigw.create_api_key(name="customer", value="v" * 40)["id"]
    apigw.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
    server.stop()
    moto_api_backend.reset()  # what a process restart does to moto's memory

    server = start_local_aws(state_file=state)
    try:
        apigw = make_client(server.endpoint_url, "apigateway")
        assert apigw.get_usage_plan(usagePlanId=plan)["name"] == "gold"
        assert apigw.get_api_key(apiKey=key, includeValue=True)["value"] == "v" * 40
        keys = apigw.get_usage_plan_keys(usagePlanId=plan)["items"]
        assert [k["id"] for k in keys] == [key]
    finally:
        server.stop()


def test_foreign_state_file_is_ignored(tmp_path: Path, control: LocalAwsControl) -> None:
    state = tmp_path / "state.pickle"
    state.write_bytes(b"not a pickle")
    server = start_local_aws(state_file=state)
    try:
        apigw = make_client(server.endpoint_url, "apigateway")
        assert apigw.get_api_keys()["items"] == []
    finally:
        server.stop()


class _Cli:
    def __init__(self, state: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "localaws", "--port", "0", "--state", str(state), "--demo-api"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line.startswith("localaws ready on http://127.0.0.1:"), line
        self.endpoint_url = line.removeprefix("localaws ready on ")

    def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=20)


@pytest.fixture
def cli_state(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "cli-state.pickle"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_restart_keeps_demo_api_and_keys(cli_state: Path, sig: int) -> None:
    first = _Cli(cli_state)
    apigw: Any = make_client(first.endpoint_url, "apigateway")
    apis = apigw.get_rest_apis()["items"]
    assert [a["name"] for a in apis] == [DEMO_API_NAME]
    key = apigw.create_api_key(name="survivor")["id"]
    assert first.stop(sig) == 0

    second = _Cli(cli_state)
    try:
        apigw = make_client(second.endpoint_url, "apigateway")
        assert [a["id"] for a in apigw.get_rest_apis()["items"]] == [apis[0]["id"]]
        assert apigw.get_api_key(apiKey=key)["name"] == "survivor"
        assert LocalAwsControl(second.endpoint_url).calls("GetRestApis")
    finally:
        assert second.stop(signal.SIGTERM) == 0
