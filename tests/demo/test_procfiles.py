"""The Procfiles: the demo's processes (make demo) and production's three."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from honcho.environ import parse_procfile

ROOT = Path(__file__).resolve().parents[2]
HONCHO = Path(sys.executable).parent / "honcho"


def processes(name: str) -> dict[str, str]:
    return dict(parse_procfile((ROOT / name).read_text()).processes)


RESPAWN = "exec python scripts/respawn.py"
WAIT_FOR_REDIS = '--wait-for-redis "127.0.0.1:$REDIS_PORT" --'


def test_the_demo_runs_redis_the_local_aws_web_worker_and_beat() -> None:
    demo = processes("Procfile")

    assert list(demo)[0] == "redis"  # first: the others wait for it
    assert {"redis", "aws", "web", "worker", "beat"} <= set(demo)
    # The wheel's server (REDIS_SERVER), keeping queued tasks in an append-only file.
    assert demo["redis"].startswith(f'{RESPAWN} redis -- "$REDIS_SERVER" --port "$REDIS_PORT"')
    assert "--bind 127.0.0.1" in demo["redis"]
    assert '--appendonly yes --dir "$TOLLGATE_VAR_DIR/redis"' in demo["redis"]
    assert "-m localaws" in demo["aws"] and '--port "$LOCALAWS_PORT"' in demo["aws"]
    assert "--state" in demo["aws"] and "--demo-api" in demo["aws"]
    # honcho rewrites PORT for each process (PORT, PORT+100, ...): the web port has its own name.
    assert 'runserver "127.0.0.1:$WEB_PORT"' in demo["web"]
    assert "--concurrency=2 --pool=threads" in demo["worker"]
    # seed_demo (and the banner) once, then beat, restarted alone; a failed seed stops the demo.
    assert demo["beat"].startswith(
        f"python scripts/demo_seed.py && {RESPAWN} beat {WAIT_FOR_REDIS} celery -A portal beat"
    )


def test_a_crashed_demo_process_is_started_again_not_the_end_of_the_demo() -> None:
    demo = processes("Procfile")

    assert demo["aws"].startswith(f"{RESPAWN} aws -- python -m localaws")
    for name in ("web", "worker"):
        assert demo[name].startswith(f"{RESPAWN} {name} {WAIT_FOR_REDIS} "), name


def test_every_process_is_the_program_itself_not_a_shell_around_it() -> None:
    """honcho signals and waits for its child: a shell would die first and orphan the program."""
    for name, command in {**processes("Procfile"), **processes("Procfile.production")}.items():
        assert command.split(" && ")[-1].startswith("exec "), name


def test_production_runs_gunicorn_a_worker_and_beat() -> None:
    production = processes("Procfile.production")

    assert list(production) == ["web", "worker", "beat"]
    assert production["web"] == 'exec gunicorn portal.wsgi --bind "0.0.0.0:${PORT:-8000}"'
    assert production["worker"] == "exec celery -A portal worker --loglevel=INFO"
    assert production["beat"] == "exec celery -A portal beat --loglevel=INFO"


def test_honcho_accepts_both_procfiles() -> None:
    for name in ("Procfile", "Procfile.production"):
        result = subprocess.run(
            [str(HONCHO), "--procfile", name, "check"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
