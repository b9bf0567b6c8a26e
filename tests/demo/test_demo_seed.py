"""scripts/demo_seed.py: wait for the local AWS and the web server, seed, print the URL."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localaws.demo_api import ensure_demo_api
from scripts import demo_seed

ROOT = Path(__file__).resolve().parents[2]

SEED_OUTPUT = [
    "Stages: 1 found in AWS",
    "Tier Free created",
    "",
    "Demo logins (password for all: tollgate-demo)",
    "  admin@tollgate.test      Admin",
    "  alice@acme.test          customer, owner of Acme Robotics (Free)",
]


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Failing(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_error(500)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def web_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_it_waits_until_ready() -> None:
    answers = iter([False, False, True])

    demo_seed.wait_until(lambda: next(answers), "the thing", timeout=5, interval=0.01)

    assert next(answers, "done") == "done"


def test_it_gives_up_naming_what_it_waited_for() -> None:
    with pytest.raises(demo_seed.SetupError, match="timed out after 0 s waiting for the web"):
        demo_seed.wait_until(lambda: False, "the web server", timeout=0.2, interval=0.05)


def test_any_http_answer_counts_as_up(web_url: str) -> None:
    assert demo_seed.http_answers(web_url)  # even a 500: the server is listening
    assert not demo_seed.http_answers(f"http://127.0.0.1:{closed_port()}/")


@pytest.mark.integration
def test_the_local_aws_is_ready_once_its_demo_api_is_deployed(apigw: Any) -> None:
    assert not demo_seed.demo_api_ready(apigw)  # a fresh local AWS: no API yet

    ensure_demo_api(apigw)

    assert demo_seed.demo_api_ready(apigw)


def test_an_unreachable_local_aws_is_not_ready() -> None:
    client = demo_seed.apigateway(f"http://127.0.0.1:{closed_port()}")

    assert not demo_seed.demo_api_ready(client)


def test_the_banner_shows_the_url_the_logins_and_the_start_up_time() -> None:
    text = demo_seed.banner("http://127.0.0.1:8350/", SEED_OUTPUT, 12.34, ROOT / "var")

    assert "Tollgate is running: http://127.0.0.1:8350/" in text
    assert "Demo logins (password for all: tollgate-demo)" in text
    assert "alice@acme.test" in text
    assert "Tier Free created" not in text
    assert "Data lives in var/" in text
    assert "Started in 12.3 s.  Ctrl-C stops everything." in text


def test_the_banner_shows_all_of_seed_demos_output_if_it_names_no_logins() -> None:
    lines = demo_seed.login_lines(["Stages: 1 found in AWS", "admin@tollgate.test"])

    assert lines == [
        "Demo logins (output of manage.py seed_demo):",
        "  Stages: 1 found in AWS",
        "  admin@tollgate.test",
    ]


def test_the_banner_shows_a_var_dir_elsewhere_in_full(tmp_path: Path) -> None:
    text = demo_seed.banner("http://127.0.0.1:8350/", SEED_OUTPUT, 1.0, tmp_path)

    assert f"Data lives in {tmp_path}/" in text


def test_it_fails_when_the_local_aws_never_answers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("WEB_PORT", str(closed_port()))
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setattr(demo_seed, "AWS_TIMEOUT", 0.3)

    assert demo_seed.main() == 1
    assert f"demo: error: timed out after 0 s waiting for the demo API at {endpoint}" in (
        capsys.readouterr().err
    )
