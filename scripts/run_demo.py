"""Run the whole Tollgate demo in the foreground: ``make demo`` calls this script.

It starts, as real child processes each in its own process group, the local AWS server
(``python -m localaws``), the Django web server, a Celery worker and Celery beat; it migrates the
SQLite database under var/, seeds the demo data and prints the URL and the demo logins.
Ctrl-C (or SIGTERM) stops every child and exits 0; if a child dies on its own, the others are
stopped and the script exits non-zero, naming the child and its exit code.

Only the standard library is used, so the script runs before anything else is set up.

Environment: PORT (web, default 8000), LOCALAWS_PORT (default 5000), NO_COLOR, and whatever
Tollgate's settings read (DATABASE_URL and CELERY_BROKER_URL stay unset unless you set them, so
the embedded defaults apply: SQLite in var/ and a filesystem broker in var/broker/).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, TextIO

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MANAGE = str(ROOT / "manage.py")

STOP_GRACE_SECONDS = 10.0
LOCALAWS_TIMEOUT = 60.0
WEB_TIMEOUT = 60.0
WORKER_TIMEOUT = 90.0
STEP_TIMEOUT = 300.0

COLOURS = {
    "aws": "35",  # magenta
    "web": "32",  # green
    "worker": "33",  # yellow
    "beat": "36",  # cyan
    "setup": "34",  # blue
    "seed": "34",
    "demo": "1",  # bold
}
TAG_WIDTH = max(len(name) for name in COLOURS) + 2

LOCALAWS_READY = re.compile(r"localaws ready on http://")
WORKER_READY = re.compile(r"celery@\S+ ready\.")


class DemoError(Exception):
    """A start-up step failed: stop everything and exit non-zero with this message."""


class Shutdown(Exception):  # noqa: N818 - a signal, not an error
    """Ctrl-C or SIGTERM: stop everything and exit 0."""


class ChildDied(DemoError):
    def __init__(self, name: str, returncode: int) -> None:
        super().__init__(f"{name} exited unexpectedly with exit code {returncode}")
        self.name = name
        self.returncode = returncode


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


class Console:
    """Writes whole lines from many threads, each prefixed with a (coloured) tag."""

    def __init__(self, stream: TextIO = sys.stdout) -> None:
        self.stream = stream
        self.colour = use_colour(stream)
        self.lock = threading.Lock()
        self.broken = False

    def tag(self, name: str) -> str:
        label = f"[{name}]".ljust(TAG_WIDTH)
        if not self.colour:
            return label
        return f"\033[{COLOURS.get(name, '0')}m{label}\033[0m"

    def line(self, name: str, text: str) -> None:
        self.block(f"{self.tag(name)} {text}\n")

    def block(self, text: str) -> None:
        with self.lock:
            if self.broken:
                return
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):
                # The terminal or pipe went away (e.g. `make demo | tee` interrupted): keep
                # draining the children's output and stopping them, just print nothing more.
                self.broken = True


class Child:
    """A long-running child process in its own process group, its output tagged line by line."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        console: Console,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.console = console
        self.on_line = on_line
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: grandchildren are signalled too
        )
        self.pgid = self.proc.pid  # the session leader's pid is its group id
        assert self.proc.stdout is not None
        self.reader = threading.Thread(
            target=self._pump, args=(self.proc.stdout,), name=f"pump-{name}", daemon=True
        )
        self.reader.start()

    def _pump(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self.console.line(self.name, text)
            if self.on_line is not None:
                self.on_line(text)
        stream.close()

    def poll(self) -> int | None:
        return self.proc.poll()

    def signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)

    def group_alive(self) -> bool:
        """True while the child, or anything left in its process group, still runs."""
        if self.proc.poll() is None:
            return True
        try:
            os.killpg(self.pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True


class Supervisor:
    def __init__(self, env: dict[str, str], console: Console) -> None:
        self.env = env
        self.console = console
        self.children: list[Child] = []
        self.stopping = False
        self.force = False

    # --- signals -------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            # A second Ctrl-C while stopping: do not wait for the grace period.
            self.force = True
            return
        self.stopping = True
        raise Shutdown(signal.Signals(signum).name)

    # --- children ------------------------------------------------------------------------
    def start(
        self, name: str, argv: Sequence[str], on_line: Callable[[str], None] | None = None
    ) -> Child:
        child = Child(name, argv, self.env, self.console, on_line)
        self.children.append(child)
        return child

    def check_children(self) -> None:
        """Raise ChildDied if a long-running child has exited."""
        for child in self.children:
            code = child.poll()
            if code is not None:
                child.reader.join(timeout=1.0)  # let its last lines (the reason) reach the console
                raise ChildDied(child.name, code)

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.check_children()
            if ready():
                return
            if time.monotonic() > deadline:
                raise DemoError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.2)

    def run_step(self, name: str, argv: Sequence[str], quiet: bool = True) -> list[str]:
        """Run a one-shot command to completion in its own process group; return its output.

        With quiet=True the output is shown only if the command fails.
        """
        lines: list[str] = []
        console = self.console

        class Capture(Console):
            def line(self, tag: str, text: str) -> None:
                lines.append(text)
                if not quiet:
                    console.line(tag, text)

        started = time.monotonic()
        step = Child(name, argv, self.env, Capture(console.stream))
        try:
            deadline = started + STEP_TIMEOUT
            while step.poll() is None:
                self.check_children()
                if time.monotonic() > deadline:
                    raise DemoError(f"`{describe(argv)}` took longer than {STEP_TIMEOUT:.0f} s")
                time.sleep(0.1)
        except BaseException:
            step.signal_group(signal.SIGTERM)
            try:
                step.proc.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                step.signal_group(signal.SIGKILL)
            raise
        step.reader.join(timeout=5.0)
        code = step.proc.returncode
        if code != 0:
            if quiet:
                for text in lines:
                    console.line(name, text)
            raise DemoError(f"`{describe(argv)}` failed with exit code {code}")
        return lines

    def stop_all(self) -> None:
        """SIGTERM every process group, wait up to the grace period, then SIGKILL what is left."""
        self.stopping = True
        running = [child for child in self.children if child.group_alive()]
        if not running:
            return
        self.console.line("demo", "stopping " + ", ".join(child.name for child in running) + " ...")
        for child in running:
            child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and not self.force:
            running = [child for child in running if child.group_alive()]
            if not running:
                break
            time.sleep(0.1)
        for child in self.children:
            if child.group_alive():
                self.console.line("demo", f"{child.name} did not stop in time: SIGKILL")
                child.signal_group(signal.SIGKILL)
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=5.0)
            child.reader.join(timeout=1.0)


# --- helpers -------------------------------------------------------------------------------
def describe(argv: Sequence[str]) -> str:
    """A short, readable form of a command line for messages."""
    names = {PYTHON: "python", MANAGE: "manage.py"}
    return " ".join(names.get(arg, arg) for arg in argv)


def env_port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise DemoError(f"{name}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise DemoError(f"{name}={port} is not a port number (1-65535)")
    return port


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_answers(url: str) -> bool:
    """True once anything answers HTTP at url (any status code counts)."""
    try:
        with _NO_PROXY_OPENER.open(url, timeout=2.0):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def demo_env(web_port: int, aws_port: int) -> dict[str, str]:
    env = dict(os.environ)
    # Never reach a real AWS account from the demo: drop profiles, tokens and per-service
    # endpoints that would take precedence over the fake credentials and the local endpoint.
    for key in list(env):
        if key.startswith("AWS_ENDPOINT_URL_") or key in {
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        }:
            del env[key]
    no_proxy = ",".join(part for part in (env.get("NO_PROXY", ""), "127.0.0.1,localhost") if part)
    env.update(
        {
            "DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
            "PORT": str(web_port),
            "LOCALAWS_PORT": str(aws_port),
        }
    )
    return env


def login_lines(seed_lines: Sequence[str]) -> list[str]:
    """The part of seed_demo's output from its first line that mentions logins on.

    Falls back to all of it (under a heading of our own) if no line mentions logins.
    """
    lines = [text.rstrip() for text in seed_lines if text.strip()]
    for index, text in enumerate(lines):
        if "login" in text.lower():
            return lines[index:]
    return ["Demo logins (output of manage.py seed_demo):", *(f"  {text}" for text in lines)]


def banner(url: str, seed_lines: Sequence[str], seconds: float, colour: bool, var_dir: Path) -> str:
    bold, reset = ("\033[1m", "\033[0m") if colour else ("", "")
    rule = "=" * 72
    shown = var_dir.relative_to(ROOT) if var_dir.is_relative_to(ROOT) else var_dir
    body = [
        "",
        rule,
        f"  {bold}Tollgate is running: {url}{reset}",
        "",
        *(f"  {text}" for text in login_lines(seed_lines)),
        "",
        f"  Data lives in {shown}/ (SQLite database, broker files, local AWS state).",
        f"  Started in {seconds:.1f} s.  {bold}Ctrl-C stops everything.{reset}",
        rule,
        "",
    ]
    return "\n".join(body) + "\n"


# --- the demo ------------------------------------------------------------------------------
def run(supervisor: Supervisor, web_port: int, aws_port: int, started: float) -> None:
    console = supervisor.console
    var_dir = Path(os.environ.get("TOLLGATE_VAR_DIR") or ROOT / "var")
    (var_dir / "broker" / "processed").mkdir(parents=True, exist_ok=True)

    console.line("demo", f"starting the local AWS server on 127.0.0.1:{aws_port}")
    aws_ready = threading.Event()

    def watch_aws(text: str) -> None:
        if LOCALAWS_READY.search(text):
            aws_ready.set()

    supervisor.start(
        "aws",
        [
            PYTHON,
            "-m",
            "localaws",
            "--host",
            "127.0.0.1",
            "--port",
            str(aws_port),
            "--state",
            str(var_dir / "localaws.state"),
            "--demo-api",
        ],
        on_line=watch_aws,
    )
    aws_url = f"http://127.0.0.1:{aws_port}/"
    # It prints its ready line once the demo API exists; it must also answer HTTP.
    supervisor.wait_for(
        f"the local AWS server at {aws_url}",
        lambda: aws_ready.is_set() and http_answers(aws_url),
        LOCALAWS_TIMEOUT,
    )

    step_started = time.monotonic()
    supervisor.run_step("setup", [PYTHON, MANAGE, "migrate", "--noinput"])
    supervisor.run_step("setup", [PYTHON, MANAGE, "collectstatic", "--noinput", "-v", "0"])
    console.line(
        "setup",
        f"database migrated, static files collected ({time.monotonic() - step_started:.1f} s)",
    )

    worker_ready = threading.Event()

    def watch_worker(text: str) -> None:
        if WORKER_READY.search(text):
            worker_ready.set()

    supervisor.start("web", [PYTHON, MANAGE, "runserver", f"127.0.0.1:{web_port}", "--noreload"])
    supervisor.start(
        "worker",
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--pool=threads",
        ],
        on_line=watch_worker,
    )
    supervisor.start("beat", [PYTHON, "-m", "celery", "-A", "portal", "beat", "--loglevel=INFO"])

    web_url = f"http://127.0.0.1:{web_port}/"
    supervisor.wait_for(f"the web server at {web_url}", lambda: http_answers(web_url), WEB_TIMEOUT)
    supervisor.wait_for("the Celery worker", worker_ready.is_set, WORKER_TIMEOUT)

    seed_lines = supervisor.run_step("seed", [PYTHON, MANAGE, "seed_demo"], quiet=False)

    console.block(banner(web_url, seed_lines, time.monotonic() - started, console.colour, var_dir))

    while True:
        supervisor.check_children()
        time.sleep(0.5)


def main() -> int:
    started = time.monotonic()
    console = Console()
    try:
        web_port = env_port("PORT", 8000)
        aws_port = env_port("LOCALAWS_PORT", 5000)
        if web_port == aws_port:
            raise DemoError(f"PORT and LOCALAWS_PORT must differ (both are {web_port})")
        for name, port in (("PORT", web_port), ("LOCALAWS_PORT", aws_port)):
            if port_in_use(port):
                raise DemoError(
                    f"port {port} on 127.0.0.1 is already in use; stop whatever listens there "
                    f"or choose another port, e.g. `{name}={port + 1} make demo`"
                )
    except DemoError as exc:
        console.line("demo", f"error: {exc}")
        return 2

    supervisor = Supervisor(demo_env(web_port, aws_port), console)
    supervisor.install_signal_handlers()
    code = 0
    try:
        run(supervisor, web_port, aws_port, started)
    except Shutdown as exc:
        console.line("demo", f"{exc} received")
    except ChildDied as exc:
        console.line("demo", f"error: {exc}")
        code = exc.returncode if exc.returncode > 0 else 1
    except DemoError as exc:
        console.line("demo", f"error: {exc}")
        code = 1
    finally:
        supervisor.stopping = True
        supervisor.stop_all()
    if code == 0:
        console.line("demo", "stopped")
    if console.broken:
        # Nothing can be printed any more; keep the interpreter's final flush from failing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return code


if __name__ == "__main__":
    sys.exit(main())
