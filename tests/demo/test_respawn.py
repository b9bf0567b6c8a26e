"""scripts/respawn.py: the demo's processes start again after a crash, give up after a few."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import respawn
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = [sys.executable, str(ROOT / "scripts" / "respawn.py")]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


@pytest.fixture
def own_signal_handlers() -> Iterator[None]:
    """Respawner.run installs handlers (it is the whole program): undo that."""
    saved = {sig: signal.getsignal(sig) for sig in respawn.STOP_SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_child_that_keeps_crashing_is_restarted_with_backoff_then_given_up_on(
    own_signal_handlers: None, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    crashing = [sys.executable, "-c", "import sys; sys.exit(3)"]

    code = respawn.Respawner("worker", crashing, clock=clock, sleep=clock.sleep).run()

    lines = capsys.readouterr().out.splitlines()
    assert code == 3  # honcho shows it: "worker.1 stopped (rc=3)"
    assert lines == [
        "demo: worker exited (exit code 3), restarting in 1 s",
        "demo: worker exited (exit code 3), restarting in 2 s",
        "demo: worker exited (exit code 3), restarting in 4 s",
        "demo: worker exited (exit code 3), restarting in 8 s",
        "demo: worker exited (exit code 3) 5 times within 60 s: giving up, which stops the demo",
    ]
    assert clock.slept == pytest.approx(15)


def test_the_backoff_doubles_up_to_30_s() -> None:
    wrapper = respawn.Respawner("worker", ["true"])
    wrapper.crashes.extend([0.0] * 7)
    assert wrapper.delay() == 30

    wrapper.crashes.clear()
    wrapper.crashes.append(0.0)
    assert wrapper.delay() == 1


def test_a_child_that_exits_cleanly_is_not_restarted(
    own_signal_handlers: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = respawn.Respawner("web", [sys.executable, "-c", "pass"]).run()

    assert code == 0
    assert "web exited on its own (exit code 0), not restarting it" in capsys.readouterr().out


@pytest.mark.integration
def test_a_killed_child_is_started_again_and_sigterm_stops_both(tmp_path: Path) -> None:
    """The real thing, as honcho runs it: SIGKILL the child, then SIGTERM the wrapper."""
    pids = tmp_path / "pids"
    child = (
        "import os, sys, time; from pathlib import Path; p = Path(sys.argv[1]); "
        "p.open('a').write(f'{os.getpid()}\\n'); time.sleep(60)"
    )
    wrapper = subprocess.Popen(
        [*WRAPPER, "worker", "--", sys.executable, "-c", child, str(pids)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started: list[int] = []
    try:
        wait_until(lambda: pids.exists() and pids.read_text().count("\n") == 1, 20, "a child")
        first = int(pids.read_text().split()[0])
        started.append(first)
        os.kill(first, signal.SIGKILL)
        killed = time.monotonic()
        wait_until(lambda: pids.read_text().count("\n") == 2, 20, "the child to be restarted")
        restarted_after = time.monotonic() - killed
        second = int(pids.read_text().split()[1])
        started.append(second)

        wrapper.send_signal(signal.SIGTERM)
        wrapper.wait(20)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    output = wrapper.stdout.read() if wrapper.stdout else ""

    assert "demo: worker exited (signal 9), restarting in 1 s" in output
    assert 1 <= restarted_after < 5
    assert wrapper.returncode == 0, output
    assert not alive(second)  # the SIGTERM reached it: no orphan keeps a port


def test_it_waits_for_redis_before_starting_the_child(own_signal_handlers: None) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens: Redis never answers
    clock = FakeClock()
    wrapper = respawn.Respawner(
        "web",
        [sys.executable, "-c", "raise SystemExit('must not start')"],
        wait_for_redis=("127.0.0.1", port),
        clock=clock,
        sleep=clock.sleep,
    )

    assert wrapper.run() == 1
    assert clock.slept >= respawn.REDIS_WAIT


def test_it_needs_a_name_and_a_command() -> None:
    assert respawn.main(["worker"]) == 2
    with pytest.raises(SystemExit):
        respawn.main(["worker", "--"])
    assert respawn.parse_address("127.0.0.1:6390") == ("127.0.0.1", 6390)
