"""The rollout's pure decision core, measurement by measurement: verdicts with their reasons, and what follows."""

from __future__ import annotations

from deploywatch.config.thresholds import parse_threshold
from deploywatch.deploy.rollout_core import Measurement, decide, judge_baseline, judge_samples, parse_samples

SUCCESS = parse_threshold("< 0.01")


def m(name: str, verdict: str, *, shadow: bool = False) -> Measurement:
    return Measurement(name, verdict, f"{name} was {verdict}", shadow)  # type: ignore[arg-type]


def test_no_samples_is_inconclusive_never_a_pass() -> None:
    verdict = judge_samples("error rate", [], SUCCESS)
    assert verdict.verdict == "inconclusive" and "no data" in verdict.why


def test_fewer_than_min_samples_is_inconclusive_even_when_every_value_is_good() -> None:
    verdict = judge_samples("error rate", [0.0] * 19, SUCCESS, min_samples=20)
    assert verdict.verdict == "inconclusive"
    assert verdict.why == "19 of min_samples 20 samples: too few to judge"


def test_the_aggregate_is_judged_and_the_why_names_value_threshold_and_count() -> None:
    good = judge_samples("error rate", [0.001, 0.003], SUCCESS)
    assert (good.verdict, good.why) == ("pass", "mean of 2 samples 0.002 meets success < 0.01")
    bad = judge_samples("error rate", [0.001, 0.05, 0.002], SUCCESS, aggregate="max")
    assert (bad.verdict, bad.why) == ("fail", "max of 3 samples 0.05 misses success < 0.01")
    assert bad.data["value"] == 0.05 and bad.data["samples"] == 3


def test_a_percentage_success_is_a_fraction() -> None:
    assert judge_samples("ok share", [0.995], parse_threshold(">= 99%")).verdict == "pass"
    assert judge_samples("ok share", [0.98], parse_threshold(">= 99%")).verdict == "fail"


def test_output_that_is_not_numbers_gives_no_samples() -> None:
    assert parse_samples("0.1\n\n0.2\n") == ([0.1, 0.2], None)
    assert parse_samples("0.1\nerror: timeout\n")[1] == "not a number: 'error: timeout'"
    assert parse_samples("nan\n")[1] == "not a finite number: 'nan'"
    assert parse_samples("") == ([], None)


def test_baseline_compare_needs_min_samples_on_both_sides() -> None:
    verdict = judge_baseline("latency", [1.0] * 10, [1.0] * 3, min_samples=5)
    assert verdict.verdict == "inconclusive" and verdict.why == "too few samples: baseline has 3 of min_samples 5"
    empty = judge_baseline("latency", [], [1.0] * 8, min_samples=5)
    assert empty.why.startswith("no data: canary has 0")


def test_baseline_compare_with_worse_lower_fails_a_canary_that_dropped() -> None:
    canary, baseline = [0.80, 0.82, 0.79, 0.81], [0.95, 0.96, 0.97, 0.94]
    lower = judge_baseline("success rate", canary, baseline, worse="lower", min_samples=4)
    assert lower.verdict == "fail" and "p=0.0142857 < alpha 0.05" in lower.why  # 1 / C(8, 4)
    higher = judge_baseline("success rate", canary, baseline, worse="higher", min_samples=4)
    assert higher.verdict == "pass" and "effect size -1.000" in higher.why


def test_decide_advances_only_when_every_enforced_analysis_passed() -> None:
    assert decide([m("a", "pass"), m("b", "pass")], {"a": 1, "b": 1}, {}).action == "advance"


def test_decide_pauses_on_an_inconclusive_analysis() -> None:
    decision = decide([m("a", "pass"), m("b", "inconclusive")], {"a": 1, "b": 1}, {})
    assert decision.action == "pause" and decision.why == "inconclusive: b: b was inconclusive"


def test_consecutive_failures_remeasure_until_the_limit_and_a_pass_resets_the_count() -> None:
    limits = {"a": 3}
    first = decide([m("a", "fail")], limits, {})
    assert (first.action, first.failures) == ("remeasure", {"a": 1})
    second = decide([m("a", "fail")], limits, first.failures)
    assert (second.action, second.failures) == ("remeasure", {"a": 2})
    reset = decide([m("a", "pass")], limits, second.failures)
    assert (reset.action, reset.failures) == ("advance", {"a": 0})
    counts = reset.failures
    for _ in range(2):
        counts = decide([m("a", "fail")], limits, counts).failures
    third = decide([m("a", "fail")], limits, counts)
    assert third.action == "fail" and "a failed 3 of consecutive_failures 3" in third.why


def test_a_failure_at_its_limit_outranks_an_inconclusive_one() -> None:
    assert decide([m("a", "fail"), m("b", "inconclusive")], {"a": 1, "b": 1}, {}).action == "fail"


def test_shadow_analyses_never_fail_or_pause_but_are_reported() -> None:
    decision = decide([m("a", "pass"), m("s", "fail", shadow=True), m("t", "inconclusive", shadow=True)],
                      {"a": 1, "s": 1, "t": 1}, {})
    assert decision.action == "advance"
    assert "shadow (not enforced): s fail: s was fail; t inconclusive: t was inconclusive" in decision.why
