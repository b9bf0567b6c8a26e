"""Run one of the demo's processes and start it again when it crashes (the Procfile's lines).

    python scripts/respawn.py NAME [--wait-for-redis HOST:PORT] -- COMMAND [ARG ...]

honcho stops every process as soon as one exits, so a worker killed by the OOM killer (or by
someone testing what a dead worker loses) would end the whole demo. This wrapper is the
process honcho watches instead:

* The command exiting non-zero or by a signal is a crash: it is started again after 1 s, then
  2, 4, 8 ... at most 30 s while crashes keep coming, and a line says so ("demo: worker exited
  (signal 9), restarting in 1 s").
* Five crashes within 60 s: it is not going to get better; the wrapper exits with the
  command's code, so honcho stops the demo and its last lines say which process and why.
* The command exiting 0 on its own ends the wrapper with 0 (nothing crashed; honcho then
  stops the demo, as for any process that stops).
* SIGTERM, SIGINT and SIGHUP (as SIGTERM) are passed to the command, and the wrapper exits
  once it has stopped, without restarting it. honcho signals the whole process group, so the
  command may get SIGTERM twice: the demo's programs shut down once either way.
* ``--wait-for-redis``: before each start, wait (at most 60 s) until Redis answers PING there,
  so web, worker and beat never start against a Redis that is still starting or restarting.

Only the standard library is used.
"""

from __future__ import annotations

import argparse
import collections
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
CRASH_LIMIT = 5
CRASH_WINDOW = 60.0
REDIS_WAIT = 60.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)


def describe(returncode: int) -> str:
    if returncode < 0:
        return f"signal {-returncode}"
    return f"exit code {returncode}"


def exit_code(returncode: int) -> int:
    """The shell's convention for a command killed by a signal: 128 + its number."""
    return 128 - returncode if returncode < 0 else returncode


def redis_answers(host: str, port: int) -> bool:
    """True once Redis answers PING with PONG (while it loads its data it answers -LOADING)."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host, int(port)


class Respawner:
    """The loop above; `clock` and `sleep` are the tests' to replace (a fake clock)."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        wait_for_redis: tuple[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.wait_for_redis = wait_for_redis
        self.clock = clock
        self.sleep = sleep
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.crashes: collections.deque[float] = collections.deque()

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            # SIGHUP as SIGTERM: redis-server ignores SIGHUP.
            self.child.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    def pause(self, seconds: float) -> None:
        """Sleep, but return at once when told to stop."""
        deadline = self.clock() + seconds
        while not self.stopping and self.clock() < deadline:
            self.sleep(min(0.1, max(0.0, deadline - self.clock())))

    def redis_ready(self) -> bool:
        if self.wait_for_redis is None:
            return True
        host, port = self.wait_for_redis
        deadline = self.clock() + REDIS_WAIT
        while not redis_answers(host, port):
            if self.stopping:
                return False
            if self.clock() > deadline:
                say(f"{self.name}: Redis did not answer on {host}:{port} within {REDIS_WAIT:.0f} s")
                return False
            self.pause(0.2)
        return True

    def delay(self) -> float:
        """Seconds before the next start, doubling with each crash still within the window."""
        return min(MAX_DELAY, FIRST_DELAY * 2 ** (len(self.crashes) - 1))

    def run(self) -> int:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self.on_signal)
        while True:
            if not self.redis_ready():
                return 0 if self.stopping else 1
            if self.stopping:
                return 0
            self.child = subprocess.Popen(self.command)
            if self.stopping:  # a signal came while it was starting: pass it on now
                self.child.terminate()
            returncode = self.child.wait()
            if self.stopping:
                return exit_code(returncode) if returncode > 0 else 0
            if returncode == 0:
                say(f"{self.name} exited on its own (exit code 0), not restarting it")
                return 0
            now = self.clock()
            self.crashes.append(now)
            while self.crashes and self.crashes[0] < now - CRASH_WINDOW:
                self.crashes.popleft()
            if len(self.crashes) >= CRASH_LIMIT:
                say(
                    f"{self.name} exited ({describe(returncode)}) {len(self.crashes)} times "
                    f"within {CRASH_WINDOW:.0f} s: giving up, which stops the demo"
                )
                return exit_code(returncode)
            delay = self.delay()
            say(f"{self.name} exited ({describe(returncode)}), restarting in {delay:g} s")
            self.pause(delay)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--" not in args:
        print(__doc__, file=sys.stderr)
        return 2
    split = args.index("--")
    parser = argparse.ArgumentParser(prog="respawn.py")
    parser.add_argument("name")
    parser.add_argument("--wait-for-redis", type=parse_address, metavar="HOST:PORT")
    options = parser.parse_args(args[:split])
    command = args[split + 1 :]
    if not command:
        parser.error("no command after --")
    return Respawner(options.name, command, wait_for_redis=options.wait_for_redis).run()


if __name__ == "__main__":
    sys.exit(main())
