"""Statuses from thresholds: counts, ages, overrides, docs-only drift, production ahead of the branch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploywatch.cli import main
from testing.gitrepo import BASE_TIME, GitRepo, write_config, write_deployed

HOUR = 3600


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("base", {"svc/a.py": "0", "docs/x.md": "0"})
    return repo


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], deployed: str, now: int, extra: str = "") -> dict:  # type: ignore[type-arg]
    write_deployed(tmp_path, "svc", deployed)
    config = write_config(tmp_path, '[repo]\npath = "repo"\n[defaults]\nexclude = ["docs/**"]\n'
                                    'warn_commits = 3\ncritical_commits = 5\nwarn_after = "2h"\ncritical_after = "1d"\n'
                                    '[services.svc]\npaths = ["svc/**"]\n'
                                    f'deployed = {{ file = "deployed/svc.sha" }}\n{extra}')
    code = main(["drift", "--config", str(config), "--format", "json", "--now", _iso(now)])
    service = json.loads(capsys.readouterr().out)["services"][0]
    service["exit"] = code
    return service  # type: ignore[no-any-return]


def test_docs_only_drift_is_ok(repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deployed = repo.head()
    for i in range(12):
        repo.commit(f"docs {i}", {"docs/x.md": f"v{i}"}, advance=10 * HOUR)
    service = run(tmp_path, capsys, deployed, repo.clock)
    assert (service["status"], service["state"], service["commits_behind"]) == ("ok", "behind", 12)
    assert service["exit"] == 0


@pytest.mark.parametrize(("commits", "status"), [(2, "ok"), (3, "warning"), (4, "warning"), (5, "critical")])
def test_commit_count_rule(repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str], commits: int,
                           status: str) -> None:
    deployed = repo.head()
    for i in range(commits):
        repo.commit(f"svc {i}", {"svc/a.py": f"v{i}"}, advance=60)
    assert run(tmp_path, capsys, deployed, repo.clock)["status"] == status


@pytest.mark.parametrize(("waited", "status"), [(1 * HOUR, "ok"), (2 * HOUR, "ok"), (2 * HOUR + 1, "warning"),
                                                (25 * HOUR, "critical")])
def test_age_rule(repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str], waited: int,
                  status: str) -> None:
    deployed = repo.head()
    repo.commit("svc change", {"svc/a.py": "1"})
    service = run(tmp_path, capsys, deployed, repo.clock + waited)
    assert service["drift_age_seconds"] == waited
    assert service["status"] == status


def test_per_service_override_and_zero_disables(repo: GitRepo, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    deployed = repo.head()
    for i in range(6):
        repo.commit(f"svc {i}", {"svc/a.py": f"v{i}"})
    relaxed = "critical_commits = 0\nwarn_commits = 10\ncritical_after = 0\n"
    service = run(tmp_path, capsys, deployed, repo.clock + 30 * HOUR, relaxed)
    # the count rule is relaxed and the critical age rule is off, so only the age warning remains
    assert service["status"] == "warning"


def test_production_ahead_of_the_branch_is_at_least_a_warning(repo: GitRepo, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    repo.checkout("hotfix", new=True)
    ahead = repo.commit("hotfix straight to production", {"svc/a.py": "hot"})
    repo.checkout("main")
    service = run(tmp_path, capsys, ahead, repo.clock)
    assert (service["state"], service["status"], service["commits_ahead"]) == ("ahead", "warning", 1)
    assert "not on main" in service["reason"]
    assert service["exit"] == 1


def test_exit_code_is_the_worst_status(repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert repo.clock > BASE_TIME
    service = run(tmp_path, capsys, repo.head(), repo.clock)
    assert (service["state"], service["status"], service["exit"]) == ("current", "ok", 0)
