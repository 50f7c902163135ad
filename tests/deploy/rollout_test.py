"""Progressive rollouts end to end: a real HTTP platform on 127.0.0.1, real scripts for deploy, traffic, version
and metrics, real deploywatch processes and the ledger in a real store."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.fleet import Fleet, build_fleet
from testing.gitrepo import GitRepo
from testing.warehouse import Table, create_duckdb, execute

ERROR_RATE = """
[[services.web.rollout.analysis]]
name = "error rate"
command = "{command}"
success = "< 0.01"
min_samples = 5
consecutive_failures = {failures}
"""


@pytest.fixture
def fleet(git_repo: GitRepo, tmp_path: Path) -> Iterator[Fleet]:
    yield from build_fleet(git_repo, tmp_path)


def error_rate(fleet: Fleet, failures: int = 1) -> str:
    return ERROR_RATE.format(command=fleet.metrics_command(), failures=failures)


def test_a_rollout_that_succeeds_steps_the_weight_to_100(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet))
    code, document, err = fleet.json("deploy", "web", "--yes")
    assert code == 0, err
    (entry,) = document["deploys"]
    assert entry["status"] == "succeeded"
    web = fleet.service()
    assert web.weights == [10, 25, 50, 100] and web.canary == fleet.shas["web1"]
    rollout_steps = [s for s in entry["steps"] if s["name"] == "rollout"]
    assert len(rollout_steps) == 4
    assert all("mean of 6 samples 0.00183333 meets success < 0.01" in s["detail"] for s in rollout_steps)
    status = fleet.status()
    assert status["rollout"]["state"] == "succeeded" and status["rollout"]["weight"] == 100
    assert status["lock"] is None


def test_a_rollout_that_fails_at_25_percent_sets_weight_0_and_rolls_back(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet))
    fleet.state.bad_from[fleet.shas["web1"]] = 25
    code, document, err = fleet.json("deploy", "web", "--yes")
    assert code == 2, err
    (entry,) = document["deploys"]
    assert (entry["status"], entry["step"]) == ("rolled_back", "rollout")
    assert "step 2/4 (25%)" in entry["reason"]
    assert "mean of 6 samples 0.0483333 misses success < 0.01" in entry["reason"]
    web = fleet.service()
    assert web.weights == [10, 25, 0]
    assert web.canary is None and entry["rollback"]["status"] == "succeeded"
    stored = fleet.ledger()
    assert [(e["how"], e["status"]) for e in stored] == [("deploy", "rolled_back")]
    assert fleet.status()["lock"] is None


def test_consecutive_failures_tolerate_a_failing_measurement_then_fail_on_the_limit(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet, failures=3))
    fleet.state.bad_from[fleet.shas["web1"]] = 50
    code, document, err = fleet.json("deploy", "web", "--yes")
    assert code == 2, err
    (entry,) = document["deploys"]
    failed = next(s for s in entry["steps"] if s["name"] == "rollout" and s["status"] == "critical")
    assert failed["rollout"]["rounds"] == 3 and failed["rollout"]["weight"] == 50
    assert "failed 3 of consecutive_failures 3" in failed["detail"]
    events = [e for e in fleet.status()["rollout"]["events"] if e["event"] == "analysis" and e["step"] == 3]
    assert [e["action"] for e in events] == ["remeasure", "remeasure", "fail"]
    assert fleet.service().weights == [10, 25, 50, 0]


def test_no_data_pauses_with_an_alertable_status_and_resume_continues_from_that_step(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet), extra=f'[[alerts.webhook]]\nurl = "{fleet.url}/hook"\n')
    fleet.state.no_data.add(fleet.shas["web1"])
    code, document, err = fleet.json("deploy", "web", "--yes")
    assert code == 2, err
    (entry,) = document["deploys"]
    assert (entry["status"], entry["step"]) == ("paused", "rollout")
    (alert,) = fleet.state.alerts  # the pause was sent to the alert sinks
    assert "paused at rollout" in json.dumps(alert) and "critical" in json.dumps(alert)
    assert "inconclusive" in entry["reason"] and "no data" in entry["reason"]
    status = fleet.status()
    assert status["rollout"]["state"] == "paused" and status["rollout"]["weight"] == 10
    assert status["lock"] is not None  # held while paused: nothing else deploys meanwhile
    assert fleet.service().weights == [10]
    fleet.state.no_data.clear()
    code, resumed, err = fleet.json("rollout", "resume", "web")
    assert code == 0, err
    assert resumed["deploys"][0]["status"] == "succeeded"
    assert fleet.service().weights == [10, 10, 25, 50, 100]
    status = fleet.status()
    assert status["rollout"]["state"] == "succeeded" and status["lock"] is None
    assert [e["event"] for e in status["rollout"]["events"]].count("resumed") == 1


def test_too_few_samples_are_inconclusive_never_a_pass(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet))
    fleet.state.samples_of[fleet.shas["web1"]] = [0.0, 0.0, 0.0]
    code, document, _ = fleet.json("deploy", "web", "--yes")
    assert code == 2
    assert "3 of min_samples 5 samples: too few to judge" in document["deploys"][0]["reason"]
    assert fleet.status()["rollout"]["state"] == "paused"


def test_a_shadow_analysis_is_recorded_but_not_enforced(fleet: Fleet) -> None:
    shadow = error_rate(fleet).replace('name = "error rate"', 'name = "latency"\nshadow = true')
    fleet.configure(error_rate(fleet) + shadow.replace("< 0.01", "< 0.0001"))
    code, document, err = fleet.json("deploy", "web", "--yes")
    assert code == 0, err
    assert document["deploys"][0]["status"] == "succeeded" and fleet.service().weights == [10, 25, 50, 100]
    events = [e for e in fleet.status()["rollout"]["events"] if e["event"] == "analysis"]
    assert len(events) == 4
    for event in events:
        latency = next(m for m in event["measurements"] if m["analysis"] == "latency")
        assert (latency["verdict"], latency["shadow"]) == ("fail", True)
        assert "shadow (not enforced): latency fail" in event["why"]


def test_a_failing_traffic_command_fails_the_rollout(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet))
    fleet.state.refuse_weights.add(50)
    code, document, _ = fleet.json("deploy", "web", "--yes")
    assert code == 2
    (entry,) = document["deploys"]
    assert entry["status"] == "rolled_back" and "weight 50%: exited 1" in entry["reason"]
    assert fleet.service().weights == [10, 25, 0]


def test_baseline_compare_fails_a_canary_worse_than_the_baseline(fleet: Fleet) -> None:
    fleet.configure(f"""
[[services.web.rollout.analysis]]
name = "latency vs baseline"
command = "{fleet.metrics_command()}"
baseline_compare = true
min_samples = 6
""")
    fleet.state.samples_of[fleet.shas["base"]] = [0.10, 0.12, 0.11, 0.13, 0.09, 0.08]
    fleet.state.samples_of[fleet.shas["web1"]] = [0.20, 0.22, 0.19, 0.25, 0.21, 0.23]
    code, document, _ = fleet.json("deploy", "web", "--yes")
    assert code == 2
    reason = document["deploys"][0]["reason"]
    # every canary value is above every baseline value: U = 36 of 6 x 6, exact one-sided p = 1 / C(12, 6)
    assert "Mann-Whitney U=36 (exact), p=0.00108225 < alpha 0.05, effect size +1.000" in reason
    assert "(n=6) vs baseline" in reason and fleet.service().weights == [10, 0]


def test_baseline_compare_passes_a_canary_like_the_baseline(fleet: Fleet) -> None:
    fleet.configure(f"""
[[services.web.rollout.analysis]]
name = "latency vs baseline"
command = "{fleet.metrics_command()}"
baseline_compare = true
min_samples = 6
""")
    fleet.state.samples_of[fleet.shas["base"]] = [0.10, 0.12, 0.11, 0.13, 0.09, 0.14]
    fleet.state.samples_of[fleet.shas["web1"]] = [0.105, 0.115, 0.125, 0.095, 0.135, 0.085]
    code, document, err = fleet.json("deploy", "web", "--yes")
    assert code == 0, err
    detail = next(s for s in document["deploys"][0]["steps"] if s["name"] == "rollout")["detail"]
    assert "no evidence the canary is higher: Mann-Whitney U=" in detail


def test_promote_skips_the_remaining_steps_with_its_reason(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet))
    fleet.state.no_data.add(fleet.shas["web1"])
    code, _, _ = fleet.json("deploy", "web", "--yes")
    assert code == 2 and fleet.status()["rollout"]["state"] == "paused"
    code, document, err = fleet.json("rollout", "promote", "web", "--reason", "metrics pipeline is down")
    assert code == 0, err
    assert document["deploys"][0]["status"] == "succeeded"
    assert fleet.service().weights == [10, 100]
    stored = fleet.ledger()[0]
    assert stored["status"] == "succeeded"
    assert "promoted (skipped 10%, 25%, 50%, 100%): metrics pipeline is down" in stored["reason"]


def test_an_abort_during_analysis_sets_weight_0_rolls_back_and_leaves_nothing_behind(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet))
    hold = fleet.state.hold = threading.Event()
    hold.set()
    deploying = fleet.start("deploy", "web", "--yes")
    try:
        assert fleet.state.metrics_asked.wait(60), "the analysis never asked for metrics"
        code, document, err = fleet.json("rollout", "abort", "web", "--reason", "pager went off")
        assert code == 0, err
        assert document["deploys"][0]["status"] == "succeeded"  # the rollback
    finally:
        hold.clear()
        fleet.state.release.set()
        _, err = deploying.communicate(timeout=60)
    assert deploying.returncode == 2, err
    web = fleet.service()
    assert web.weights == [10, 0] and web.canary is None
    stored = fleet.ledger()
    assert [(e["how"], e["status"]) for e in stored] == [("rollback", "succeeded"), ("deploy", "rolled_back")]
    assert "rollout aborted by" in stored[1]["reason"] and "pager went off" in stored[1]["reason"]
    status = fleet.status()
    assert status["lock"] is None and status["rollout"]["state"] == "rolled_back" and status["rollout"]["weight"] == 0
    # nothing to clean up: a new deploy starts at once
    fleet.state.hold = None
    code, again, err = fleet.json("deploy", "web", "--yes")
    assert code == 0, err
    assert again["deploys"][0]["status"] == "succeeded" and fleet.service().weights == [10, 0, 10, 25, 50, 100]


def test_a_forced_rollback_during_a_pause_sets_weight_0_and_ends_the_rollout(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet))
    fleet.state.no_data.add(fleet.shas["web1"])
    code, _, _ = fleet.json("deploy", "web", "--yes")
    assert code == 2
    code, document, err = fleet.json("rollback", "web", "--force", "--reason", "giving up")
    assert code == 0, err
    assert [s["name"] for s in document["deploys"][0]["steps"]][:2] == ["traffic", "rollback"]
    web = fleet.service()
    assert web.weights == [10, 0] and web.canary is None
    status = fleet.status()
    assert status["rollout"]["state"] == "rolled_back" and status["lock"] is None
    code, _, err = fleet.cli("rollout", "resume", "web")
    assert code == 3 and "no paused rollout of web to resume" in err


def test_a_dry_run_names_the_weights_the_traffic_command_and_the_analyses(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet))
    code, document, err = fleet.json("deploy", "web", "--yes", "--dry-run")
    assert code == 0, err
    plan = {step["step"]: step["detail"] for step in document["deploys"][0]["plan"]}
    assert "weights 10%, 25%, 50%, 100%" in plan["rollout"] and "traffic web 10" in plan["rollout"]
    assert "judged by: error rate" in plan["rollout"]
    assert fleet.service().weights == [] and fleet.ledger() == []


def test_a_probe_as_analysis_fails_the_step_when_critical(fleet: Fleet) -> None:
    fleet.configure('[[services.web.rollout.analysis]]\nprobes = ["web smoke"]\n',
                    extra='[[probes]]\nname = "web smoke"\ncommand = "echo CRITICAL - 5xx; exit 2"\n')
    code, document, _ = fleet.json("deploy", "web", "--yes")
    assert code == 2
    (entry,) = document["deploys"]
    assert entry["status"] == "rolled_back" and "probe web smoke critical" in entry["reason"]
    assert fleet.service().weights == [10, 0]


def test_an_analysis_naming_no_probe_is_refused_before_anything_runs(fleet: Fleet) -> None:
    fleet.configure('[[services.web.rollout.analysis]]\nprobes = ["nope"]\n')
    code, out, err = fleet.cli("deploy", "web", "--yes")
    assert code == 3 and out == ""
    assert "services.web.rollout.analysis[0].probes: no probe is named 'nope'" in err and err.count("\n") == 1
    assert fleet.service().weights == []


def test_status_for_people_shows_state_weight_and_each_verdict(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet))
    fleet.state.bad_from[fleet.shas["web1"]] = 50
    fleet.json("deploy", "web", "--yes")
    code, out, err = fleet.cli("rollout", "status", "web")
    assert code == 2, err
    assert "rollout #1" in out and "rolled_back, step 3 of 4 (10%, 25%, 50%, 100%), weight 0%" in out
    assert "- analysis step 3 50%: error rate failed 1 of consecutive_failures 1" in out


def test_promoting_a_running_rollout_is_done_by_its_process_before_the_next_step(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet))
    hold = fleet.state.hold = threading.Event()
    hold.set()
    deploying = fleet.start("deploy", "web", "--yes")
    try:
        assert fleet.state.metrics_asked.wait(60), "the analysis never asked for metrics"
        code, document, err = fleet.json("rollout", "promote", "web", "--reason", "hotfix, verified by hand")
        assert code == 0, err
        assert document["rollout"]["request"] == "promote" and document["rollout"]["state"] == "started"
    finally:
        hold.clear()
        fleet.state.release.set()
        out, err = deploying.communicate(timeout=60)
    assert deploying.returncode == 0, err
    assert json.loads(out)["deploys"][0]["status"] == "succeeded"
    assert fleet.service().weights == [10, 100]
    stored = fleet.ledger()[0]
    assert stored["status"] == "succeeded"
    assert stored["reason"] == "promoted (skipped 25%, 50%, 100%): hotfix, verified by hand"
    assert fleet.status()["rollout"]["request"] is None


def test_data_checks_as_analysis_fail_when_critical_and_pass_when_ok(fleet: Fleet, tmp_path: Path) -> None:
    table = Table("predictions", {"id": "INTEGER"})
    url = create_duckdb(tmp_path / "warehouse.duckdb", [table])
    checks = (f'[warehouse]\nurl = "{url}"\n\n[[checks]]\nname = "phase5.predictions.rows"\ntable = "predictions"\n'
              'metric = "row_count"\ncritical = "< 1"\n')
    fleet.configure('[[services.web.rollout.analysis]]\nchecks = ["phase5.predictions.*"]\n', extra=checks)
    code, document, _ = fleet.json("deploy", "web", "--yes")
    assert code == 2
    assert "check phase5.predictions.rows critical" in document["deploys"][0]["reason"]
    assert fleet.service().weights == [10, 0]
    execute(url, "INSERT INTO predictions VALUES (1), (2)")
    code, document, err = fleet.json("deploy", "web", "--yes")
    assert code == 0, err
    assert fleet.service().weights == [10, 0, 10, 25, 50, 100]
    detail = next(s for s in document["deploys"][0]["steps"] if s["name"] == "rollout")["detail"]
    assert "phase5.predictions.*: 1 of 1 ok" in detail


def test_a_rollout_whose_process_died_is_abandoned_and_abort_still_cleans_it_up(fleet: Fleet) -> None:
    fleet.configure(error_rate(fleet), lease="3s")
    hold = fleet.state.hold = threading.Event()
    hold.set()
    deploying = fleet.start("deploy", "web", "--yes")
    try:
        assert fleet.state.metrics_asked.wait(60), "the analysis never asked for metrics"
        deploying.send_signal(signal.SIGKILL)  # kill -9 mid-analysis: nothing of it runs again
        deploying.communicate(timeout=30)
    finally:
        hold.clear()
        fleet.state.release.set()
    assert fleet.service().weights == [10]  # the canary still has traffic
    time.sleep(3.5)  # the lease runs out; the next command reaps the entry
    status = fleet.status()
    assert status["rollout"]["state"] == "abandoned" and status["rollout"]["weight"] == 10
    code, _, err = fleet.cli("rollout", "promote", "web", "--reason", "x")
    assert code == 3 and "was abandoned (its process died): abort it" in err
    code, document, err = fleet.json("rollout", "abort", "web")
    assert code == 0, err
    assert [s["name"] for s in document["deploys"][0]["steps"]] == ["traffic", "rollback", "rollback_verify"]
    assert fleet.service().weights == [10, 0] and fleet.service().canary is None
    stored = fleet.ledger()
    assert [(e["how"], e["status"]) for e in stored] == [("rollback", "succeeded"), ("deploy", "rolled_back")]
    assert "its process had died" in stored[1]["reason"]
    assert fleet.status()["lock"] is None
