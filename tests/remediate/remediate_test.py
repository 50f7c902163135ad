"""``deploywatch remediate`` end to end: real git, a pretend platform whose deploy script writes the deployed file
that drift and verification read, real processes and a real store; every guardrail trips once."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from deploywatch.store import Store
from testing.gitrepo import GitRepo
from testing.platform import Platform, build_platform

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
T0 = "2026-12-03T12:00:00Z"
LATER = "2026-12-03T14:00:01Z"  # past min_interval (1h) and the first backoff (1h)
REMEDIATE = """
[defaults]
critical_commits = 1

[remediate]
min_interval = "1h"
backoff = "1h"
{extra}
"""


@pytest.fixture
def platform(git_repo: GitRepo, tmp_path: Path) -> Platform:
    built = build_platform(git_repo, tmp_path)
    built.configure(REMEDIATE.format(extra=""))
    return built


def configure(platform: Platform, extra: str = "", **kwargs: Any) -> None:
    platform.configure(REMEDIATE.format(extra=extra), **kwargs)


def remediate(platform: Platform, *args: str, now: str = T0) -> tuple[int, dict[str, Any]]:
    code, document, _ = platform.json("remediate", *args, "--now", now)
    valid(document, "remediate.v1.json")
    return code, document


def decisions(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["subject"]: d for d in document["decisions"]}


def audit(platform: Platform) -> list[dict[str, Any]]:
    code, document, err = platform.json("audit")
    assert code == 0, err
    valid(document, "audit.v1.json")
    entries: list[dict[str, Any]] = document["entries"]
    return entries


def ledger(platform: Platform) -> list[dict[str, Any]]:
    code, document, err = platform.json("deployments")
    assert code == 0, err
    entries: list[dict[str, Any]] = document["deployments"]
    return entries


def valid(document: dict[str, Any], schema: str) -> None:
    validator = Draft202012Validator(json.loads((SCHEMAS / schema).read_text()), format_checker=FormatChecker())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []


def store_rows(platform: Platform) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables remediation writes (read with sqlite3, not through the code under test)."""
    path = platform.ops / ".deploywatch" / "state.db"
    if not path.exists():
        return {}
    with sqlite3.connect(path) as db:
        return {table: db.execute(f"SELECT * FROM {table}").fetchall()
                for table in ("remediation_audit", "remediation_state", "deployments", "runs", "outbox")}


def new_web_commit(platform: Platform, name: str) -> str:
    platform.shas[name] = platform.repo.commit(f"web: {name}", {"web/app.py": f"{name}\n"})
    return platform.shas[name]


def test_a_dry_run_names_what_it_would_deploy_and_why_and_changes_nothing(platform: Platform) -> None:
    before = store_rows(platform)
    code, document = remediate(platform, "--service", "web")
    assert code == 0 and document["dry_run"] is True
    (web,) = document["decisions"]
    assert (web["kind"], web["subject"], web["result"]) == ("redeploy", "web", "would_act")
    assert (web["from_commit"], web["to_commit"]) == (platform.shas["base"], platform.shas["web2"])
    assert web["why"].startswith("drift critical: 4 behind: 3 relevant")
    assert web["deploy"]["dry_run"] is True and web["deploy"]["deploys"][0]["status"] == "planned"
    assert platform.deployed("web") == platform.shas["base"]
    after = store_rows(platform)
    assert all(after.get(t, []) == before.get(t, []) for t in after), "a dry run wrote to the store"
    assert ledger(platform) == [] and audit(platform) == []
    code, out, _ = platform.cli("remediate", "--service", "web", "--now", T0)
    assert code == 0 and "would redeploy web" in out and "why: drift critical" in out and "dry run" in out
    code, out, _ = platform.cli("remediate", "--service", "web", "--now", T0, "--format", "markdown")
    assert out.startswith("### deploywatch remediate (dry run): exit 0\n")
    assert f"| redeploy | web | {platform.shas['base'][:8]} | {platform.shas['web2'][:8]} | would_act | - |" in out
    assert store_rows(platform) == after


def test_apply_deploys_through_the_guarded_deploy_and_audits_each_step(platform: Platform) -> None:
    code, document = remediate(platform, "--service", "web", "--apply")
    assert code == 0, document
    assert decisions(document)["web"]["result"] == "succeeded"
    assert platform.deployed("web") == platform.shas["web2"]
    (entry,) = ledger(platform)
    assert (entry["service"], entry["status"], entry["to_commit"]) == ("web", "succeeded", platform.shas["web2"])
    assert entry["reason"].startswith("remediate: drift critical")
    assert [(e["subject"], e["decision"]) for e in audit(platform)] == [("web", "acted"), ("web", "succeeded")]
    # the decision went to the store's runs as a remediate finding (the alert path)
    runs = store_rows(platform)["runs"]
    assert [r[1] for r in runs] == ["remediate"]


def test_an_all_matching_target_set_is_refused_without_all_and_max_per_run_limits_it_with_all(
        platform: Platform) -> None:
    code, document = remediate(platform, "--apply")
    assert code == 3 and document["refused"].startswith("every configured service (2)")
    assert document["decisions"] == [] and ledger(platform) == []
    assert [(e["subject"], e["decision"]) for e in audit(platform)] == [("fleet", "refused")]
    code, document = remediate(platform, "--apply", "--all")
    found = decisions(document)
    assert found["web"]["result"] == "succeeded"
    assert (found["api"]["result"], found["api"]["guardrail"]) == ("skipped", "max_per_run")
    assert code == 1 and platform.deployed("api") == platform.shas["base"]


def test_an_empty_target_set_does_nothing(platform: Platform) -> None:
    platform.set_deployed("web", platform.shas["web2"])
    code, document = remediate(platform, "--service", "web", "--apply")
    assert code == 0 and document["decisions"] == [] and "none of the selected" in document["refused"]
    assert ledger(platform) == []


def test_min_interval_holds_a_service_back_until_it_has_passed(platform: Platform) -> None:
    remediate(platform, "--service", "web", "--apply")
    tip = new_web_commit(platform, "web3")
    code, document = remediate(platform, "--service", "web", "--apply", now="2026-12-03T12:30:00Z")
    web = decisions(document)["web"]
    assert (code, web["result"], web["guardrail"]) == (1, "skipped", "min_interval")
    assert platform.deployed("web") != tip
    code, document = remediate(platform, "--service", "web", "--apply", now=LATER)
    assert decisions(document)["web"]["result"] == "succeeded" and platform.deployed("web") == tip
    assert audit(platform)[2]["guardrail"] == "min_interval"


def test_a_failed_commit_is_never_retried_and_a_new_one_waits_for_the_backoff_which_a_success_resets(
        platform: Platform) -> None:
    platform.plant("fail", platform.shas["web2"])
    code, document = remediate(platform, "--service", "web", "--apply")
    assert code == 2 and decisions(document)["web"]["result"] == "failed"
    assert platform.deployed("web") == platform.shas["base"]  # rolled back by the guarded deploy
    code, document = remediate(platform, "--service", "web", "--apply", now="2026-12-04T12:00:00Z")
    assert decisions(document)["web"]["guardrail"] == "failed_commit"
    tip = new_web_commit(platform, "web3")
    code, document = remediate(platform, "--service", "web", "--apply", now="2026-12-03T12:30:00Z")
    assert decisions(document)["web"]["guardrail"] == "backoff"
    code, document = remediate(platform, "--service", "web", "--apply", now=LATER)
    assert decisions(document)["web"]["result"] == "succeeded" and platform.deployed("web") == tip
    code, status, _ = platform.json("remediate", "status")
    assert status["services"]["web"]["failures"] == 0 and "failed_relevant" not in status["services"]["web"]


def test_the_breaker_trips_on_unhealthy_services_says_so_everywhere_until_reset(platform: Platform) -> None:
    configure(platform, "max_unhealthy = 40")
    (platform.ops / "deployed" / "api.sha").write_text("not-a-commit\n")  # api's commit cannot be known
    code, document = remediate(platform, "--service", "web", "--apply")
    assert code == 2 and document["trips"].startswith("1 of 2 services unhealthy (50% > max_unhealthy 40%): api")
    assert decisions(document)["web"]["guardrail"] == "breaker" and ledger(platform) == []
    platform.set_deployed("api", platform.shas["base"])  # healthy again: the breaker stays open until reset
    code, document = remediate(platform, "--service", "web", "--apply")
    assert decisions(document)["web"]["guardrail"] == "breaker" and document["breaker"]["reason"]
    code, status, _ = platform.json("remediate", "status")
    assert code == 2 and status["breaker"]["reason"].startswith("1 of 2 services unhealthy")
    assert ("breaker", "tripped") in [(e["kind"], e["decision"]) for e in audit(platform)]
    assert platform.cli("remediate", "reset", "--reason", "api fixed")[0] == 0
    code, status, _ = platform.json("remediate", "status")
    assert code == 0 and status["breaker"] is None
    code, document = remediate(platform, "--service", "web", "--apply")
    assert decisions(document)["web"]["result"] == "succeeded"


def test_the_breaker_trips_when_the_last_remediations_failed(platform: Platform) -> None:
    configure(platform, "max_failures = 2")
    platform.plant("fail", platform.shas["web2"], platform.shas["api1"], platform.shas["shared"])
    code, document = remediate(platform, "--apply", "--all", "--no-alerts")  # max_per_run 1: web fails
    assert decisions(document)["web"]["result"] == "failed" and document["trips"] is None
    configure(platform, "max_failures = 2\nmax_per_run = 2")
    code, document = remediate(platform, "--apply", "--all", now=LATER)  # web: failed commit; api fails
    found = decisions(document)
    assert found["web"]["guardrail"] == "failed_commit" and found["api"]["result"] == "failed"
    assert document["trips"] == "the last 2 remediations failed (max_failures 2)"
    code, status, _ = platform.json("remediate", "status")
    assert code == 2 and status["breaker"]["reason"] == document["trips"]


def test_an_open_deny_window_skips_redeploys(platform: Platform) -> None:
    configure(platform, deny='{ cron = "0 12 * * *", duration = "1h", reason = "release freeze" }')
    code, document = remediate(platform, "--service", "web", "--apply")
    web = decisions(document)["web"]
    assert (code, web["guardrail"]) == (1, "deny_window") and "release freeze" in web["stopped_because"]
    assert ledger(platform) == []


def test_the_kill_switch_pause_and_the_config_stop_everything(platform: Platform) -> None:
    assert platform.cli("remediate", "pause", "--reason", "incident 42", "--by", "ops")[0] == 0
    code, document = remediate(platform, "--service", "web", "--apply")
    assert decisions(document)["web"]["guardrail"] == "kill_switch" and document["paused"] is True
    assert platform.json("remediate", "status")[0] == 1
    assert platform.cli("remediate", "resume", "--by", "ops")[0] == 0
    configure(platform, "enabled = false")
    code, document = remediate(platform, "--service", "web", "--apply")
    web = decisions(document)["web"]
    assert (code, web["guardrail"], web["stopped_because"]) == (1, "kill_switch", "[remediate] enabled = false")
    assert ledger(platform) == []
    kinds = [(e["kind"], e["decision"], e["actor"]) for e in audit(platform)]
    assert kinds[:2] == [("switch", "paused", "ops"), ("redeploy", "skipped", kinds[1][2])]
    assert ("switch", "resumed", "ops") in kinds


def test_the_audit_log_is_append_only(platform: Platform) -> None:
    remediate(platform, "--service", "web", "--apply")
    first = audit(platform)
    new_web_commit(platform, "web3")
    remediate(platform, "--service", "web", "--apply", now="2026-12-03T12:10:00Z")
    remediate(platform, "--service", "web", "--apply", now=LATER)
    later = audit(platform)
    assert later[:len(first)] == first and len(later) == len(first) + 3
    assert [e["id"] for e in later] == sorted(e["id"] for e in later)
    code, recent, _ = platform.json("audit", "--since", "2026-12-03T13:00:00Z")
    assert code == 0
    assert [e["id"] for e in recent["entries"]] == [e["id"] for e in later[-2:]]
    source = (Path(__file__).resolve().parents[2] / "src/deploywatch/store/remediation.py").read_text()
    assert "UPDATE remediation_audit" not in source and "DELETE FROM remediation_audit" not in source


def test_one_remediation_acts_at_a_time(platform: Platform) -> None:
    with Store.open(f"sqlite:///{platform.ops / '.deploywatch' / 'state.db'}") as store:
        now = datetime.now(UTC)
        until = now + timedelta(minutes=5)
        assert store.claim_remediation_lock("other-host:42:abc", now, until).held_by is None
    code, document = remediate(platform, "--service", "web", "--apply")
    assert code == 3 and document["refused"] == (f"another remediation is running (other-host:42:abc, its lock "
                                                 f"lapses at {until:%Y-%m-%d %H:%M:%S} UTC unless renewed); try later")
    assert ledger(platform) == []
    assert platform.json("remediate", "status")[1]["running"]["holder"] == "other-host:42:abc"
    assert remediate(platform, "--service", "web")[1]["decisions"][0]["result"] == "would_act"  # a dry run takes none
    with Store.open(f"sqlite:///{platform.ops / '.deploywatch' / 'state.db'}") as store:
        assert store.release_remediation_lock("other-host:42:abc")
    code, document = remediate(platform, "--service", "web", "--apply")
    assert code == 0 and platform.json("remediate", "status")[1]["running"] is None


def test_decisions_reach_the_alert_sinks_through_the_outbox_with_secrets_masked(platform: Platform) -> None:
    from testing.webhook_api import FakeWebhook

    with FakeWebhook() as hook:
        configure(platform, f'[[alerts.webhook]]\nurl = "{hook.url}"\n')
        platform.plant("fail", platform.shas["web2"])
        code, document = remediate(platform, "--service", "web", "--apply")
        assert code == 2
        sent = json.dumps(hook.received)
    assert "hunter2-very-secret" not in sent and "hunter2-very-secret" not in json.dumps(document)
    kinds = [(n["kind"], n["subject"], n["status"]) for body in hook.received for n in body["notifications"]]
    assert kinds == [("remediate", "redeploy:web", "critical"), ("deploy", "web", "critical")]


@pytest.mark.parametrize(("args", "message"), [
    (("--service", "nope"), "unknown service 'nope'; configured: web, api"),
    (("--service", "web", "--all"), "name services with --service or give --all, not both"),
    (("--now", "yesterday"), "--now"),
    (("--service", "docs"), "--service docs: services.docs has no deploy command, so remediate cannot redeploy it"),
])
def test_bad_input_is_one_line_and_exit_3(platform: Platform, args: tuple[str, ...], message: str) -> None:
    configure(platform, f'[services.docs]\npaths = ["docs/**"]\ndeployed = {{ file = "{platform.ops}/docs.sha" }}\n')
    code, out, err = platform.cli("remediate", *args)
    assert code == 3 and out == "" and err.count("\n") == 1 and message in err and "Traceback" not in err
    assert store_rows(platform).get("remediation_audit", []) == []
