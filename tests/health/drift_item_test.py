"""``check``'s drift item names the worst service — by status, then relevant commits behind, then age — and its value
is that service's relevant count, as ``deploywatch drift`` reports it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploywatch.cli import main
from testing.gitrepo import GitRepo, write_config, write_deployed

NOW = "2026-09-30T00:00:00Z"


def _config(tmp_path: Path, repo: GitRepo, names: list[str], base: str) -> Path:
    lines = ['[repo]\npath = "repo"\n']
    for name in names:
        write_deployed(tmp_path, name, base)
        lines.append(f'[services.{name}]\npaths = ["{name}/**"]\ndeployed = {{ file = "deployed/{name}.sha" }}\n')
    return write_config(tmp_path, "\n".join(lines))


def _commits(repo: GitRepo, name: str, count: int) -> None:
    for i in range(count):
        repo.commit(f"{name} change {i}", {f"{name}/main.py": str(i)})


def _check_and_drift(capsys: pytest.CaptureFixture[str], config: Path,
                     now: str = NOW) -> tuple[dict[str, Any], dict[str, Any]]:
    main(["check", "--config", str(config), "--now", now, "--format", "json", "--no-alerts"])
    check = json.loads(capsys.readouterr().out)
    main(["drift", "--config", str(config), "--now", now, "--format", "json"])
    drift = json.loads(capsys.readouterr().out)
    item = next(i for i in check["items"] if i["kind"] == "drift")
    return item, {s["name"]: s for s in drift["services"]}


def test_the_drift_item_names_the_service_with_the_most_relevant_commits_among_the_worst(
        git_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = git_repo.commit("base", {"frontend/main.py": "-", "emailservice/main.py": "-", "cart/main.py": "-"})
    _commits(git_repo, "frontend", 11)  # critical (≥ 10 relevant), listed first
    _commits(git_repo, "emailservice", 50)  # critical too, and further behind
    _commits(git_repo, "cart", 4)  # a warning
    config = _config(tmp_path, git_repo, ["frontend", "cart", "emailservice"], base)
    item, services = _check_and_drift(capsys, config)
    assert item["status"] == "critical"
    assert item["summary"].startswith("emailservice 65 behind (50 relevant")
    assert item["value"] == services["emailservice"]["relevant_commits_behind"] == 50


def test_among_equally_far_behind_services_the_older_drift_is_named(
        git_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = git_repo.commit("base", {"early/main.py": "-", "late/main.py": "-"})
    _commits(git_repo, "early", 10)
    _commits(git_repo, "late", 10)
    config = _config(tmp_path, git_repo, ["late", "early"], base)
    item, services = _check_and_drift(capsys, config)
    assert services["early"]["drift_age_seconds"] > services["late"]["drift_age_seconds"]
    assert item["summary"].startswith("early 20 behind (10 relevant")
    assert item["value"] == 10


def test_a_critical_service_is_named_before_a_warning_one_further_behind(
        git_repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = git_repo.commit("base", {"aged/main.py": "-", "busy/main.py": "-"})
    _commits(git_repo, "busy", 5)  # a warning by count (≥ 3), recent
    tip = git_repo.head()
    config = write_config(tmp_path, '[repo]\npath = "repo"\n'
                                    '[services.busy]\npaths = ["busy/**"]\ndeployed = { file = "deployed/busy.sha" }\n'
                                    '[services.aged]\npaths = ["aged/**"]\ndeployed = { file = "deployed/aged.sha" }\n'
                                    'critical_commits = 1\n')
    write_deployed(tmp_path, "busy", base)
    write_deployed(tmp_path, "aged", base)
    git_repo.commit("aged change", {"aged/main.py": "1"})
    assert tip != git_repo.head()
    item, services = _check_and_drift(capsys, config, "2026-09-21T15:00:00Z")  # minutes after the commits
    assert services["aged"]["status"] == "critical" and services["busy"]["status"] == "warning"
    assert item["summary"].startswith("aged ")
    assert item["value"] == 1
