"""Drift counts equal git's on random small histories (merges, branches, deletes, odd globs), with the walk cache off
(cold: today's walk) and on, after a run that kept another walk (warm: another tip, other deployed commits)."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploywatch.cli import main
from testing import oracle
from testing.gitrepo import GitRepo, write_config, write_deployed

FILES = ["a/x.py", "a/y.md", "b/x.py", "b/deep/z.py", "shared/s.py", "docs/d.md", "top.py", "a b/é.py"]
GLOBS = ["a/**", "a", "b/*.py", "b/**", "shared/**", "**/*.py", "*.py", "a b", "**/deep/**", "?/x.py"]
EXCLUDES = [[], ["**/*.md"], ["**/*.md", "docs/**"], ["b/deep/**"]]

step = st.one_of(
    st.tuples(st.just("commit"), st.lists(st.sampled_from(FILES), min_size=1, max_size=3, unique=True),
              st.booleans()),
    st.tuples(st.just("branch"), st.integers(0, 3)),
    st.tuples(st.just("switch"), st.integers(0, 3)),
    st.tuples(st.just("merge"), st.integers(0, 3)),
)


def build(root: Path, steps: list[tuple[object, ...]]) -> tuple[GitRepo, list[str]]:
    repo = GitRepo(root)
    shas = [repo.commit("root", {"a/x.py": "0", "shared/s.py": "0", "docs/d.md": "0"})]
    return repo, shas + extend_repo(repo, steps, shas)


def extend_repo(repo: GitRepo, steps: list[tuple[object, ...]], shas: list[str] | None = None) -> list[str]:
    """Apply ``steps`` to ``repo`` (from main; its branches br1, br2 … reused), back on main after; the new SHAs."""
    pool = list(shas) if shas is not None else repo.git("rev-list", "--all").split()
    branches = ["main", *sorted(b for b in repo.git("for-each-ref", "--format=%(refname:short)",
                                                    "refs/heads").split() if b != "main")]
    current = "main"
    counter = itertools.count(len(pool) * 1000)
    made: list[str] = []
    for item in steps:
        kind = item[0]
        if kind == "commit":
            files, delete = item[1], item[2]
            tracked = set(repo.git("ls-files", "-z").split("\0"))
            change: dict[str, str | None] = {}
            for f in files:  # type: ignore[union-attr]
                change[f] = None if delete and f in tracked else f"v{next(counter)}"
            made.append(repo.commit(f"change {next(counter)}", change))
        elif kind == "branch":
            name = f"br{len(branches)}"
            start = pool[int(item[1]) % len(pool)]  # type: ignore[call-overload]
            repo.checkout(name, new=True, start=start)
            branches.append(name)
            current = name
            continue
        elif kind == "switch":
            current = branches[int(item[1]) % len(branches)]  # type: ignore[call-overload]
            repo.checkout(current)
            continue
        else:
            other = branches[int(item[1]) % len(branches)]  # type: ignore[call-overload]
            if other == current:
                continue
            try:
                repo.git("merge", "-q", "--no-ff", "--no-edit", "-X", "theirs", other)
            except AssertionError:
                repo.git("merge", "--abort")
                continue
            made.append(repo.head())
        pool.append(made[-1])
    repo.checkout("main")
    return made


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=3, max_size=14), data=st.data())
@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_drift_counts_equal_git_on_random_histories(tmp_path_factory: pytest.TempPathFactory,
                                                   capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                                   cache: str, steps: list[tuple[object, ...]],
                                                   data: st.DataObject) -> None:
    root = tmp_path_factory.mktemp("random")
    repo, shas = build(root / "repo", steps)
    tip = repo.head("main")
    services = {}
    for k in range(3):
        paths = data.draw(st.lists(st.sampled_from(GLOBS), min_size=1, max_size=2, unique=True))
        exclude = data.draw(st.sampled_from(EXCLUDES))
        deployed = data.draw(st.sampled_from(shas))
        services[f"s{k}"] = (paths, exclude, deployed)
    config = "".join(f'[services.{n}]\npaths = {json.dumps(p)}\nexclude = {json.dumps(e)}\n'
                     f'deployed = {{ file = "deployed/{n}.sha" }}\n' for n, (p, e, _) in services.items())
    monkeypatch.setenv("DEPLOYWATCH_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("DEPLOYWATCH_WALK_CACHE", "0" if cache == "cold" else "1")
    if cache == "warm":  # the run before: another tip (older, or off the branch: a force-push) and other deploys
        for name in services:
            write_deployed(root, name, data.draw(st.sampled_from(shas)))
        write_config(root, f'[repo]\npath = "repo"\nbranch = "{data.draw(st.sampled_from(shas))}"\n' + config)
        main(["drift", "--config", str(root / "deploywatch.toml"), "--format", "json"])
        capsys.readouterr()
        assert len(os.listdir(root / "cache")) == 1
    for name, (_, _, deployed) in services.items():
        write_deployed(root, name, deployed)
    write_config(root, '[repo]\npath = "repo"\n' + config)
    main(["drift", "--config", str(root / "deploywatch.toml"), "--format", "json", "--max-commits", "1000"])
    report = json.loads(capsys.readouterr().out)
    assert os.path.isdir(root / "cache") == (cache == "warm")
    for service in report["services"]:
        paths, exclude, deployed = services[service["name"]]
        assert service["commits_behind"] == oracle.commits_behind(repo, deployed, tip)
        assert service["commits_ahead"] == oracle.commits_ahead(repo, deployed, tip)
        expected = oracle.relevant_commits(repo, deployed, tip, paths, exclude)
        assert service["relevant_commits_behind"] == len(expected)
        assert {c["sha"] for c in service["commits"]} == set(expected)
        if expected:
            oldest = min(oracle.on_branch_at(repo, c, tip) for c in expected)
            assert service["oldest_relevant_at"] is not None
            assert service["oldest_relevant_at"] == _iso(oldest)


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
