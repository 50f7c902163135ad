"""The guarded deploy's guarantees with real processes: one deploy per service at a time, a ``kill -9`` mid-deploy
ends ``abandoned`` (never succeeded) after the lease, no data is never success, and every finished deploy is a
finding sent to the alert sinks, masked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from testing.gitrepo import GitRepo
from testing.platform import Platform, build_platform, process_env
from testing.webhook_api import FakeWebhook

SECRET = "hunter2-very-secret"


@pytest.fixture
def platform(git_repo: GitRepo, tmp_path: Path) -> Platform:
    return build_platform(git_repo, tmp_path)


def _start(platform: Platform, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "deploywatch", *args, "--config", str(platform.config),
                             "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=process_env(), start_new_session=True)


def _wait_for_started(platform: Platform, service: str, timeout: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, document, _ = platform.json("deployments", service)
        started = [e for e in document["deployments"] if e["status"] == "started"]
        if started and document["locks"]:
            return started[0]
        time.sleep(0.2)
    raise AssertionError("the deploy never started")


def test_a_second_deploy_of_a_locked_service_exits_3_naming_the_holder(platform: Platform) -> None:
    (platform.ops / "plant" / "sleep").write_text("4")
    first = _start(platform, "deploy", "web")
    try:
        _wait_for_started(platform, "web")
        code, document, _ = platform.json("deploy", "web")
        assert code == 3
        assert "web is locked by" in document["blocked"][0] and f":{first.pid}:" in document["blocked"][0]
        code, document, _ = platform.json("deploy", "api")  # another service is not held up
        assert code == 0
    finally:
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert json.loads(out)["deploys"][0]["status"] == "succeeded"


def test_a_deploy_killed_midway_is_abandoned_after_the_lease_and_frees_the_lock(platform: Platform) -> None:
    platform.configure(lease="6s")
    (platform.ops / "plant" / "sleep").write_text("30")
    victim = _start(platform, "deploy", "web")
    entry = _wait_for_started(platform, "web")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=10)
    code, document, _ = platform.json("deployments", "web")
    assert document["deployments"][0]["status"] == "started"  # within the lease it is still running, as far as known
    time.sleep(6.5)
    code, document, _ = platform.json("deployments", "web")
    (stored,) = document["deployments"]
    assert (stored["id"], stored["status"]) == (entry["id"], "abandoned") and document["locks"] == []
    assert "lease expired" in stored["reason"]
    (platform.ops / "plant" / "sleep").unlink()
    code, document, err = platform.json("deploy", "web")
    assert code == 0, err
    # the ledger source never counts an abandoned entry as deployed
    code, ledger, _ = platform.json("deployments", "web")
    assert [e["status"] for e in ledger["deployments"]] == ["succeeded", "abandoned"]


def test_a_ledger_source_cannot_verify_so_the_deploy_warns(platform: Platform) -> None:
    text = platform.config.read_text()
    text = text.replace(f'deployed = {{ file = "{platform.ops}/deployed/web.sha" }}', "deployed = { ledger = true }")
    text = text.replace('probes = ["web probe"]', "probes = []")
    platform.config.write_text(text)
    code, document, err = platform.json("deploy", "web", "--yes")  # no ledger entry yet: preflight needs --yes
    assert code == 1, err
    entry = document["deploys"][0]
    assert entry["status"] == "succeeded" and entry["warnings"]
    assert any(s["name"] == "verify" and s["status"] == "warning" for s in entry["steps"])


def test_a_source_that_cannot_be_read_is_a_failure_not_a_success(platform: Platform) -> None:
    text = platform.config.read_text().replace(f'"{platform.ops}/deployed/web.sha"',
                                               f'"{platform.ops}/deployed/web-missing.sha"', 1)
    platform.config.write_text(text)
    code, document, _ = platform.json("deploy", "web", "--yes", "--no-rollback")
    assert code == 2
    entry = document["deploys"][0]
    assert (entry["status"], entry["step"]) == ("failed", "verify") and "no reading" in entry["reason"]


def test_post_deploy_data_checks_run_in_the_warehouse(platform: Platform, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("CREATE TABLE predictions AS SELECT * FROM (VALUES (1, 0.5), (2, NULL), (3, NULL)) t(id, line)")
    text = platform.config.read_text().replace('probes = ["web probe"]',
                                               'probes = ["web probe"]\nchecks = ["coverage"]', 1)
    platform.config.write_text(text + f"""
[warehouse]
url = "duckdb:///{warehouse}"

[[checks]]
name = "coverage"
table = "predictions"
metric = "percent(line IS NOT NULL)"
critical = "< 90%"
""")
    code, document, _ = platform.json("deploy", "web")
    assert code == 3  # unhealthy now (preflight runs the post-deploy checks too): deploying needs --yes
    assert "Current health critical" in document["blocked"][0] and "check coverage critical" in document["blocked"][0]
    code, document, _ = platform.json("deploy", "web", "--yes")
    assert code == 2
    entry = document["deploys"][0]
    assert (entry["status"], entry["step"]) == ("rolled_back", "post_deploy")
    post = next(s for s in entry["steps"] if s["name"] == "post_deploy")
    with duckdb.connect(str(warehouse), read_only=True) as conn:  # the value is the hand-written SQL's
        (expected,) = conn.execute("SELECT 100.0 * count(*) FILTER (WHERE line IS NOT NULL) / count(*) "
                                   "FROM predictions").fetchone() or (None,)
    assert post["checks"][0]["value"] == pytest.approx(expected)
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("UPDATE predictions SET line = 1.0")
    code, document, err = platform.json("deploy", "web")
    assert code == 0, err
    health = next(c for c in document["deploys"][0]["steps"][0]["checks"] if c["name"] == "health")
    assert health["status"] == "ok" and "1 post-deploy check" in health["reason"]


def test_every_finished_deploy_is_a_finding_sent_to_the_sinks_masked(platform: Platform) -> None:
    with FakeWebhook() as hook:
        platform.config.write_text(platform.config.read_text() + f'\n[[alerts.webhook]]\nurl = "{hook.url}"\n')
        platform.plant("unhealthy", platform.shas["web2"])
        code, _, err = platform.json("deploy", "web")
        assert code == 2, err
        (sent,) = hook.wait_for(1, timeout=10)
        body = json.dumps(sent.json)
        assert "deploy" in body and "rolled back" in body and "web probe critical" in body
        assert SECRET not in body
        platform.plant("unhealthy")
        code, _, err = platform.json("deploy", "web")
        assert code == 0, err
        resolved = hook.wait_for(2, timeout=10)[1]
        assert "resolved" in json.dumps(resolved.json)
