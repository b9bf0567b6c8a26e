"""Tiers as code: `manage.py tiers export` and `manage.py tiers apply FILE [--dry-run] [--prune]`."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import CommandError, call_command

from localaws.testing import LocalAwsControl
from plans.models import ApiStage, Plan

TIERS = """\
tiers:
  free:
    name: Free
    description: Try it out
    self_serve: true
    default: true
    throttle: {rate: 2, burst: 5}
    quota: {limit: 1000, period: DAY, offset: 0}
    price: null
    stages: ["Weather API/prod"]
  premium:
    name: Premium
    description: For production
    self_serve: true
    default: false
    throttle: {rate: 50, burst: 100}
    quota: {limit: 100000, period: MONTH, offset: 0}
    price: 49
    stages: ["abc123:prod"]
"""
# Appended to TIERS: the premium tier's per-method throttle.
METHOD_THROTTLES = """\
    method_throttles:
      - {stage: "abc123:prod", method: "GET /forecast", rate: 5, burst: 10}
"""


def run(*args: str) -> str:
    out = StringIO()
    call_command("tiers", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "tiers.yaml"
    path.write_text(text)
    return str(path)


def test_export_then_apply_changes_nothing(tiers: dict[str, Plan], tmp_path: Path) -> None:
    exported = run("export")
    document = yaml.safe_load(exported)
    assert document["tiers"]["premium"] == {
        "name": "Premium",
        "description": "For production",
        "self_serve": True,
        "default": False,
        "throttle": {"rate": 50, "burst": 100},
        "quota": {"limit": 100000, "period": "MONTH", "offset": 0},
        "price": 49,
        "stages": ["Weather API/prod"],
    }
    versions = dict(Plan.objects.values_list("slug", "desired_version"))

    assert run("apply", write(tmp_path, exported)).strip() == "No changes."
    assert dict(Plan.objects.values_list("slug", "desired_version")) == versions


def test_it_plans_creates_updates_and_archives(
    tiers: dict[str, Plan], stage: ApiStage, tmp_path: Path
) -> None:
    text = TIERS.replace("rate: 50,", "rate: 60,") + (
        '  gold:\n    name: Gold\n    stages: ["Weather API/prod"]\n'
    )
    path = write(tmp_path, text)

    dry = run("apply", path, "--dry-run", "--prune")
    assert "+ create gold" in dry
    assert "~ update premium\n    throttle.rate: 50 → 60" in dry
    assert "- archive enterprise" in dry
    assert not Plan.objects.filter(slug="gold").exists()
    assert Plan.objects.get(slug="premium").throttle_rate == 50

    kept = run("apply", path)
    assert "enterprise is not in the file (kept; --prune archives it)" in kept
    assert Plan.objects.get(slug="gold").name == "Gold"
    assert Plan.objects.get(slug="premium").throttle_rate == 60
    assert Plan.objects.get(slug="enterprise").archived_at is None

    pruned = run("apply", path, "--prune")
    assert pruned.startswith("- archive enterprise")
    assert Plan.objects.get(slug="enterprise").archived_at is not None


def test_a_slug_that_differs_from_the_name_is_kept(
    tiers: dict[str, Plan], stage: ApiStage, tmp_path: Path
) -> None:
    path = write(tmp_path, TIERS + '  pro-2026:\n    name: Pro\n    stages: ["Weather API/prod"]\n')
    run("apply", path)

    assert Plan.objects.get(slug="pro-2026").name == "Pro"
    assert run("apply", path).strip().endswith("No changes.")


def test_listed_is_optional_and_exported_only_when_false(
    tiers: dict[str, Plan], stage: ApiStage, tmp_path: Path
) -> None:
    assert "listed" not in yaml.safe_load(run("export"))["tiers"]["premium"]
    text = TIERS.replace("    price: 49\n", "    price: 49\n    listed: false\n")
    path = write(tmp_path, text)

    assert "~ update premium\n    listed: True → False" in run("apply", path)
    assert Plan.objects.get(slug="premium").listed is False
    assert yaml.safe_load(run("export"))["tiers"]["premium"]["listed"] is False
    assert run("apply", path).strip().endswith("No changes.")

    err = StringIO()
    with pytest.raises(CommandError):
        bad = write(tmp_path, text.replace("listed: false", "listed: maybe"))
        call_command("tiers", "apply", bad, stdout=StringIO(), stderr=err)
    assert "tiers.premium.listed: must be true or false" in err.getvalue()


def test_an_invalid_file_names_each_line_and_changes_nothing(
    tiers: dict[str, Plan], tmp_path: Path
) -> None:
    text = (
        TIERS.replace("rate: 50,", "rate: fast,")
        .replace("period: DAY", "period: YEAR")
        .replace('"abc123:prod"', '"Nope/prod"')
    )
    text = text.replace("description: Try it out", "description: Cheaper\n    colour: blue")
    err = StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("tiers", "apply", write(tmp_path, text), stdout=StringIO(), stderr=err)

    assert (
        str(caught.value)
        == "4 problems in " + str(tmp_path / "tiers.yaml") + "; nothing was changed."
    )
    lines = err.getvalue().replace(str(tmp_path / "tiers.yaml"), "tiers.yaml").splitlines()
    assert lines == [
        "tiers.yaml:5: tiers.free.colour: unknown setting; expected default, description, listed, method_throttles, name, price, quota, self_serve, stages, throttle",
        "tiers.yaml:9: tiers.free.quota.period: must be DAY, WEEK or MONTH",
        "tiers.yaml:17: tiers.premium.throttle.rate: must be a number (requests per second)",
        "tiers.yaml:20: tiers.premium.stages.0: no discovered API stage “Nope/prod” (refresh the stages on the console)",
    ]
    assert Plan.objects.get(slug="free").description == "Try it out"


def test_the_services_rules_point_at_their_line(tiers: dict[str, Plan], tmp_path: Path) -> None:
    text = TIERS.replace("rate: 50, burst: 100", "rate: 50, burst: 9000").replace(
        "description: Try it out", "description: Changed"
    )
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("tiers", "apply", write(tmp_path, text), stdout=StringIO(), stderr=err)

    assert (
        err.getvalue()
        .splitlines()[0]
        .endswith(
            "tiers.yaml:16: tiers.premium.throttle.burst: API Gateway allows a burst of at most 5,000 requests."
        )
    )
    assert Plan.objects.get(slug="free").description == "Try it out"  # the valid tier too


def test_method_throttles_export_then_apply(
    tiers: dict[str, Plan], stage: ApiStage, tmp_path: Path
) -> None:
    path = write(tmp_path, TIERS + METHOD_THROTTLES)
    applied = run("apply", path)
    assert (
        "~ update premium\n    method_throttles: none → Weather API/prod GET /forecast 5/10"
        in applied
    )
    premium = Plan.objects.get(slug="premium")
    throttle = premium.method_throttles.get()
    assert (throttle.stage, throttle.method_key, throttle.rate, throttle.burst) == (
        stage,
        "/forecast/GET",
        Decimal("5"),
        10,
    )

    exported = run("export")
    assert yaml.safe_load(exported)["tiers"]["premium"]["method_throttles"] == [
        {"stage": "Weather API/prod", "method": "GET /forecast", "rate": 5, "burst": 10}
    ]
    assert "method_throttles" not in yaml.safe_load(exported)["tiers"]["free"]  # none: left out
    version = Plan.objects.get(slug="premium").desired_version
    assert run("apply", write(tmp_path, exported)).strip().endswith("No changes.")
    assert Plan.objects.get(slug="premium").desired_version == version

    # Left out of the file: the tier has none.
    removed = run("apply", write(tmp_path, TIERS))
    assert "method_throttles: Weather API/prod GET /forecast 5/10 → none" in removed
    assert not Plan.objects.get(slug="premium").method_throttles.exists()


def test_bad_method_throttles_name_their_line(tiers: dict[str, Plan], tmp_path: Path) -> None:
    text = (
        TIERS
        + METHOD_THROTTLES
        + '      - {stage: "abc123:prod", method: "fetch", rate: many, burst: 10}\n'
    )
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("tiers", "apply", write(tmp_path, text), stdout=StringIO(), stderr=err)
    lines = err.getvalue().replace(str(tmp_path / "tiers.yaml"), "tiers.yaml").splitlines()
    assert lines == [
        "tiers.yaml:22: tiers.premium.method_throttles.1.method: Write the method as API Gateway "
        "does, e.g. “GET /forecast”.",
        "tiers.yaml:22: tiers.premium.method_throttles.1.rate: must be a number (requests per second)",
    ]

    text = TIERS + METHOD_THROTTLES.replace("rate: 5,", "rate: 60,")
    with pytest.raises(CommandError):
        call_command("tiers", "apply", write(tmp_path, text), stdout=StringIO(), stderr=err)
    assert (
        err.getvalue()
        .splitlines()[-1]
        .endswith(
            "tiers.yaml:21: tiers.premium.method_throttles.0.rate: "
            "A method's rate cannot be above the tier's (50 req/s)."
        )
    )
    assert not Plan.objects.get(slug="premium").method_throttles.exists()


def test_broken_yaml_names_its_line(db: None, tmp_path: Path) -> None:
    err = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "tiers", "apply", write(tmp_path, "tiers:\n  free: [\n"), stdout=StringIO(), stderr=err
        )
    assert ":3: not valid YAML" in err.getvalue()


@pytest.mark.integration
def test_a_second_apply_makes_no_aws_call(
    live_stage: ApiStage,
    control: LocalAwsControl,
    settle: Any,
    tmp_path: Path,
) -> None:
    ref = f"{live_stage.rest_api_id}:{live_stage.stage_name}"
    path = write(
        tmp_path,
        (TIERS + METHOD_THROTTLES)
        .replace('"Weather API/prod"', f'"{ref}"')
        .replace('"abc123:prod"', f'"{ref}"'),
    )
    first = run("apply", path)
    assert "+ create free" in first and "+ create premium" in first
    assert Plan.objects.get(slug="premium").method_throttles.get().method_key == "/forecast/GET"
    settle()
    assert control.calls("CreateUsagePlan")
    control.clear_calls()

    second = run("apply", path)
    settle()

    assert second.strip() == "No changes."
    assert control.calls() == []
