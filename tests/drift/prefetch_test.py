"""The early walk started from the raw config: used when it matches, harmless when it does not."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from deploywatch.cli import main
from deploywatch.drift.prefetch import Prefetch
from testing.gitrepo import GitRepo, write_config, write_deployed

CONFIG = """
[repo]
path = "repo"
[services.a]
paths = ["a/**"]
deployed = { file = "deployed/a.sha" }
[services.b]
paths = ["b/**", "shared/**"]
deployed = { file = "deployed/b.sha" }
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    repo = GitRepo(tmp_path / "repo")
    first = repo.commit("base", {"a/x.py": "1", "b/y.py": "1", "shared/s.py": "1"})
    second = repo.commit("a change", {"a/x.py": "2"})
    repo.commit("shared change", {"shared/s.py": "2"})
    write_deployed(tmp_path, "a", first)
    write_deployed(tmp_path, "b", second[:10])
    return write_config(tmp_path, CONFIG)


def drift(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    main(["drift", "--config", str(config), "--format", "json", "--now", "2026-09-22T00:00:00Z", *args])
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def _no_prefetch_threads(timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(t.name == "deploywatch-prefetch" for t in threading.enumerate()):
            return True
        time.sleep(0.05)
    return False


def test_early_walk_is_started_for_file_sources(workspace: Path) -> None:
    prefetch = Prefetch(workspace, ())
    started = prefetch.take()
    assert started is not None
    assert len(started.heads) == 3  # the tip and two deployed commits
    entries = list(started.entries)
    assert len(entries) >= 2
    assert started.first_parent_times()
    assert _no_prefetch_threads()


def test_results_are_the_same_with_and_without_it(workspace: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with_prefetch = drift(workspace, capsys)
    import deploywatch.drift.prefetch as prefetch_module

    monkeypatch.setattr(prefetch_module, "_plan", lambda *_: None)
    without = drift(workspace, capsys)
    assert with_prefetch == without
    assert with_prefetch["services"][1]["relevant_commits_behind"] == 1


def test_a_walk_for_other_heads_is_cancelled_and_not_used(workspace: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import deploywatch.drift.prefetch as prefetch_module

    real_plan = prefetch_module._plan
    monkeypatch.setattr(prefetch_module, "_plan", lambda path, names: real_plan(path, ("a",)))  # only a's head
    report = drift(workspace, capsys)
    assert [s["commits_behind"] for s in report["services"]] == [2, 1]
    assert _no_prefetch_threads()


@pytest.mark.parametrize("deployed", ['{ command = "cat deployed/a.sha" }', '{ file = "${SHA_FILE}" }'])
def test_no_early_walk_when_the_raw_config_cannot_say(workspace: Path, deployed: str,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SHA_FILE", "deployed/a.sha")
    workspace.write_text(CONFIG.replace('{ file = "deployed/a.sha" }', deployed))
    assert Prefetch(workspace, ()).take() is None
    assert drift(workspace, capsys)["services"][0]["commits_behind"] == 2


def test_a_broken_config_still_gets_the_normal_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, "[repo\n")
    assert Prefetch(config, ()).take() is None
    assert main(["drift", "--config", str(config)]) == 3
    assert "invalid TOML" in capsys.readouterr().err


def test_no_early_walk_when_a_walk_of_the_repository_is_kept(workspace: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOYWATCH_CACHE_DIR", str(workspace.parent / "cache"))
    unused = Prefetch(workspace, ())
    assert unused.take() is not None  # nothing kept yet
    unused.cancel()
    first = drift(workspace, capsys)
    assert Prefetch(workspace, ()).take() is None  # the kept walk and a rev-list serve instead
    assert drift(workspace, capsys) == first
    monkeypatch.setenv("DEPLOYWATCH_WALK_CACHE", "0")
    unused = Prefetch(workspace, ())
    assert unused.take() is not None
    unused.cancel()
    assert _no_prefetch_threads()


def test_a_started_walk_is_stopped_when_the_kept_walk_serves(workspace: Path, tmp_path: Path) -> None:
    from deploywatch.core.paths import ServicePaths, compile_glob
    from deploywatch.drift.git import Repo
    from deploywatch.drift.history import History, start_walk
    from deploywatch.drift.walkcache import WalkCache

    repo = Repo(workspace.parent / "repo")
    tip = repo.resolve("main")
    assert tip is not None
    root = repo.output("rev-list", "--max-parents=0", "main")
    services = [ServicePaths("a", (compile_glob("a/**"),))]
    cache = WalkCache(tmp_path / "cache")
    kept = History(repo, tip, [root], services, cache=cache)
    started = start_walk(repo, [tip, root])  # git walking with paths: stopped (a leaked one fails the test run)
    cancel = started.cancel
    stopped: list[bool] = []
    started.cancel = lambda: (stopped.append(True), cancel())  # type: ignore[func-returns-value]
    warm = History(repo, tip, [root], services, started, cache)
    assert stopped == [True]
    assert started.entries is not None
    assert list(started.entries) == []  # closed: git's output was not read
    touching = [warm.touching(k) for k in range(len(warm.services))]
    assert (warm.shas, warm.masks, touching) == (kept.shas, kept.masks,
                                                 [kept.touching(k) for k in range(len(kept.services))])
