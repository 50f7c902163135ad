"""Guardrails that must hold however little a run has to do: the breaker is decided on every run, even one with
no target and no rule; real git, the pretend platform's processes, a real store and a real webhook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import GitRepo
from testing.platform import Platform, build_platform

T0 = "2026-12-03T12:00:00Z"


@pytest.fixture
def platform(git_repo: GitRepo, tmp_path: Path) -> Platform:
    built = build_platform(git_repo, tmp_path)
    built.set_deployed("web", built.shas["web2"])  # web is current: nothing to redeploy
    (built.ops / "deployed" / "api.sha").write_text("not-a-commit\n")  # api's commit cannot be known: unhealthy
    return built


def remediate(platform: Platform, *args: str) -> tuple[int, dict[str, Any]]:
    code, document, _ = platform.json("remediate", *args, "--now", T0)
    return code, document


def audit(platform: Platform) -> list[tuple[str, str, str]]:
    code, document, err = platform.json("audit")
    assert code == 0, err
    return [(e["kind"], e["subject"], e["decision"]) for e in document["entries"]]


def test_a_fleet_with_nothing_to_remediate_still_trips_the_breaker(platform: Platform) -> None:
    from testing.webhook_api import FakeWebhook

    with FakeWebhook() as hook:
        platform.configure(f'[remediate]\nmax_unhealthy = 40\n\n[[alerts.webhook]]\nurl = "{hook.url}"\n')
        code, document = remediate(platform)  # the dry run says it would trip, and writes nothing
        assert (code, document["decisions"], document["breaker"]) == (2, [], None)
        assert document["trips"].startswith("1 of 2 services unhealthy (50% > max_unhealthy 40%): api")
        assert "none of the selected services is drifted enough" in document["refused"]
        code, out, _ = platform.cli("remediate", "--now", T0)
        assert "BREAKER WOULD TRIP: 1 of 2 services unhealthy" in out and "TRIPPED" not in out
        assert audit(platform) == [] and hook.received == []
        assert platform.json("remediate", "status")[1]["breaker"] is None

        code, document = remediate(platform, "--apply")
        assert code == 2 and document["breaker"]["reason"] == document["trips"]
        assert audit(platform) == [("breaker", "fleet", "tripped")]
        sent = [(n["kind"], n["subject"], n["status"]) for body in hook.received for n in body["notifications"]]
        assert sent == [("remediate", "breaker", "critical")]
        assert "1 of 2 services unhealthy" in json.dumps(hook.received)
    code, status, _ = platform.json("remediate", "status")
    assert code == 2 and status["breaker"]["reason"].startswith("1 of 2 services unhealthy")


def test_a_healthy_fleet_with_nothing_to_remediate_trips_nothing(platform: Platform) -> None:
    platform.set_deployed("api", platform.shas["web2"])
    code, document = remediate(platform, "--apply")
    assert (code, document["trips"], document["decisions"]) == (0, None, [])
    assert audit(platform) == []


SECRET = "rule-key-5f2b9c71d0"


def store_probe(platform: Platform, status: str) -> None:
    import uuid
    from datetime import UTC, datetime

    from deploywatch.core.findings import fingerprint
    from deploywatch.store import Store
    from deploywatch.store.records import FindingRecord, RunRecord

    at = datetime(2026, 12, 3, 8, tzinfo=UTC)
    with Store.open(f"sqlite:///{platform.ops / '.deploywatch' / 'state.db'}") as store:
        run = RunRecord(uuid.uuid4().hex, "check", at, at, None, status, 0)
        store.record_run(run, [FindingRecord(run.id, "probe", "web probe", status, f"web probe {status}",
                                             fingerprint("probe", "web probe"))])


def everything_stored(platform: Platform) -> str:
    import sqlite3

    with sqlite3.connect(platform.ops / ".deploywatch" / "state.db") as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return repr({table: db.execute(f"SELECT * FROM {table}").fetchall() for table in tables})


def test_a_secret_in_a_rule_s_command_never_reaches_output_alerts_or_the_store(
        platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    from testing.webhook_api import FakeWebhook

    platform.set_deployed("api", platform.shas["web2"])
    monkeypatch.setenv("BACKFILL_KEY", SECRET)
    store_probe(platform, "critical")
    with FakeWebhook() as hook:
        platform.configure(f'[[remediate.rules]]\nname = "restart web"\nwhen = {{ probe = "web probe" }}\n'
                           f'run = "echo restarting with ${{BACKFILL_KEY}}; exit 1"\n\n'
                           f'[[alerts.webhook]]\nurl = "{hook.url}"\n')
        outputs = [platform.cli("remediate", "--now", T0, *fmt) for fmt in ((), ("--format", "markdown"))]
        code, document = remediate(platform)
        assert document["decisions"][0]["command"] == "echo restarting with ***; exit 1"
        code, document = remediate(platform, "--apply")  # it fails: a critical finding goes to the webhook
        assert code == 2 and document["decisions"][0]["result"] == "failed"
        assert document["decisions"][0]["output_tail"] == "restarting with ***"
        outputs.append(platform.cli("audit", "--format", "json"))
        outputs.append(platform.cli("remediate", "status", "--format", "json"))
        sent = repr(hook.received)
    assert "restart web" in sent and SECRET not in sent
    assert all(SECRET not in out + err for _, out, err in outputs)
    assert SECRET not in repr(document) and SECRET not in everything_stored(platform)


def test_a_quiet_service_s_failed_deploy_counts_however_busy_the_others_are(platform: Platform) -> None:
    from datetime import UTC, datetime, timedelta

    from deploywatch.store import Store
    from deploywatch.store.deployments import DeploymentRecord

    platform.set_deployed("api", platform.shas["web2"])
    platform.configure("[remediate]\nmax_unhealthy = 40\n")
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with Store.open(f"sqlite:///{platform.ops / '.deploywatch' / 'state.db'}") as store:
        store.record_deployment(DeploymentRecord("api", platform.shas["web2"], "failed", "deploy", "ops", start))
        for minute in range(1, 121):  # web deploys busily after api's failure
            store.record_deployment(DeploymentRecord("web", platform.shas["web2"], "succeeded", "record", "ops",
                                                     start + timedelta(minutes=minute)))
    code, document = remediate(platform)
    assert document["unhealthy"] == ["api"]
    assert code == 2 and document["trips"].startswith("1 of 2 services unhealthy (50% > max_unhealthy 40%): api")


def test_a_tripping_breaker_outranks_a_refused_selector_in_the_exit_code(platform: Platform) -> None:
    from datetime import UTC, datetime

    from deploywatch.store import Store
    from deploywatch.store.deployments import DeploymentRecord

    for name in ("web", "api"):  # both drifted: a run without --all is refused
        platform.set_deployed(name, platform.shas["base"])
    platform.configure("[remediate]\nmax_unhealthy = 40\n")
    with Store.open(f"sqlite:///{platform.ops / '.deploywatch' / 'state.db'}") as store:
        store.record_deployment(DeploymentRecord("api", platform.shas["web2"], "failed", "deploy", "ops",
                                                 datetime(2026, 12, 1, tzinfo=UTC)))
    code, document = remediate(platform, "--apply")
    assert document["refused"].startswith("every configured service (2)") and document["trips"]
    assert code == 2 and audit(platform) == [("redeploy", "fleet", "refused"), ("breaker", "fleet", "tripped")]
