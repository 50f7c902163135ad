"""The walk cache: a history read from a kept walk is the history of today's exact walk, whatever the cache holds."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from deploywatch.core.paths import ServicePaths, compile_glob
from deploywatch.drift.git import Repo, WalkEntry
from deploywatch.drift.history import History
from deploywatch.drift.walkcache import WalkCache, cache_dir, walk_cache
from testing.gitrepo import GitRepo

SERVICES = [
    ServicePaths("api", (compile_glob("api/**"), compile_glob("shared/**")), (compile_glob("**/*.md"),)),
    ServicePaths("web", (compile_glob("web/**"),)),
]


class CountingRepo(Repo):
    """A real repository that remembers which commits it was asked to list the paths of."""

    asked: list[str]

    def commits_with_paths(self, commits: Sequence[str]) -> Iterator[WalkEntry]:
        self.asked = [*getattr(self, "asked", []), *commits]
        return super().commits_with_paths(commits)


def build(path: Path) -> tuple[GitRepo, list[str]]:
    """main with a merged topic branch, a docs-only change and changes to each service."""
    repo = GitRepo(path)
    shas = [repo.commit("root", {"api/a.py": "0", "web/w.js": "0", "shared/s.py": "0"})]
    shas.append(repo.commit("api", {"api/a.py": "1"}))
    repo.checkout("topic", new=True)
    shas.append(repo.commit("web on topic", {"web/w.js": "1"}))
    repo.checkout("main")
    shas.append(repo.commit("readme", {"api/README.md": "r"}))
    shas.append(repo.merge("topic"))
    shas.append(repo.commit("shared", {"shared/s.py": "1", "web/w.js": "2"}))
    return repo, shas


def as_seen(history: History) -> dict[str, object]:
    """Everything a history answers from its walk."""
    return {"shas": history.shas, "masks": history.masks, "touching": history.touching,
            "excluded_only": history.excluded_only, "files": history.files, "on_branch_at": history.on_branch_at,
            "first_parent": history.first_parent, "branch_point": history.branch_point}


def exact(repo: GitRepo, tip: str, heads: Sequence[str], services: Sequence[ServicePaths] = SERVICES) -> object:
    return as_seen(History(Repo(repo.path), tip, heads, services))


def cached(repo: GitRepo, cache: WalkCache, tip: str, heads: Sequence[str],
           services: Sequence[ServicePaths] = SERVICES) -> tuple[object, list[str]]:
    counting = CountingRepo(repo.path)
    return as_seen(History(counting, tip, heads, services, cache=cache)), getattr(counting, "asked", [])


def kept_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("walk-*.json"))


def test_a_warm_run_asks_git_for_the_paths_of_the_new_commits_only(tmp_path: Path) -> None:
    repo, shas = build(tmp_path / "repo")
    cache = WalkCache(tmp_path / "cache")
    first, asked = cached(repo, cache, shas[-1], [shas[0]])
    assert first == exact(repo, shas[-1], [shas[0]])
    assert asked == []  # the first run walks as without a cache
    new = [repo.commit("api again", {"api/b.py": "1"}), repo.commit("web again", {"web/x.js": "1"})]
    warm, asked = cached(repo, cache, new[-1], [shas[0]])
    assert warm == exact(repo, new[-1], [shas[0]])
    assert sorted(asked) == sorted(new)
    again, asked = cached(repo, cache, new[-1], [shas[0]])
    assert again == warm
    assert asked == []


def test_a_force_pushed_tip_and_an_older_deployed_commit_give_the_exact_walk(tmp_path: Path) -> None:
    repo, shas = build(tmp_path / "repo")
    cache = WalkCache(tmp_path / "cache")
    cached(repo, cache, shas[-1], [shas[3]])
    repo.git("reset", "-q", "--hard", shas[1])  # history rewritten: the kept tip is no ancestor of the new one
    rewritten = repo.commit("rewritten", {"web/w.js": "9", "shared/s.py": "9"})
    warm, asked = cached(repo, cache, rewritten, [shas[0]])  # and the deployed commit is below the kept range
    assert warm == exact(repo, rewritten, [shas[0]])
    assert rewritten in asked


def test_other_service_paths_keep_another_walk(tmp_path: Path) -> None:
    repo, shas = build(tmp_path / "repo")
    cache = WalkCache(tmp_path / "cache")
    cached(repo, cache, shas[-1], [shas[0]])
    other = [ServicePaths("api", (compile_glob("api/**"),)), SERVICES[1]]
    warm, _ = cached(repo, cache, shas[-1], [shas[0]], other)
    assert warm == exact(repo, shas[-1], [shas[0]], other)
    assert len(kept_files(tmp_path / "cache")) == 2


@pytest.mark.parametrize("spoil", [
    lambda doc: b"\x00not json",
    lambda doc: json.dumps({**doc, "schema": "deploywatch.walkcache/v0"}).encode(),
    lambda doc: json.dumps({**doc, "repo": "/somewhere/else"}).encode(),
    lambda doc: json.dumps({**doc, "paths": [[["**"], []]]}).encode(),
    lambda doc: json.dumps({**doc, "commits": {sha: [1 << 5, 0, [0]] for sha in doc["commits"]}}).encode(),
    lambda doc: json.dumps({**doc, "commits": {sha: [1, 3, [0]] for sha in doc["commits"]}}).encode(),
    lambda doc: json.dumps({**doc, "commits": {sha: [1, 1, [999]] for sha in doc["commits"]}}).encode(),
    lambda doc: json.dumps({**doc, "commits": {sha: [1, 1, [-1]] for sha in doc["commits"]}}).encode(),
    lambda doc: json.dumps({**doc, "commits": {sha: [0, 0] for sha in doc["commits"]}}).encode(),
    lambda doc: json.dumps({**doc, "commits": [1, 2]}).encode(),
    lambda doc: json.dumps([doc]).encode(),
], ids=["garbage", "schema", "foreign-repo", "foreign-paths", "mask-too-wide", "relevant-not-positive",
        "file-index", "negative-index", "short-entry", "not-a-map", "not-a-document"])
def test_a_corrupt_or_foreign_file_is_ignored_and_rewritten(tmp_path: Path, spoil: object) -> None:
    repo, shas = build(tmp_path / "repo")
    cache = WalkCache(tmp_path / "cache")
    cached(repo, cache, shas[-1], [shas[0]])
    [file] = kept_files(tmp_path / "cache")
    good = json.loads(file.read_bytes())
    file.write_bytes(spoil(good))  # type: ignore[operator]
    warm, asked = cached(repo, cache, shas[-1], [shas[0]])
    assert warm == exact(repo, shas[-1], [shas[0]])
    assert asked == []  # not extended: walked afresh
    assert json.loads(file.read_bytes()) == good


def test_the_kept_walk_is_the_last_range_and_writes_leave_no_partial_file(tmp_path: Path) -> None:
    repo, shas = build(tmp_path / "repo")
    cache = WalkCache(tmp_path / "cache")
    cached(repo, cache, shas[-1], [shas[0]])
    cached(repo, cache, shas[-1], [shas[3]])
    [file] = list((tmp_path / "cache").iterdir())
    listed = repo.git("rev-list", shas[-1], "--not", repo.git("merge-base", shas[-1], shas[3])).split()
    assert sorted(json.loads(file.read_bytes())["commits"]) == sorted(listed)


def test_the_cache_lives_in_the_user_cache_folder_and_can_be_turned_off(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    monkeypatch.delenv("DEPLOYWATCH_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "deploywatch" / "walks"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "deploywatch" / "walks"
    monkeypatch.setenv("DEPLOYWATCH_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("DEPLOYWATCH_WALK_CACHE", "off")
    assert walk_cache() is None
    monkeypatch.setenv("DEPLOYWATCH_WALK_CACHE", "1")
    found = walk_cache()
    assert found is not None
    assert found.folder == tmp_path / "mine"
