"""The ledger's rules against a real repository and store: what a recorded deploy shipped (git rev-list is the
oracle), where it came from, who made it, and one-line errors for what cannot be recorded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import permutations
from pathlib import Path

import pytest

from deploywatch.core.errors import UsageError
from deploywatch.deploy.ledger import deployment_json, record_deployment, shipped_commits, who
from deploywatch.drift.git import Repo
from deploywatch.store import Store
from testing.ledger import Scene
from testing.oracle import relevant_commits

NOW = datetime(2026, 9, 22, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


def test_shipped_commits_equal_git_rev_list_for_every_pair_of_commits(scene: Scene) -> None:
    repo = Repo(scene.repo.path)
    for service, paths, exclude in (("web", ["web/**", "shared/**"], ["web/docs/**"]), ("api", ["api/**"], [])):
        compiled = scene.loaded.service_paths(service)
        for (_, a), (_, b) in permutations(scene.commits.items(), 2):
            assert shipped_commits(repo, compiled, a, b) == relevant_commits(scene.repo, a, b, paths, exclude), \
                (service, a, b)
    assert shipped_commits(repo, scene.loaded.service_paths("web"), None, scene.commits["web2"]) == []


def test_recording_chains_from_the_last_succeeded_entry(scene: Scene, store: Store) -> None:
    repo, c = Repo(scene.repo.path), scene.commits
    first = record_deployment(scene.loaded, store, repo, "web", c["web1"][:8], now=NOW)
    assert (first.from_commit, first.to_commit, first.relevant_commits) == (None, c["web1"], ())
    assert (first.status, first.how, first.by, first.duration_seconds) == ("succeeded", "record", "Test Author", 0)
    failed = record_deployment(scene.loaded, store, repo, "web", "main", now=NOW + timedelta(hours=1),
                               status="failed", reason="smoke test failed", by="ci")
    assert failed.from_commit == c["web1"]
    second = record_deployment(scene.loaded, store, repo, "web", "main", now=NOW + timedelta(hours=2),
                               url="https://ci:s3cret-token@ci.example.com/run/5")
    assert second.from_commit == c["web1"]  # the failed entry is no baseline
    assert list(second.relevant_commits) == relevant_commits(scene.repo, c["web1"], c["web2"],
                                                              ["web/**", "shared/**"], ["web/docs/**"])
    assert list(second.relevant_commits) == [c["web2"], c["shared"]]  # not the docs-only, merge or api commits
    assert second.url == "https://***@ci.example.com/run/5"
    assert store.last_succeeded_deployments() == {"web": second}
    assert [r.id for r in store.deployments()] == [second.id, failed.id, first.id]
    document = deployment_json(second)
    assert document["relevant_commits"] == [c["web2"], c["shared"]] and document["how"] == "record"
    assert document["started_at"] == "2026-09-22T10:00:00Z" and document["duration_seconds"] == 0


@pytest.mark.parametrize(("service", "commit", "message"), [
    ("nope", "main", "unknown service 'nope'; configured: web, api"),
    ("web", "no-such-rev", "unknown commit 'no-such-rev': not in the repository"),
    ("web", "0" * 40, "unknown commit '0000000000000000000000000000000000000000'"),
])
def test_unknown_services_and_commits_are_one_line_usage_errors(scene: Scene, store: Store, service: str,
                                                                 commit: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        record_deployment(scene.loaded, store, Repo(scene.repo.path), service, commit, now=NOW)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.exit_code == 3
    assert store.deployments() == []


def test_who_falls_back_to_user_without_a_git_user_name(scene: Scene, monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    scene.repo.git("config", "--unset", "user.name")
    monkeypatch.setenv("HOME", str(tmp_path))  # no global git config either
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("USER", "deployer")
    assert who(Repo(scene.repo.path)) == "deployer"
