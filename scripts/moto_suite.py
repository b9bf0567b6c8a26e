"""Run moto's own API Gateway and CloudWatch test suites against localaws (part of make test).

Moto's sdist ships its tests; with ``TEST_SERVER_MODE=true`` they talk to any server at
``TEST_SERVER_MODE_ENDPOINT`` instead of mocking in-process. Running them against localaws
(moto wrapped in our strictness layer) shows every place where we answer differently from
moto: each one must be an AWS behaviour localaws follows on purpose, listed with its source
in tests/localaws/moto_suite_expected.toml. This script

1. downloads the sdist of the moto version installed here (``pip download``, PyPI only) and
   keeps its tests in .venv/moto-sdist/ (git-ignored), so the next run downloads nothing;
2. starts a LocalAwsServer on a free port (``--against-moto``: plain moto's server instead,
   for the baseline) and runs the two suites with pytest in a subprocess;
3. prints the figures and fails (exit 1) when a test outside the list fails, or when a
   listed test passes or no longer exists (a stale entry: delete it).

``python scripts/moto_suite.py [--against-moto]``; exit 2 means the suites could not run.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from localaws.server import LocalAwsServer

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
EXPECTED_FILE = ROOT / "tests" / "localaws" / "moto_suite_expected.toml"
CACHE = ROOT / ".venv" / "moto-sdist"
SUITES = ("apigateway", "cloudwatch")
# What the suites need from the sdist: their folders, the shared test helpers, and the
# pytest settings (markers, warning filters) in moto's pyproject.toml.
_SHARED = ("pyproject.toml", "tests/__init__.py", "tests/conftest.py", "tests/markers.py")
_OUTCOMES = ("fails", "flaky", "passes")
# Longer than any of these tests takes; a hung one fails instead of stalling make test.
_TEST_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Difference:
    """One moto test that fails against localaws on purpose."""

    test: str
    aws: str
    source: str
    localaws: str = "fails"  # or "flaky": the outcome depends on chance (e.g. random ids)
    moto: str = "passes"  # how it fares against plain moto


def load_expected(path: Path = EXPECTED_FILE) -> dict[str, Difference]:
    entries = tomllib.loads(path.read_text()).get("difference", [])
    found: dict[str, Difference] = {}
    for entry in entries:
        difference = Difference(**entry)
        if not difference.aws.strip() or not difference.source.strip():
            raise ValueError(f"{path}: {difference.test} needs 'aws' and 'source'")
        if difference.localaws not in _OUTCOMES[:2] or difference.moto not in _OUTCOMES:
            raise ValueError(f"{path}: {difference.test} has an unknown outcome")
        if difference.test in found:
            raise ValueError(f"{path}: {difference.test} is listed twice")
        found[difference.test] = difference
    return found


# --- moto's tests, from its sdist ---------------------------------------------------------------


def _wanted(name: str) -> bool:
    return name in _SHARED or any(name.startswith(f"tests/test_{s}/") for s in SUITES)


def moto_tests(version: str) -> Path:
    """The folder holding moto ``version``'s tests (downloaded once, then cached)."""
    target = CACHE / f"moto-{version}"
    if (target / "tests").is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as staging:
        print(f"moto_suite: downloading the sdist of moto {version} from PyPI", flush=True)
        subprocess.run(
            [
                sys.executable,
                *("-m", "pip", "download", "--quiet", "--disable-pip-version-check"),
                *("--no-deps", "--no-binary", ":all:", "--dest", staging, f"moto=={version}"),
            ],
            check=True,
        )
        (archive,) = Path(staging).glob("moto-*.tar.gz")
        prefix = f"moto-{version}/"
        with tarfile.open(archive) as sdist:
            members = [
                m
                for m in sdist.getmembers()
                if m.name.startswith(prefix) and _wanted(m.name.removeprefix(prefix))
            ]
            sdist.extractall(staging, members=members, filter="data")
        # Moved in whole once complete, so an interrupted download leaves no half cache.
        os.replace(Path(staging) / f"moto-{version}", target)
    return target


# --- the servers the tests talk to --------------------------------------------------------------


@contextmanager
def localaws_endpoint() -> Iterator[str]:
    server = LocalAwsServer("127.0.0.1", 0)
    server.start()
    try:
        yield server.endpoint_url
    finally:
        server.stop()


class _QuietHandler(MotoRequestHandler):
    """Moto's handler without a log line per request (the suites make thousands)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


@contextmanager
def moto_endpoint() -> Iterator[str]:
    """Plain moto, served as its ThreadedMotoServer serves it, on a free port."""
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- running and judging ------------------------------------------------------------------------


def run_suites(tests_root: Path, endpoint: str) -> tuple[dict[str, str], str, int]:
    """(outcome by node id, pytest's output, pytest's exit code)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "MOTO_", "TEST_SERVER_MODE", "DJANGO_", "PYTEST_"))
    }
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "outcomes.json"
        env |= {
            "TEST_SERVER_MODE": "true",
            "TEST_SERVER_MODE_ENDPOINT": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "MOTO_SUITE_REPORT": str(report),
            "PYTHONPATH": str(SCRIPTS),  # for the moto_suite_report plugin
        }
        command = [
            sys.executable,
            *("-m", "pytest", *(f"tests/test_{suite}" for suite in SUITES)),
            *("-p", "moto_suite_report", "-p", "no:cacheprovider", "-p", "no:django"),
            *("-o", "addopts=", "-o", f"timeout={_TEST_TIMEOUT_SECONDS}"),
            *("-q", "--color=no", "--tb=short", "-rfE"),
        ]
        done = subprocess.run(
            command, cwd=tests_root, env=env, capture_output=True, text=True, check=False
        )
        outcomes = json.loads(report.read_text()) if report.exists() else {}
    return outcomes, done.stdout + done.stderr, done.returncode


@dataclass
class Verdict:
    figures: dict[str, Counter[str]]
    unexpected: list[str]
    stale: list[str]


def judge(outcomes: dict[str, str], expected: dict[str, Difference], against: str) -> Verdict:
    """Compare outcomes with the list; ``against`` is "localaws" or "moto"."""
    figures: dict[str, Counter[str]] = {suite: Counter() for suite in SUITES}
    unexpected: list[str] = []
    stale: list[str] = []
    for test, outcome in sorted(outcomes.items()):
        listed = expected.get(test)
        wanted = "passes" if listed is None else getattr(listed, against)
        suite = next((s for s in SUITES if test.startswith(f"tests/test_{s}/")), SUITES[0])
        figures[suite]["total"] += 1
        if outcome == "skipped":
            figures[suite]["skipped"] += 1
            if wanted == "fails":
                stale.append(f"{test} (listed, but skipped)")
        elif outcome == "passed":
            figures[suite]["passed"] += 1
            if wanted == "fails":
                stale.append(f"{test} (listed, but passes)")
        elif wanted == "passes":
            unexpected.append(test)
        else:
            figures[suite]["expected"] += 1
    for test, listed in sorted(expected.items()):
        if test not in outcomes and getattr(listed, against) != "passes":
            stale.append(f"{test} (listed, but not in moto's suite)")
    return Verdict(figures, unexpected, stale)


def figures_line(verdict: Verdict) -> str:
    parts = []
    for suite, counts in verdict.figures.items():
        text = f"{suite}: {counts['passed']} passed, {counts['expected']} expected differences"
        if counts["skipped"]:
            text += f", {counts['skipped']} skipped"
        if verdict.unexpected:
            failed = sum(t.startswith(f"tests/test_{suite}/") for t in verdict.unexpected)
            text += f", {failed} unexpected failures"
        parts.append(f"{text} of {counts['total']}")
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/moto_suite.py", description=__doc__)
    parser.add_argument(
        "--against-moto", action="store_true", help="run against plain moto (the baseline)"
    )
    args = parser.parse_args(argv)
    against = "moto" if args.against_moto else "localaws"
    # The suites feed the server CloudFormation resources moto does not support, on purpose;
    # its warnings (from the server threads in this process) would bury the figures.
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"moto\.")
    version = importlib.metadata.version("moto")
    expected = load_expected()
    started = time.monotonic()
    try:
        tests_root = moto_tests(version)
    except (subprocess.CalledProcessError, ValueError, OSError, tarfile.TarError) as exc:
        print(f"moto_suite: could not get moto {version}'s tests: {exc}", file=sys.stderr)
        return 2
    endpoint = moto_endpoint if args.against_moto else localaws_endpoint
    with endpoint() as url:
        outcomes, output, code = run_suites(tests_root, url)
    seconds = time.monotonic() - started
    if code not in (0, 1) or not outcomes:
        # Not a verdict on any test: pytest itself failed (usage error, nothing collected).
        print(output, file=sys.stderr)
        print(f"moto_suite: pytest could not run moto's tests (exit {code})", file=sys.stderr)
        return 2
    verdict = judge(outcomes, expected, against)
    if verdict.unexpected:
        print(output)
    print(
        f"moto {version} test suites against {against}: {figures_line(verdict)} ({seconds:.0f} s)"
    )
    for test in verdict.unexpected:
        print(f"moto_suite: unexpected failure: {test}", file=sys.stderr)
    for entry in verdict.stale:
        print(f"moto_suite: stale entry in {EXPECTED_FILE.relative_to(ROOT)}: {entry}")
    if verdict.unexpected:
        print(
            "moto_suite: fix localaws, or list the test in "
            f"{EXPECTED_FILE.relative_to(ROOT)} with the AWS behaviour it follows",
            file=sys.stderr,
        )
    return 1 if verdict.unexpected or verdict.stale else 0


if __name__ == "__main__":
    sys.exit(main())
