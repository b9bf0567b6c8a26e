"""Production settings come from the environment alone, and pass Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_SETTINGS_MODULE"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="k" * 20 + "Zx8#pQ2!vL9@mN4$rT7%wY1^bC5&dF3*gH6(jK0)",
        ALLOWED_HOSTS="tollgate.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key() -> None:
    result = run_manage("check", SECRET_KEY="")
    assert result.returncode != 0
    assert "Set SECRET_KEY (or DEBUG=1 for local development)." in result.stderr


def test_collectstatic_works_with_production_storage(tmp_path: Path) -> None:
    """whitenoise's manifest storage refuses a file that points at a missing source map."""
    result = run_manage(
        "collectstatic",
        "--noinput",
        SECRET_KEY="k" * 50,
        ALLOWED_HOSTS="tollgate.example.com",
        STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert (tmp_path / "static" / "staticfiles.json").exists()


def test_the_production_example_passes_the_deployment_checks() -> None:
    """docs/production.env.example (README "Running at scale") as written: every name in it is
    one the settings read, and Django's deployment checks pass with it."""
    example = ROOT / "docs" / "production.env.example"
    values = dict(
        line.split("=", 1)
        for line in example.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    settings_text = (ROOT / "portal" / "settings.py").read_text(encoding="utf-8")
    read_elsewhere = {"DATABASE_URL", "WEB_CONCURRENCY", "TOLLGATE_TRUSTED_PROXY_COUNT"}
    unknown = [name for name in values if name not in settings_text and name not in read_elsewhere]
    assert not unknown, f"names no setting reads: {unknown}"
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **values)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout
