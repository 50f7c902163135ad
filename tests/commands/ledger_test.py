"""``deploywatch record`` and ``deploywatch deployments`` over a real repository and store, and drift reading the
ledger (``deployed = { ledger = true }``) end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploywatch.cli import main
from testing.gitrepo import GitRepo
from testing.ledger import Scene, build_scene
from testing.oracle import relevant_commits, relevant_commits_behind

WEB = (["web/**", "shared/**"], ["web/docs/**"])
NOW = "2026-09-22T08:00:00Z"


@pytest.fixture
def scene(git_repo: GitRepo, tmp_path: Path) -> Scene:
    return build_scene(git_repo, tmp_path)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def drift(scene: Scene, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict[str, Any]]]:
    code, out, _ = cli(capsys, "drift", "--format", "json", "--config", str(scene.config), "--now", NOW)
    return code, {s["name"]: s for s in json.loads(out)["services"]}


def test_drift_reads_the_ledger_and_record_feeds_it(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    c, config = scene.commits, str(scene.config)
    code, services = drift(scene, capsys)
    assert code == 3
    for name in ("web", "api"):
        assert (services[name]["status"], services[name]["deployed_commit"]) == ("unknown", None)
        assert f"no deploy of {name} is recorded" in services[name]["reason"]
    assert not (scene.config.parent / ".deploywatch").exists()  # reading the ledger created no store

    code, out, err = cli(capsys, "record", "web", c["web1"][:10], "--config", config, "--now", NOW,
                         "--url", "https://bot:hunter2@ci.example.com/job/1")
    assert (code, err) == (0, "")
    assert out == f"recorded deployment 1: web {c['web1'][:8]} succeeded by Test Author (the service's first entry)\n"
    code, services = drift(scene, capsys)
    assert services["web"]["deployed_commit"] == c["web1"]
    assert services["web"]["relevant_commits_behind"] == relevant_commits_behind(scene.repo, c["web1"], c["web2"],
                                                                                  *WEB)
    assert "no succeeded deploy of api in the ledger" in services["api"]["reason"]  # the store exists now

    code, out, _ = cli(capsys, "record", "web", "main", "--config", config, "--now", "2026-09-22T09:00:00Z",
                       "--by", "ci", "--format", "json")
    assert code == 0
    entry = json.loads(out)["deployments"][0]
    assert (entry["from_commit"], entry["to_commit"], entry["how"], entry["by"]) == (c["web1"], c["web2"], "record",
                                                                                     "ci")
    assert entry["relevant_commits"] == relevant_commits(scene.repo, c["web1"], c["web2"], *WEB)
    code, out, _ = cli(capsys, "record", "web", c["base"], "--status", "failed", "--reason", "smoke test failed",
                       "--config", config, "--now", "2026-09-22T10:00:00Z")
    assert code == 0 and "failed" in out
    code, services = drift(scene, capsys)
    assert (services["web"]["deployed_commit"], services["web"]["state"]) == (c["web2"], "current")  # failed: no

    code, out, _ = cli(capsys, "deployments", "--config", config, "--now", "2026-09-22T11:00:00Z", "--format", "json")
    assert code == 0
    listed = json.loads(out)
    assert listed["schema"] == "deploywatch.deployments/v1"
    assert [(d["id"], d["status"]) for d in listed["deployments"]] == [(3, "failed"), (2, "succeeded"),
                                                                       (1, "succeeded")]
    assert listed["deployments"][2]["url"] == "https://***@ci.example.com/job/1"
    assert "hunter2" not in out
    _, out, _ = cli(capsys, "deployments", "web", "--since", "90m", "--config", config, "--now",
                    "2026-09-22T11:00:00Z", "--format", "json")
    assert [d["id"] for d in json.loads(out)["deployments"]] == [3]
    _, out, _ = cli(capsys, "deployments", "api", "--config", config, "--now", NOW, "--format", "json")
    assert json.loads(out)["deployments"] == []
    code, out, _ = cli(capsys, "deployments", "--config", config, "--now", "2026-09-22T11:00:00Z",
                       "--format", "markdown")
    assert code == 0 and out.startswith("| Id | Service | From | To | Status |")
    assert "smoke test failed" in out
    code, out, _ = cli(capsys, "deployments", "--config", config, "--now", "2026-09-22T11:00:00Z")
    assert code == 0 and "Deployments, newest first" in out and "Test Author" in out


@pytest.mark.parametrize(("args", "message"), [
    (["record", "nope", "main"], "unknown service 'nope'; configured: web, api"),
    (["record", "web", "v9.9"], "unknown commit 'v9.9': not in the repository"),
    (["deployments", "nope"], "unknown service 'nope'; configured: web, api"),
    (["deployments", "--since", "soon"], "--since:"),
])
def test_bad_input_is_one_line_and_exit_3(scene: Scene, capsys: pytest.CaptureFixture[str], args: list[str],
                                          message: str) -> None:
    code, out, err = cli(capsys, *args, "--config", str(scene.config))
    assert code == 3 and out == ""
    assert message in err and err.count("\n") == 1
