"""The pure decision core, situation by situation: which guardrail stops what, in which order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from deploywatch.config.remediate import RemediateSettings
from deploywatch.core.status import Status
from deploywatch.remediate.decide import (
    Decision,
    RuleMatch,
    Situation,
    Target,
    after_outcome,
    after_rule_outcome,
    breaker_reason,
    decide,
    select_targets,
)
from deploywatch.remediate.measure import fires_on

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
SETTINGS = RemediateSettings(max_per_run=1, min_interval=3600, backoff=600, max_backoff=3000, max_unhealthy=50,
                             max_failures=2)


def target(name: str, relevant: str = "r1") -> Target:
    return Target(name, Status.CRITICAL, "old", "tip", relevant, f"{name} drifted")


def situation(*targets: Target, states: Mapping[str, Mapping[str, Any]] | None = None,
              fleet: Mapping[str, Any] | None = None, settings: RemediateSettings = SETTINGS,
              unhealthy: Sequence[str] = (), outcomes: Sequence[str] = (), window: str | None = None,
              rules: Sequence[RuleMatch] = (), rule_states: Mapping[str, Mapping[str, Any]] | None = None
              ) -> Situation:
    return Situation(NOW, settings, fleet or {}, states or {}, list(targets), 4, unhealthy, outcomes, window, rules,
                     rule_states or {})


def stopped(plan_situation: Situation) -> list[tuple[str, str | None]]:
    return [(d.subject, d.guardrail) for d in decide(plan_situation).decisions]


def test_one_target_acts_and_max_per_run_stops_the_next() -> None:
    assert stopped(situation(target("web"), target("api"))) == [("web", None), ("api", "max_per_run")]


def test_the_kill_switch_comes_before_everything() -> None:
    off = SETTINGS.model_copy(update={"enabled": False})
    assert stopped(situation(target("web"), settings=off)) == [("web", "kill_switch")]
    assert stopped(situation(target("web"), fleet={"paused": True, "breaker": {"reason": "x"}})) == [
        ("web", "kill_switch")]


def test_the_breaker_trips_on_unhealthy_share_or_failures_in_a_row_and_stays_tripped() -> None:
    assert breaker_reason(SETTINGS, unhealthy=["a", "b"], services_total=4, recent_outcomes=()) is None  # 50%
    assert breaker_reason(SETTINGS, unhealthy=["a", "b", "c"], services_total=4, recent_outcomes=()) == (
        "3 of 4 services unhealthy (75% > max_unhealthy 50%): a, b, c")
    assert breaker_reason(SETTINGS, unhealthy=(), services_total=4, recent_outcomes=["failed", "succeeded"]) is None
    assert breaker_reason(SETTINGS, unhealthy=(), services_total=4, recent_outcomes=["failed", "failed", "x"]) == (
        "the last 2 remediations failed (max_failures 2)")
    plan = decide(situation(target("web"), unhealthy=["a", "b", "c"]))
    assert plan.trips is not None and [d.guardrail for d in plan.decisions] == ["breaker"]
    assert stopped(situation(target("web"), fleet={"breaker": {"reason": "earlier"}})) == [("web", "breaker")]


def test_a_deny_window_stops_redeploys_but_not_rules() -> None:
    rule = RuleMatch("backfill", "c[x]", Status.CRITICAL, "true", 5.0, 0, 1, "c critical")
    assert stopped(situation(target("web"), window="frozen", rules=[rule])) == [
        ("web", "deny_window"), ("backfill", None)]


def test_a_failed_relevant_commit_is_not_retried_a_new_one_waits_for_the_backoff() -> None:
    failed = after_outcome({}, Decision("redeploy", "web", True, "", newest_relevant="r1"), succeeded=False, now=NOW)
    assert (failed["failures"], failed["failed_relevant"]) == (1, "r1")
    states = {"web": failed}
    assert stopped(situation(target("web", "r1"), states=states)) == [("web", "failed_commit")]
    later = replace(situation(target("web", "r2"), states=states), now=NOW + timedelta(seconds=599))
    assert stopped(later) == [("web", "backoff")]
    twice = after_outcome(failed, Decision("redeploy", "web", True, "", newest_relevant="r2"), succeeded=False,
                          now=NOW)
    # two failures: 600 s doubled = 1200 s; past it, min_interval (3600 s since the last attempt) still holds
    assert stopped(replace(situation(target("web", "r3"), states={"web": twice}),
                           now=NOW + timedelta(seconds=1199))) == [("web", "backoff")]
    assert stopped(replace(situation(target("web", "r3"), states={"web": twice}),
                           now=NOW + timedelta(seconds=1201))) == [("web", "min_interval")]
    assert stopped(replace(situation(target("web", "r3"), states={"web": twice}),
                           now=NOW + timedelta(seconds=3600))) == [("web", None)]
    succeeded = after_outcome(twice, Decision("redeploy", "web", True, ""), succeeded=True, now=NOW)
    assert succeeded == {"last_attempt_at": NOW.isoformat(), "failures": 0}


def test_max_per_day_limits_a_rule() -> None:
    rule = RuleMatch("backfill", "c", Status.CRITICAL, "true", 5.0, 2, 2, "c critical")
    assert stopped(situation(rules=[rule])) == [("backfill", "max_per_day")]


def test_an_empty_or_all_matching_selection_is_refused_unless_all_is_explicit() -> None:
    services = ["web", "api"]
    assert select_targets([], configured=services, names=(), explicit_all=False)[1] == (
        "no service to remediate: none of the selected services is drifted enough")
    both = [target("web"), target("api")]
    assert select_targets(both, configured=services, names=(), explicit_all=False)[1] == (
        "every configured service (2) would be remediated at once; give --all to allow it")
    assert select_targets(both, configured=services, names=(), explicit_all=True) == (both, None)
    assert select_targets(both, configured=services, names=("web",), explicit_all=False) == ([both[0]], None)
    assert select_targets(both, configured=services, names=("web", "api"), explicit_all=False)[0] == []


def test_a_rule_fires_on_unknown_only_when_it_names_unknown() -> None:
    assert [fires_on("critical", s) for s in Status] == [False, False, False, True]
    assert [fires_on("warning", s) for s in Status] == [False, True, False, True]
    assert [fires_on("unknown", s) for s in Status] == [False, False, True, False]


def test_a_rule_backs_off_per_finding_doubling_and_a_success_ends_it_but_not_on_the_same_evidence() -> None:
    nba = RuleMatch("backfill", "c[nba]", Status.CRITICAL, "true", 5.0, 0, 9, "c critical", "check c[nba] of D",
                    "run1")
    nfl = replace(nba, subject="c[nfl]", finding="check c[nfl] of D")
    week = timedelta(days=7)

    def ran(state: Mapping[str, Any], match: RuleMatch, ok: bool, at: datetime = NOW) -> dict[str, Any]:
        decision = Decision("rule", "backfill", True, "", finding=match.finding, evidence=match.evidence)
        return after_rule_outcome(state, decision, succeeded=ok, now=at, forget_after=week)

    once = ran({}, nba, False)

    def at(seconds: int) -> Situation:
        return replace(situation(rules=[nba, nfl], rule_states={"backfill": once}),
                       now=NOW + timedelta(seconds=seconds))

    assert stopped(at(599)) == [("backfill", "backoff"), ("backfill", None)]  # nfl is another finding
    assert stopped(at(600)) == [("backfill", None), ("backfill", None)]
    twice = ran(once, nba, False)
    assert stopped(replace(situation(rules=[nba], rule_states={"backfill": twice}),
                           now=NOW + timedelta(seconds=1199))) == [("backfill", "backoff")]  # 600 s doubled
    fixed = ran(twice, nba, True)
    assert fixed["findings"] == {} and fixed["done"] == {nba.finding: {"run": "run1", "at": NOW.isoformat()}}
    assert stopped(situation(rules=[nba], rule_states={"backfill": fixed})) == [("backfill", "same_finding")]
    assert stopped(situation(rules=[replace(nba, evidence="run2")], rule_states={"backfill": fixed})) == [
        ("backfill", None)]
    assert ran(fixed, nfl, False, NOW + week)["done"] == {}  # forgotten after a week
