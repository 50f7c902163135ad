"""``[[remediate.rules]]``: a rule fires on its finding held for ``for_runs`` stored runs, runs its command with a
timeout, records the result, is rate-limited by ``max_per_day``, and never fires on ``unknown`` unless it says so."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deploywatch.core.findings import fingerprint
from deploywatch.store import Store
from deploywatch.store.records import FindingRecord, RunRecord
from testing.gitrepo import GitRepo
from testing.platform import Platform, build_platform

T0 = "2026-12-03T12:00:00Z"
RULE = """
[[checks]]
name = "phase5.grading_completeness"
table = "grading"
metric = "row_count"
group_by = "sport"
critical = "< 1"

[remediate]
min_status = "critical"

[[remediate.rules]]
name = "grading backfill"
when = {{ check = "phase5.grading_completeness", status = "{status}", for_runs = 2 }}
run = "printf '%s %s\\\\n' {{{{ date }}}} {{{{ group }}}} >> fired.log; echo backfilled"
max_per_day = 1
timeout = "{timeout}"
"""


@pytest.fixture
def platform(git_repo: GitRepo, tmp_path: Path) -> Platform:
    built = build_platform(git_repo, tmp_path)
    for name in ("web", "api"):  # nothing drifts: only the rule can act
        built.set_deployed(name, built.shas["web2"])
    return built


def rule(platform: Platform, *, status: str = "critical", timeout: str = "30s", run: str | None = None) -> None:
    text = RULE.format(status=status, timeout=timeout)
    if run is not None:
        text = text.replace(text.split("run = ", 1)[1].split("\n", 1)[0], run)
    platform.configure(text)


def store_checks(platform: Platform, *statuses: str, group: str = "nba",
                 start: datetime = datetime(2026, 12, 3, 8, tzinfo=UTC)) -> None:
    """One ``canary`` run per status, oldest first, each with the watched check's finding for ``group``."""
    subject = f"phase5.grading_completeness[{group}]"
    with Store.open(f"sqlite:///{platform.ops / '.deploywatch' / 'state.db'}") as store:
        for index, status in enumerate(statuses):
            at = start + timedelta(hours=index)
            run = RunRecord(uuid.uuid4().hex, "canary", at, at, date(2026, 12, 2), status, 0)
            store.record_run(run, [FindingRecord(run.id, "check", subject, status, f"{subject} {status}: 41%",
                                                 fingerprint("check", subject))])


def remediate(platform: Platform, *args: str, now: str = T0) -> tuple[int, dict[str, Any]]:
    code, document, _ = platform.json("remediate", *args, "--now", now)
    return code, document


def fired(platform: Platform) -> list[str]:
    log = platform.repo.path.parent / "ops" / "fired.log"
    return log.read_text().splitlines() if log.exists() else []


def test_a_rule_fires_once_its_finding_held_for_runs_and_is_then_rate_limited(platform: Platform) -> None:
    rule(platform)
    store_checks(platform, "critical")
    code, document = remediate(platform, "--apply")
    assert document["decisions"] == [] and fired(platform) == []  # one critical run is not for_runs = 2
    store_checks(platform, "critical")
    code, document = remediate(platform)  # a dry run names it and runs nothing
    (planned,) = document["decisions"]
    assert (planned["kind"], planned["subject"], planned["result"]) == ("rule", "grading backfill", "would_act")
    assert planned["command"].startswith("printf '%s %s\\n' 2026-12-02 nba >> fired.log") and fired(platform) == []
    code, document = remediate(platform, "--apply")
    (done,) = document["decisions"]
    assert (code, done["result"], done["output_tail"]) == (0, "succeeded", "backfilled")
    assert fired(platform) == ["2026-12-02 nba"]
    code, document = remediate(platform, "--apply", now="2026-12-04T12:00:01Z")  # no newer evidence: done already
    (same,) = document["decisions"]
    assert (same["result"], same["guardrail"]) == ("skipped", "same_finding")
    assert same["stopped_because"] == ("the command succeeded for check phase5.grading_completeness[nba] of "
                                       "2026-12-02 at 2026-12-03T12:00:00+00:00 and no newer run has the finding yet")
    store_checks(platform, "critical", start=datetime(2026, 12, 3, 15, tzinfo=UTC))  # ran again: still fails
    code, document = remediate(platform, "--apply", now="2026-12-03T18:00:00Z")
    (limited,) = document["decisions"]
    assert (limited["result"], limited["guardrail"]) == ("skipped", "max_per_day")
    assert fired(platform) == ["2026-12-02 nba"]
    code, document = remediate(platform, "--apply", now="2026-12-04T12:00:01Z")  # a day later it may run again
    assert document["decisions"][0]["result"] == "succeeded" and len(fired(platform)) == 2
    code, log, _ = platform.json("audit")
    assert [(e["kind"], e["decision"]) for e in log["entries"]] == [
        ("rule", "acted"), ("rule", "succeeded"), ("rule", "skipped"), ("rule", "skipped"), ("rule", "acted"),
        ("rule", "succeeded")]
    assert log["entries"][1]["details"]["output_tail"] == "backfilled"


def test_a_rule_never_fires_on_unknown_unless_it_says_so(platform: Platform) -> None:
    rule(platform)
    store_checks(platform, "unknown", "unknown")
    assert remediate(platform, "--apply")[1]["decisions"] == []
    rule(platform, status="unknown")
    code, document = remediate(platform, "--apply")
    assert code == 0 and document["decisions"][0]["result"] == "succeeded" and fired(platform) == ["2026-12-02 nba"]


def test_a_rule_command_that_hangs_is_killed_at_its_timeout_and_recorded_failed(platform: Platform) -> None:
    rule(platform, timeout="1s", run='"sleep 30"')
    store_checks(platform, "critical", "critical")
    code, document = remediate(platform, "--apply")
    (failed,) = document["decisions"]
    assert code == 2 and failed["result"] == "failed" and "timed out after" in failed["detail"]


def test_the_kill_switch_stops_rules_too(platform: Platform) -> None:
    rule(platform)
    store_checks(platform, "critical", "critical")
    platform.cli("remediate", "pause")
    code, document = remediate(platform, "--apply")
    assert code == 1 and document["decisions"][0]["guardrail"] == "kill_switch" and fired(platform) == []


@pytest.mark.parametrize(("when", "message"), [
    ('{ probe = "wbe probe" }', "remediate.rules[0].when.probe: unknown probe 'wbe probe'; configured: api probe, "
                                "web probe"),
    ('{ probe = "web probe", phase = "p" }', "set exactly one of check, probe or phase"),
    ('{ probe = "web probe", status = "ok" }', "remediate.rules[0].when.status"),
])
def test_a_bad_rule_is_a_one_line_config_error(platform: Platform, when: str, message: str) -> None:
    platform.configure(f'[[remediate.rules]]\nname = "restart"\nwhen = {when}\nrun = "true"\n')
    code, out, err = platform.cli("remediate")
    assert code == 3 and out == "" and err.count("\n") == 1 and message in err and "Traceback" not in err


def test_a_probe_rule_restarts_after_consecutive_failures(platform: Platform) -> None:
    platform.configure('[[remediate.rules]]\nname = "restart web"\nwhen = { probe = "web probe", for_runs = 3 }\n'
                       'run = "echo {{ subject }} {{ status }} >> fired.log"\n')
    start = datetime(2026, 12, 3, 8, tzinfo=UTC)
    with Store.open(f"sqlite:///{platform.ops / '.deploywatch' / 'state.db'}") as store:
        for index, status in enumerate(["critical", "ok", "critical", "critical"]):
            at = start + timedelta(hours=index)
            run = RunRecord(uuid.uuid4().hex, "check", at, at, None, status, 0)
            store.record_run(run, [FindingRecord(run.id, "probe", "web probe", status, f"web probe {status}",
                                                 fingerprint("probe", "web probe"))])
    assert remediate(platform, "--apply")[1]["decisions"] == []  # an ok run broke the streak of three
    with Store.open(f"sqlite:///{platform.ops / '.deploywatch' / 'state.db'}") as store:
        at = start + timedelta(hours=5)
        run = RunRecord(uuid.uuid4().hex, "check", at, at, None, "critical", 0)
        store.record_run(run, [FindingRecord(run.id, "probe", "web probe", "critical", "web probe critical",
                                             fingerprint("probe", "web probe"))])
    code, document = remediate(platform, "--apply")
    assert (code, document["decisions"][0]["result"]) == (0, "succeeded")
    assert fired(platform) == ["web probe critical"]


BACKOFF_RULE = """
[[checks]]
name = "phase5.grading_completeness"
table = "grading"
metric = "row_count"
group_by = "sport"
critical = "< 1"

[remediate]
backoff = "1h"
max_failures = 10

[[remediate.rules]]
name = "grading backfill"
when = { check = "phase5.grading_completeness", status = "critical" }
run = "test -f fixed.flag && echo {{ group }} >> fired.log"
max_per_day = 10
"""


def store_groups(platform: Platform, at: datetime, **statuses: str) -> None:
    """One ``canary`` run at ``at`` (run date 2026-12-02) with the watched check's finding for each group."""
    with Store.open(f"sqlite:///{platform.ops / '.deploywatch' / 'state.db'}") as store:
        run = RunRecord(uuid.uuid4().hex, "canary", at, at, date(2026, 12, 2), "critical", 0)
        store.record_run(run, [FindingRecord(run.id, "check", f"phase5.grading_completeness[{group}]", status,
                                             f"{group} {status}", fingerprint("check", group))
                               for group, status in statuses.items()])


def by_finding(document: dict[str, Any]) -> dict[str, tuple[str, str | None, str | None]]:
    return {d["finding"]: (d["result"], d["guardrail"], d["stopped_because"]) for d in document["decisions"]}


def test_a_rule_that_failed_for_a_finding_backs_off_for_that_finding_doubling_until_it_succeeds(
        platform: Platform) -> None:
    platform.configure(BACKOFF_RULE)
    store_groups(platform, datetime(2026, 12, 3, 8, tzinfo=UTC), nba="critical")
    nba, nfl = ("check phase5.grading_completeness[nba] of 2026-12-02",
                "check phase5.grading_completeness[nfl] of 2026-12-02")
    code, document = remediate(platform, "--apply", now="2026-12-03T12:00:00Z")
    assert (code, by_finding(document)[nba][0]) == (2, "failed")
    code, document = remediate(platform, now="2026-12-03T12:30:00Z")  # the plan says why it will not run
    result, guardrail, why = by_finding(document)[nba]
    assert (code, result, guardrail) == (1, "skipped", "backoff")
    assert why == f"the command failed for {nba} 1 time(s) in a row: not run for it again until 2026-12-03 13:00 UTC"
    code, document = remediate(platform, "--apply", now="2026-12-03T13:00:01Z")  # the backoff ended: it runs
    assert by_finding(document)[nba][0] == "failed"
    store_groups(platform, datetime(2026, 12, 3, 13, 30, tzinfo=UTC), nba="critical", nfl="critical")
    code, document = remediate(platform, "--apply", now="2026-12-03T14:30:00Z")
    found = by_finding(document)
    assert found[nba][1] == "backoff" and "2 time(s)" in str(found[nba][2])  # doubled: 2h after 13:00:01
    assert "until 2026-12-03 15:00 UTC" in str(found[nba][2])
    assert found[nfl][0] == "failed"  # another finding is not held back by nba's failures
    (platform.ops / "fixed.flag").write_text("")
    code, document = remediate(platform, "--apply", now="2026-12-03T15:00:02Z")
    found = by_finding(document)
    assert found[nba][0] == "succeeded" and found[nfl][1] == "backoff" and fired(platform) == ["nba"]
    code, status, _ = platform.json("remediate", "status")
    assert set(status["rules"]["grading backfill"]["findings"]) == {nfl}  # a success forgot nba's failures
    code, out, _ = platform.cli("remediate", "status")
    assert (f"rule grading backfill: last ran 2026-12-03T15:00:02+00:00, failed for {nfl} (1 failure(s), the last at "
            "2026-12-03T14:30:00+00:00)") in out
    code, log, _ = platform.json("audit")
    assert [e["details"].get("finding") for e in log["entries"] if e["decision"] in ("succeeded", "failed")] == [
        nba, nba, nfl, nba]


PHASE_RULE = """
[phases.nightly]
processors = ["load", "score"]

[[remediate.rules]]
name = "rerun nightly"
when = { phase = "nightly", status = "critical" }
run = "echo {{ subject }} {{ date }} {{ status }} >> fired.log; echo rerun started"
"""


def test_a_phase_left_incomplete_runs_its_rule_end_to_end(platform: Platform) -> None:
    platform.configure(PHASE_RULE)
    day = ("--date", "2026-12-02")
    assert platform.cli("complete", "nightly", "load", *day, "--now", "2026-12-02T22:00:00Z")[0] == 0
    code, checked, err = platform.json("check", *day, "--no-alerts", "--now", "2026-12-03T08:00:00Z")
    (phase,) = [i for i in checked["items"] if i["kind"] == "completion"]
    assert (phase["status"], checked["run_date"]) == ("critical", "2026-12-02"), err  # score never reported
    code, document = remediate(platform)
    (planned,) = document["decisions"]
    assert (planned["subject"], planned["result"], planned["finding"]) == (
        "rerun nightly", "would_act", "completion nightly of 2026-12-02")
    assert planned["why"].startswith("completion nightly critical in the last 1 run(s): nightly critical: 1/2")
    code, document = remediate(platform, "--apply")
    (done,) = document["decisions"]
    assert (code, done["result"], done["output_tail"]) == (0, "succeeded", "rerun started")
    assert fired(platform) == ["nightly 2026-12-02 critical"]

    assert platform.cli("complete", "nightly", "score", *day, "--now", "2026-12-03T09:00:00Z")[0] == 0
    platform.json("check", *day, "--no-alerts", "--now", "2026-12-03T10:00:00Z")
    code, document = remediate(platform, "--apply", now="2026-12-04T12:00:00Z")  # complete now: nothing fires
    assert (code, document["decisions"]) == (0, []) and fired(platform) == ["nightly 2026-12-02 critical"]
