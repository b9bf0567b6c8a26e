"""scripts/moto_suite.py: the checked-in list of expected differences, and how a run is judged
(the run itself, moto's suites against localaws, is its own step of make test)."""

from __future__ import annotations

from scripts.moto_suite import SUITES, Difference, figures_line, judge, load_expected

API = "tests/test_apigateway/test_apigateway.py"


def test_every_listed_difference_says_what_aws_does_and_where() -> None:
    expected = load_expected()
    assert expected
    for test, difference in expected.items():
        assert test.split("/")[1] in {f"test_{suite}" for suite in SUITES}, test
        assert "::test_" in test, test
        assert len(difference.aws) > 40, test
        assert difference.source, test


def _listed(**kinds: str) -> dict[str, Difference]:
    return {
        f"{API}::{name}": Difference(f"{API}::{name}", aws="why", source="where", localaws=kind)
        for name, kind in kinds.items()
    }


def test_a_failure_outside_the_list_is_unexpected() -> None:
    verdict = judge({f"{API}::test_a": "passed", f"{API}::test_b": "failed"}, _listed(), "localaws")
    assert verdict.unexpected == [f"{API}::test_b"]
    assert verdict.stale == []


def test_a_listed_test_that_passes_or_vanished_is_stale() -> None:
    expected = _listed(test_fixed="fails", test_gone="fails", test_still="fails")
    verdict = judge(
        {f"{API}::test_fixed": "passed", f"{API}::test_still": "failed"}, expected, "localaws"
    )
    assert verdict.unexpected == []
    assert verdict.stale == [
        f"{API}::test_fixed (listed, but passes)",
        f"{API}::test_gone (listed, but not in moto's suite)",
    ]
    assert verdict.figures["apigateway"]["expected"] == 1


def test_a_flaky_entry_may_pass_or_fail() -> None:
    expected = _listed(test_order="flaky")
    for outcome in ("passed", "failed"):
        verdict = judge({f"{API}::test_order": outcome}, expected, "localaws")
        assert (verdict.unexpected, verdict.stale) == ([], [])


def test_against_moto_the_moto_column_counts() -> None:
    test = f"{API}::test_validator_wording"
    expected = {test: Difference(test, aws="why", source="where", moto="fails")}
    assert judge({test: "failed"}, expected, "moto").unexpected == []
    assert judge({test: "passed"}, expected, "moto").stale == [f"{test} (listed, but passes)"]


def test_the_figures_name_each_suite() -> None:
    outcomes = {
        f"{API}::test_a": "passed",
        f"{API}::test_b": "failed",
        f"{API}::test_c": "skipped",
        "tests/test_cloudwatch/test_cloudwatch.py::test_d": "passed",
    }
    line = figures_line(judge(outcomes, _listed(test_b="fails"), "localaws"))
    assert line == (
        "apigateway: 1 passed, 1 expected differences, 1 skipped of 3; "
        "cloudwatch: 1 passed, 0 expected differences of 1"
    )
