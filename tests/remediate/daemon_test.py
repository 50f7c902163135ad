"""The daemon runs remediation (``[schedule] remediate``) and says, in ``GET /api/remediate`` and ``/metrics``,
when its breaker tripped, until ``deploywatch remediate reset``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from testing.daemon import NEVER, TOKEN, Daemon
from testing.gitrepo import GitRepo
from testing.platform import Platform, build_platform

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "schemas" / "remediate-status.v1.json").read_text())
DAEMON = f"""
[defaults]
critical_commits = 1

[remediate]
max_unhealthy = 40

[schedule]
remediate = "{NEVER}"
catch_up = false

[server]
token = "{TOKEN}"
"""


@pytest.fixture
def platform(git_repo: GitRepo, tmp_path: Path) -> Platform:
    built = build_platform(git_repo, tmp_path)
    built.set_deployed("api", built.shas["web2"])  # only web drifts: not every service at once
    built.configure(DAEMON)
    return built


@pytest.fixture
def daemon(platform: Platform) -> Iterator[Daemon]:
    served = Daemon(platform.config).wait_ready()
    try:
        yield served
        assert "Traceback" not in served.output()
    finally:
        served.close()


def status(daemon: Daemon) -> dict[str, object]:
    answer = daemon.http.get("/api/remediate")
    assert answer.status_code == 200, answer.text
    document: dict[str, object] = answer.json()
    assert list(Draft202012Validator(SCHEMA, format_checker=FormatChecker()).iter_errors(document)) == []
    return document


def gauge(daemon: Daemon, name: str) -> float:
    lines = [line for line in daemon.http.get("/metrics").text.splitlines() if line.startswith(name + " ")]
    assert len(lines) == 1, lines
    return float(lines[0].split()[1])


def test_the_daemon_remediates_a_drifted_service_as_a_job(platform: Platform, daemon: Daemon) -> None:
    ran = daemon.run_job("remediate")
    assert (ran.state, ran.exit_code) == ("ok", 0), ran
    assert platform.deployed("web") == platform.shas["web2"]
    with daemon.store() as store:
        (entry,) = store.deployments()
        assert (entry.service, entry.status, entry.by) == ("web", "succeeded", "deploywatch daemon")
        assert [(r.subject, r.decision, r.actor) for r in store.audit_log()] == [
            ("web", "acted", "deploywatch daemon"), ("web", "succeeded", "deploywatch daemon")]


def test_a_tripped_breaker_shows_in_the_api_and_metrics_until_reset(platform: Platform, daemon: Daemon) -> None:
    assert status(daemon)["breaker"] is None and gauge(daemon, "deploywatch_remediation_breaker_tripped") == 0
    (platform.ops / "deployed" / "api.sha").write_text("not-a-commit\n")
    daemon.run_job("remediate")
    assert platform.deployed("web") == platform.shas["base"]
    breaker = status(daemon)["breaker"]
    assert isinstance(breaker, dict) and str(breaker["reason"]).startswith("1 of 2 services unhealthy")
    assert gauge(daemon, "deploywatch_remediation_breaker_tripped") == 1
    assert platform.cli("remediate", "reset")[0] == 0
    assert status(daemon)["breaker"] is None and gauge(daemon, "deploywatch_remediation_breaker_tripped") == 0
    assert platform.cli("remediate", "pause")[0] == 0
    assert status(daemon)["paused"] is True and gauge(daemon, "deploywatch_remediation_paused") == 1
