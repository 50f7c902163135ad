"""``deploywatch deploy`` and ``rollback`` end to end: real processes, real git, a pretend platform whose deploy
script writes the deployed file that verification reads, and a probe that fails for planted commits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from testing.gitrepo import GitRepo
from testing.oracle import relevant_commits
from testing.platform import Platform, build_platform

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "deploy.v1.json"
SECRET = "hunter2-very-secret"


@pytest.fixture
def platform(git_repo: GitRepo, tmp_path: Path) -> Platform:
    return build_platform(git_repo, tmp_path)


def _ledger(platform: Platform, *services: str) -> list[dict[str, Any]]:
    code, document, err = platform.json("deployments", *services)
    assert code == 0, err
    entries: list[dict[str, Any]] = document["deployments"]
    return entries


def _valid(document: dict[str, Any]) -> None:
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()), format_checker=FormatChecker())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []


def test_a_deploy_runs_the_command_verifies_checks_and_records_success(platform: Platform) -> None:
    tip = platform.shas["web2"]
    code, document, err = platform.json("deploy", "web")
    assert code == 0, err
    _valid(document)
    assert platform.deployed("web") == tip
    (entry,) = document["deploys"]
    assert entry["status"] == "succeeded" and entry["from_commit"] == platform.shas["base"]
    assert [s["name"] for s in entry["steps"]] == ["preflight", "deploy", "verify", "post_deploy"]
    expected = relevant_commits(platform.repo, platform.shas["base"], tip, ["web/**", "shared/**"])
    assert entry["relevant_commits"] == expected and len(expected) == 3
    (stored,) = _ledger(platform, "web")
    assert (stored["id"], stored["status"], stored["how"]) == (entry["id"], "succeeded", "deploy")
    assert stored["relevant_commits"] == expected and stored["to_commit"] == tip
    assert "registry.example.com/web" in stored["output_tail"] and SECRET not in stored["output_tail"]
    # the command saw its entry's id, and its output went to the terminal (stderr in JSON mode), masked
    assert f"(entry {entry['id']}, from {platform.shas['base']})" in err
    assert SECRET not in err and SECRET not in json.dumps(document)


def test_a_failing_deploy_command_is_rolled_back_and_verified(platform: Platform) -> None:
    platform.plant("fail", platform.shas["web2"])
    code, document, err = platform.json("deploy", "web")
    assert code == 2, err
    _valid(document)
    (entry,) = document["deploys"]
    assert (entry["status"], entry["step"]) == ("rolled_back", "deploy")
    assert entry["rollback"]["status"] == "succeeded"
    assert "exited 1" in entry["reason"]
    assert platform.deployed("web") == platform.shas["base"]
    (stored,) = _ledger(platform, "web")
    assert (stored["status"], stored["step"]) == ("rolled_back", "deploy")
    assert "refused" in json.dumps(document) and SECRET not in json.dumps(document)


def test_a_failing_post_deploy_probe_rolls_back(platform: Platform) -> None:
    platform.plant("unhealthy", platform.shas["web2"])
    code, document, err = platform.json("deploy", "web")
    assert code == 2, err
    (entry,) = document["deploys"]
    assert (entry["status"], entry["step"]) == ("rolled_back", "post_deploy")
    assert "web probe critical" in entry["reason"]
    assert platform.deployed("web") == platform.shas["base"]


def test_a_deploy_the_source_never_confirms_fails_at_verify(platform: Platform) -> None:
    platform.plant("stuck", platform.shas["web2"])
    code, document, _ = platform.json("deploy", "web")
    assert code == 2
    (entry,) = document["deploys"]
    assert (entry["status"], entry["step"]) == ("rolled_back", "verify")
    assert "did not report" in entry["reason"] and "still reports" in entry["reason"]


def test_on_failure_alert_leaves_it_failed(platform: Platform) -> None:
    platform.configure(on_failure="alert")
    platform.plant("unhealthy", platform.shas["web2"])
    code, document, _ = platform.json("deploy", "web")
    assert code == 2
    assert document["deploys"][0]["status"] == "failed" and document["deploys"][0]["rollback"] is None
    assert platform.deployed("web") == platform.shas["web2"]
    assert _ledger(platform, "web")[0]["status"] == "failed"


def test_no_rollback_flag_leaves_it_failed(platform: Platform) -> None:
    platform.plant("unhealthy", platform.shas["web2"])
    code, document, _ = platform.json("deploy", "web", "--no-rollback")
    assert code == 2 and document["deploys"][0]["status"] == "failed"
    assert platform.deployed("web") == platform.shas["web2"]


def test_a_paused_deploy_keeps_the_lock_until_a_rollback_takes_it_over(platform: Platform) -> None:
    platform.configure(on_failure="pause")
    platform.plant("unhealthy", platform.shas["web2"])
    code, document, _ = platform.json("deploy", "web")
    assert code == 2 and document["deploys"][0]["status"] == "paused"
    paused_id = document["deploys"][0]["id"]
    code, again, err = platform.json("deploy", "web", "--commit", platform.shas["shared"])
    assert code == 3 and again["status"] == "blocked"
    assert "locked by" in json.dumps(again["blocked"])
    code, back, err = platform.json("rollback", "web", "--reason", "bad probe")
    assert code == 0, err
    (entry,) = back["deploys"]
    assert (entry["how"], entry["status"], entry["to_commit"]) == ("rollback", "succeeded", platform.shas["base"])
    assert platform.deployed("web") == platform.shas["base"]
    ledger = {e["id"]: e for e in _ledger(platform, "web")}
    assert ledger[paused_id]["status"] == "failed" and f"rollback #{entry['id']}" in ledger[paused_id]["reason"]
    assert ledger[entry["id"]]["reason"] == "bad probe"
    code, _, err = platform.json("deploy", "web", "--commit", platform.shas["shared"])
    assert code == 0, err


def test_a_dry_run_prints_the_commands_and_changes_nothing(platform: Platform) -> None:
    code, out, err = platform.cli("deploy", "web", "--dry-run")
    assert code == 0, err
    assert f"deploy.sh web {platform.shas['web2']}" in out
    assert f"deploy.sh web {platform.shas['base']}" in out  # the rollback it would run
    assert platform.deployed("web") == platform.shas["base"]
    assert _ledger(platform, "web") == []


def test_a_group_member_with_on_failure_alert_is_rolled_back_too(platform: Platform) -> None:
    platform.configure('[groups.pair]\ndeploy_order = ["api", "web"]\n', on_failure="alert")
    platform.plant("unhealthy", f"web {platform.shas['web2']}")
    code, document, _ = platform.json("deploy", "--group", "pair")
    assert code == 2
    assert [(d["service"], d["status"], d["step"]) for d in document["deploys"]] == [
        ("api", "rolled_back", "group"), ("web", "rolled_back", "post_deploy")]
    assert platform.deployed("api") == platform.deployed("web") == platform.shas["base"]


def test_a_dry_run_masks_secrets_in_the_commands_it_shows(platform: Platform) -> None:
    text = platform.config.read_text().replace('deploy = "sh ', 'deploy = "DEPLOY_TOKEN=${DW_TEST_TOKEN} sh ', 1)
    platform.config.write_text(text.replace("[repo]", '[[alerts.webhook]]\nurl = "http://127.0.0.1:9/${DW_TEST_TOKEN}"'
                                                      "\n\n[repo]", 1))
    import os
    os.environ["DW_TEST_TOKEN"] = "tok-" + "s3cr3t-value-123456"
    try:
        code, document, err = platform.json("deploy", "web", "--dry-run")
        code2, out, err2 = platform.cli("deploy", "web", "--dry-run")
    finally:
        del os.environ["DW_TEST_TOKEN"]
    assert code == code2 == 0, err + err2
    assert "DEPLOY_TOKEN=" in json.dumps(document) and "s3cr3t-value" not in json.dumps(document) + err
    assert "s3cr3t-value" not in out + err2


def test_a_group_that_fails_midway_rolls_back_the_members_already_deployed(platform: Platform) -> None:
    platform.configure('[groups.pair]\ndeploy_order = ["api", "web"]\n')
    platform.plant("fail", f"web {platform.shas['web2']}")
    code, document, err = platform.json("deploy", "--group", "pair")
    assert code == 2, err
    _valid(document)
    api, web = document["deploys"]
    assert (api["service"], api["status"], api["step"]) == ("api", "rolled_back", "group")
    assert api["rollback"]["status"] == "succeeded" and api["rollback"]["to_commit"] == platform.shas["base"]
    assert (web["service"], web["status"]) == ("web", "rolled_back")
    assert platform.deployed("api") == platform.deployed("web") == platform.shas["base"]
    hows = [(e["service"], e["how"], e["status"]) for e in _ledger(platform)]
    assert ("api", "rollback", "succeeded") in hows and ("api", "deploy", "succeeded") in hows


def test_a_deny_window_blocks_unless_forced_with_a_reason(platform: Platform) -> None:
    platform.configure(deny='{ cron = "* * * * *", duration = "2m", reason = "freeze" }')
    code, document, _ = platform.json("deploy", "web")
    assert code == 3 and "freeze" in json.dumps(document["blocked"])
    assert platform.deployed("web") == platform.shas["base"]
    code, _, err = platform.cli("deploy", "web", "--force")
    assert code == 3 and "--reason" in err
    code, document, err = platform.json("deploy", "web", "--force", "--reason", "hotfix INC-7")
    assert code == 0, err
    assert _ledger(platform, "web")[0]["reason"] == "forced: hotfix INC-7"


def test_rollback_returns_to_the_last_succeeded_commit_before_the_current(platform: Platform) -> None:
    assert platform.json("deploy", "web", "--commit", platform.shas["web1"])[0] == 0
    assert platform.json("deploy", "web")[0] == 0
    code, document, err = platform.json("rollback", "web")
    assert code == 0, err
    assert document["deploys"][0]["to_commit"] == platform.shas["web1"]
    assert platform.deployed("web") == platform.shas["web1"]


def test_unknown_things_are_one_line_errors(platform: Platform) -> None:
    for args, words in ((["deploy", "nope"], "unknown service"), (["deploy", "--group", "x"], "unknown group"),
                        (["deploy", "web", "--commit", "deadbeef0"], "does not name a commit"),
                        (["deploy"], "name the services"), (["rollback", "web"], "no earlier succeeded")):
        code, out, err = platform.cli(*args)
        assert code == 3, (args, out, err)
        assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_drift_shows_the_deploy_command_filled_in_for_the_tip(platform: Platform) -> None:
    _, out, _ = platform.cli("drift", "web")  # web is 3 relevant commits behind: a warning, with its command
    assert f"deploy: sh {platform.ops}/deploy.sh web {platform.shas['web2']}\n" in out


def test_a_terminal_sees_the_steps_and_a_spinner_with_the_time_waited(platform: Platform) -> None:
    import sys

    from testing.platform import process_env
    from testing.terminal import on_terminal

    platform.plant("stuck", platform.shas["web2"])
    proc, shown = on_terminal([sys.executable, "-m", "deploywatch", "deploy", "web", "--no-rollback", "--config",
                               str(platform.config)], env=process_env())
    assert proc.returncode == 2, proc.stderr
    assert "▸ web deploy: sh " in shown and "│ web now runs" not in shown and "│ accepted, but nothing changes" in shown
    assert "verify: waiting for" in shown and "\x1b[K" in shown  # the spinner line, redrawn in place
    assert any(frame in shown for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
    assert "✗ verify critical: the source did not report" in shown
    assert SECRET not in shown and "registry.example.com" in shown
