"""scripts/start_demo.py, what `make demo` runs: the ports, the environment, set-up, honcho."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import start_demo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def own_signal_handlers() -> Iterator[None]:
    """run_procfile installs handlers for good (it is the end of the program): undo that."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def procfile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Procfile"
    path.write_text(text)
    return path


@pytest.fixture
def leftovers() -> Iterator[list[Path]]:
    """pid files whose processes a failed test must not leave running (a passing one stops them)."""
    pid_files: list[Path] = []
    yield pid_files
    for pid_file in pid_files:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --- ports ----------------------------------------------------------------------------------


def test_it_refuses_a_busy_port(listening_port: int) -> None:
    with pytest.raises(start_demo.DemoError) as refused:
        start_demo.check_ports({"PORT": str(listening_port), "LOCALAWS_PORT": str(free_port())})

    assert f"port {listening_port} on 127.0.0.1 is already in use" in str(refused.value)
    assert f"PORT={listening_port + 1} make demo" in str(refused.value)


def test_it_refuses_a_busy_local_aws_port(listening_port: int) -> None:
    with pytest.raises(
        start_demo.DemoError, match=f"`LOCALAWS_PORT={listening_port + 1} make demo`"
    ):
        start_demo.check_ports({"PORT": str(free_port()), "LOCALAWS_PORT": str(listening_port)})


def test_a_busy_port_stops_the_demo_before_anything_starts(
    listening_port: int, tmp_path: Path
) -> None:
    var_dir = tmp_path / "var"
    env = {**os.environ, "PORT": str(listening_port), "TOLLGATE_VAR_DIR": str(var_dir)}

    result = subprocess.run(
        [sys.executable, "scripts/start_demo.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert f"demo: error: port {listening_port} on 127.0.0.1 is already in use" in result.stderr
    assert not var_dir.exists()  # no migrate, no process


def test_the_ports_default_to_8000_and_5000() -> None:
    assert start_demo.read_port({}, "PORT", 8000) == 8000
    assert start_demo.read_port({"LOCALAWS_PORT": " "}, "LOCALAWS_PORT", 5000) == 5000
    assert start_demo.read_port({"PORT": "8080"}, "PORT", 8000) == 8080


@pytest.mark.parametrize("value", ["http", "0", "70000"])
def test_it_refuses_what_is_not_a_port(value: str) -> None:
    with pytest.raises(start_demo.DemoError, match="is not a port number"):
        start_demo.read_port({"PORT": value}, "PORT", 8000)


def test_it_refuses_the_same_port_for_both() -> None:
    port = str(free_port())
    with pytest.raises(start_demo.DemoError, match="PORT and LOCALAWS_PORT must differ"):
        start_demo.check_ports({"PORT": port, "LOCALAWS_PORT": port})


def test_it_refuses_a_busy_or_shared_redis_port(listening_port: int) -> None:
    """A system Redis on 6379 (CI's) is not the demo's: the demo's default is 6390."""
    web, aws = str(free_port()), str(free_port())
    with pytest.raises(start_demo.DemoError, match=f"`REDIS_PORT={listening_port + 1} make demo`"):
        start_demo.check_ports(
            {"PORT": web, "LOCALAWS_PORT": aws, "REDIS_PORT": str(listening_port)}
        )
    with pytest.raises(start_demo.DemoError, match="PORT and REDIS_PORT must differ"):
        start_demo.check_ports({"PORT": web, "LOCALAWS_PORT": aws, "REDIS_PORT": web})
    assert start_demo.read_port({}, "REDIS_PORT", 6390) == 6390


def test_the_wheel_ships_the_redis_server_the_demo_runs() -> None:
    binary = start_demo.redis_server_binary()

    version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    assert version.returncode == 0 and "v=" in version.stdout


# --- the environment ------------------------------------------------------------------------


def test_the_demo_never_points_at_a_real_aws_account() -> None:
    real = {
        "AWS_PROFILE": "production",
        "AWS_DEFAULT_PROFILE": "production",
        "AWS_SESSION_TOKEN": "token",
        "AWS_SECURITY_TOKEN": "token",
        "AWS_ACCESS_KEY_ID": "AKIAREAL",
        "AWS_SECRET_ACCESS_KEY": "real",
        "AWS_ENDPOINT_URL_APIGATEWAY": "https://apigateway.eu-west-1.amazonaws.com",
        "AWS_REGION": "eu-west-1",
        "DEBUG": "0",
        "DATABASE_URL": "postgres://db/tollgate",
        "PATH": "/usr/bin",
    }

    env = start_demo.demo_env(real, 8350, 5350, started=1000.0)

    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        assert name not in env
    assert "AWS_ENDPOINT_URL_APIGATEWAY" not in env
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5350"
    assert env["TOLLGATE_CUSTOM_DOMAIN_URL"] == "http://{domain}:5350"  # the local gateway
    assert env["TOLLGATE_SITE_URL"] == "http://127.0.0.1:8350"  # links in emails
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("testing", "testing")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["DEBUG"] == "1"
    assert env["DATABASE_URL"] == "postgres://db/tollgate"  # left alone, as the README says
    assert "127.0.0.1" in env["NO_PROXY"].split(",")


def test_the_procfile_gets_its_ports_var_dir_and_start_time() -> None:
    env = start_demo.demo_env(
        {"PATH": "/usr/bin", "PYTHONDONTWRITEBYTECODE": "1"}, 8350, 5350, started=1000.0
    )

    assert (env["WEB_PORT"], env["LOCALAWS_PORT"]) == ("8350", "5350")
    assert env["TOLLGATE_VAR_DIR"] == str(ROOT / "var")
    assert env["DEMO_STARTED_AT"] == "1000.000"
    assert env["PATH"] == f"{Path(sys.executable).parent}{os.pathsep}/usr/bin"
    assert "PYTHONDONTWRITEBYTECODE" not in env  # the first start writes what the next ones read
    own = start_demo.demo_env({"TOLLGATE_VAR_DIR": "/tmp/elsewhere"}, 8350, 5350, started=1000.0)
    assert own["TOLLGATE_VAR_DIR"] == "/tmp/elsewhere"


def test_broker_cache_and_limiter_use_the_demos_own_redis() -> None:
    caller = {"CELERY_BROKER_URL": "redis://prod:6379/1", "REDIS_URL": "redis://prod:6379/2"}

    env = start_demo.demo_env(caller, 8350, 5350, 1000.0, 6391, Path("/wheel/valkey-server"))

    assert env["CELERY_BROKER_URL"] == "redis://127.0.0.1:6391/0"
    assert env["REDIS_URL"] == "redis://127.0.0.1:6391/1"  # the cache and the rate limiter
    assert (env["REDIS_PORT"], env["REDIS_SERVER"]) == ("6391", "/wheel/valkey-server")
    assert env["CELERY_VISIBILITY_TIMEOUT"] == "5"  # a killed worker's tasks run again soon


# --- set-up ---------------------------------------------------------------------------------


def test_set_up_migrates_and_collects_static_files_into_var(tmp_path: Path) -> None:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "STATIC_ROOT"}
    }
    env = start_demo.demo_env({**clean, "TOLLGATE_VAR_DIR": str(tmp_path)}, 8350, 5350, 0.0)

    start_demo.set_up(env)

    assert (tmp_path / "tollgate.sqlite3").is_file()
    assert (tmp_path / "redis").is_dir()  # where the demo's Redis keeps its append-only file
    assert any((tmp_path / "staticfiles").iterdir())


def test_a_failing_set_up_step_says_which(tmp_path: Path) -> None:
    env = {**os.environ, "TOLLGATE_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "no.such"}

    with pytest.raises(start_demo.DemoError, match="`manage.py migrate --noinput` failed"):
        start_demo.set_up(env)


# --- honcho ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("returncode", "stop_requested", "expected"),
    [
        (130, True, 0),  # Ctrl-C
        (143, True, 0),  # SIGTERM
        (3, False, 3),  # a process failed
        (0, False, 1),  # a process ended cleanly, on its own: the demo still failed
        (-9, False, 1),
    ],
)
def test_the_exit_code_says_whether_the_demo_failed(
    returncode: int, stop_requested: bool, expected: int
) -> None:
    assert start_demo.honcho_exit_code(returncode, stop_requested) == expected


def test_a_process_that_dies_stops_the_others_and_is_named(
    tmp_path: Path, own_signal_handlers: None, leftovers: list[Path]
) -> None:
    pid_file = tmp_path / "long.pid"
    leftovers.append(pid_file)
    path = procfile(
        tmp_path,
        f"long: echo $$ > {pid_file} && exec sleep 60\n"
        f"short: while [ ! -s {pid_file} ]; do sleep 0.1; done; exit 3\n",
    )
    out = io.BytesIO()
    began = time.monotonic()

    code = start_demo.run_procfile(path, dict(os.environ), out)

    text = out.getvalue().decode()
    assert code == 3
    assert "short.1 stopped (rc=3)" in text
    assert "sending SIGTERM to long.1" in text
    assert not alive(int(pid_file.read_text()))
    assert time.monotonic() - began < 10


def test_a_process_that_ends_cleanly_still_fails_the_demo(
    tmp_path: Path, own_signal_handlers: None
) -> None:
    path = procfile(tmp_path, "long: exec sleep 60\nshort: sleep 0.5\n")

    assert start_demo.run_procfile(path, dict(os.environ), io.BytesIO()) == 1


class GoneAway(io.RawIOBase):
    """Our output after the terminal closed, or `tee` died of Ctrl-C."""

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise BrokenPipeError


def test_honcho_still_stops_everything_when_our_output_is_gone(
    tmp_path: Path, own_signal_handlers: None, leftovers: list[Path]
) -> None:
    pid_file = tmp_path / "long.pid"
    leftovers.append(pid_file)
    path = procfile(
        tmp_path,
        f"long: echo $$ > {pid_file} && exec sleep 60\n"
        f"short: while [ ! -s {pid_file} ]; do sleep 0.1; done; exit 4\n",
    )

    assert start_demo.run_procfile(path, dict(os.environ), GoneAway()) == 4  # type: ignore[arg-type]
    assert not alive(int(pid_file.read_text()))


RUN_PROCFILE = """
import os, sys
from pathlib import Path
from scripts import start_demo
sys.exit(start_demo.run_procfile(Path(sys.argv[1]), dict(os.environ), sys.stdout.buffer))
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_stops_every_process(
    tmp_path: Path, sig: signal.Signals, leftovers: list[Path]
) -> None:
    pid_files = [tmp_path / "one.pid", tmp_path / "two.pid"]
    leftovers.extend(pid_files)
    path = procfile(
        tmp_path,
        "".join(f"p{n}: echo $$ > {pid} && exec sleep 60\n" for n, pid in enumerate(pid_files)),
    )
    runner = subprocess.Popen(
        [sys.executable, "-c", RUN_PROCFILE, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert runner.stdout is not None
    # Once honcho has said both started: a signal before that finds it without their pids.
    output: list[str] = []
    while sum("started (pid=" in line for line in output) < 2:
        line = runner.stdout.readline()
        assert line, "".join(output)
        output.append(line)
    while not all(pid.is_file() and pid.read_text().strip() for pid in pid_files):
        time.sleep(0.05)

    runner.send_signal(sig)
    runner.wait(timeout=30)
    text = "".join(output) + runner.stdout.read()

    assert runner.returncode == 0, text
    assert "demo: stopped" in text
    assert "sending SIGTERM to p0.1" in text
    for pid in pid_files:
        assert not alive(int(pid.read_text()))


def test_ctrl_c_while_honcho_is_starting_still_stops_everything(
    tmp_path: Path, leftovers: list[Path]
) -> None:
    """honcho 2.0 signalled before it has every pid fails and leaves its processes running."""
    pid_files = [tmp_path / f"{n}.pid" for n in range(4)]
    leftovers.extend(pid_files)
    path = procfile(
        tmp_path,
        "".join(f"p{n}: echo $$ > {pid} && exec sleep 60\n" for n, pid in enumerate(pid_files)),
    )
    runner = subprocess.Popen(
        [sys.executable, "-c", RUN_PROCFILE, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert runner.stdout is not None
    first = runner.stdout.readline()
    assert "started (pid=" in first, first

    runner.send_signal(signal.SIGINT)
    runner.wait(timeout=30)
    text = first + runner.stdout.read()

    assert runner.returncode == 0, text
    assert text.count("started (pid=") == 4
    assert text.index("SIGINT received") > text.rindex("started (pid=")  # held until then
    for pid in pid_files:  # a process stopped before it wrote its pid is not running either
        if pid.is_file() and pid.read_text().strip():
            assert not alive(int(pid.read_text()))
