"""The demo's last set-up step: the Procfile's beat line runs it before Celery beat.

It waits for the local AWS server's demo API and for the web server, runs ``manage.py
seed_demo`` (idempotent; on the first start it also simulates 30 days of traffic), then prints
the URL, the demo logins and how long start-up took. A failure exits non-zero, so honcho stops
the demo; a second start finds everything in var/ and only prints.

Environment (set by scripts/start_demo.py): WEB_PORT, AWS_ENDPOINT_URL, TOLLGATE_VAR_DIR and
DEMO_STARTED_AT (when ``make demo`` started, in seconds since the epoch).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from localaws.demo_api import DEMO_API_NAME, DEMO_STAGE

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient

ROOT = Path(__file__).resolve().parent.parent
AWS_TIMEOUT = 60.0
WEB_TIMEOUT = 60.0


class SetupError(Exception):
    """The demo cannot be set up: print this and exit non-zero."""


def wait_until(ready: Callable[[], bool], what: str, timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SetupError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_answers(url: str) -> bool:
    """True once anything answers HTTP at url (any status code counts)."""
    try:
        with _NO_PROXY.open(url, timeout=2.0):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def apigateway(endpoint_url: str) -> APIGatewayClient:
    return boto3.client(
        "apigateway",
        endpoint_url=endpoint_url,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        config=Config(connect_timeout=1, read_timeout=5, retries={"total_max_attempts": 1}),
    )


def demo_api_ready(client: APIGatewayClient) -> bool:
    """True once the local AWS server answers and its demo API has its stage deployed."""
    try:
        apis = client.get_rest_apis(limit=500)["items"]
        for api in apis:
            if api["name"] == DEMO_API_NAME:
                stages = client.get_stages(restApiId=api["id"])["item"]
                return any(stage["stageName"] == DEMO_STAGE for stage in stages)
    except (BotoCoreError, ClientError):
        pass
    return False


def seed() -> list[str]:
    """Run ``manage.py seed_demo``, showing its output as it comes; return its lines."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "seed_demo"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line.rstrip("\n"))
    if proc.wait() != 0:
        raise SetupError(f"`manage.py seed_demo` failed with exit code {proc.returncode}")
    return lines


def login_lines(seed_lines: Sequence[str]) -> list[str]:
    """seed_demo's output from its first line that mentions logins on (all of it if none does)."""
    lines = [text.rstrip() for text in seed_lines if text.strip()]
    for index, text in enumerate(lines):
        if "login" in text.lower():
            return lines[index:]
    return ["Demo logins (output of manage.py seed_demo):", *(f"  {text}" for text in lines)]


def banner(url: str, seed_lines: Sequence[str], seconds: float, var_dir: Path) -> str:
    shown = var_dir.relative_to(ROOT) if var_dir.is_relative_to(ROOT) else var_dir
    rule = "=" * 72
    body = [
        rule,
        f"  Tollgate is running: {url}",
        "",
        *(f"  {text}" for text in login_lines(seed_lines)),
        "",
        f"  Data lives in {shown}/ (SQLite database, Redis data, local AWS state).",
        f"  Started in {seconds:.1f} s.  Ctrl-C stops everything.",
        rule,
    ]
    return "\n".join(body)


def main() -> int:
    web_url = f"http://127.0.0.1:{os.environ['WEB_PORT']}/"
    aws_url = os.environ["AWS_ENDPOINT_URL"]
    try:
        client = apigateway(aws_url)
        wait_until(lambda: demo_api_ready(client), f"the demo API at {aws_url}", AWS_TIMEOUT)
        wait_until(lambda: http_answers(web_url), f"the web server at {web_url}", WEB_TIMEOUT)
        seed_lines = seed()
    except SetupError as exc:
        print(f"demo: error: {exc}", file=sys.stderr, flush=True)
        return 1
    seconds = time.time() - float(os.environ["DEMO_STARTED_AT"])
    var_dir = Path(os.environ["TOLLGATE_VAR_DIR"])
    print(banner(web_url, seed_lines, seconds, var_dir), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
