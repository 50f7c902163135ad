"""The kept graph extended by new commits gives exactly the history of a fresh walk, on random histories and runs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from deploywatch.core.paths import ServicePaths, compile_glob
from deploywatch.drift import keptgraph, walkcache
from deploywatch.drift.git import Repo, WalkEntry
from deploywatch.drift.history import History
from deploywatch.drift.walkcache import WalkCache
from testing.gitrepo import GitRepo

from .history_test import build, extend_repo, step

SERVICES = [ServicePaths("a", (compile_glob("a/**"),), (compile_glob("**/*.md"),)),
            ServicePaths("b", (compile_glob("b/**"), compile_glob("shared/**"))),
            ServicePaths("top", (compile_glob("*.py"),))]


class Watched(Repo):
    """A real repository that records how each history was made: extended from the kept graph, or walked."""

    extended: list[str]
    walked: int

    def new_commits(self, include: Sequence[str], exclude: Sequence[str]) -> list[tuple[WalkEntry, int]]:
        found = super().new_commits(include, exclude)
        self.extended = [entry[0] for entry, _ in found]
        return found

    def walk_output(self, include: Sequence[str], exclude: Sequence[str] = ()) -> Iterator[bytes]:  # type: ignore[override]
        self.walked = getattr(self, "walked", 0) + 1
        return super().walk_output(include, exclude)

    def topo_parents(self, include: Sequence[str], exclude: Sequence[str] = ()) -> list[tuple[str, list[str]]]:
        self.walked = getattr(self, "walked", 0) + 1
        return super().topo_parents(include, exclude)


def seen(history: History) -> dict[str, object]:
    """Everything a history answers, by commit. Lists handed out newest first (by the time a commit reached the
    branch) are checked to be so, and compared with the commits that reached it together (one merge) in SHA order:
    their own order is git's walk order in a walked history and may differ in an extended one
    (docs/drift-semantics.md)."""
    sha = history.shas.__getitem__
    return {"commits": {sha(i): (history.masks[i], history.on_branch_at[i], history.branch_point[i],
                                 history.files.get(i)) for i in range(len(history.shas))},
            "touching": [sorted(map(sha, history.touching(k))) for k in range(len(history.services))],
            "excluded": {(k, head): history.excluded_behind(k, head)
                         for k in range(len(history.services)) for head in history.heads},
            "summaries": {(k, head, limit): summarized(history, k, head, limit)
                          for k in range(len(history.services)) for head in history.heads for limit in (0, 1, 3)},
            "first_parent": history.first_parent, "heads": history.heads,
            "relevant_behind": {(k, head): newest_first(history, history.relevant_behind(k, head))
                                for k in range(len(history.services)) for head in history.heads},
            "counts": {head: history.counts(head) for head in history.heads}}


def newest_first(history: History, indexes: list[int]) -> list[tuple[int, str]]:
    """(branch time, SHA) of ``indexes``, checked to be newest first; ties in SHA order."""
    found = [(history.on_branch_at[i], history.shas[i]) for i in indexes]
    assert [t for t, _ in found] == sorted((t for t, _ in found), reverse=True), found
    return sorted(found, key=lambda pair: (-pair[0], pair[1]))


def summarized(history: History, service: int, head: str, limit: int) -> tuple[int, int | None, list[int]]:
    """A relevant summary, checked against the whole list it sums up; its count, the oldest's branch time and the
    first ones' (which commit among those that reached the branch together is first or last may differ)."""
    whole = history.relevant_behind(service, head)
    found = history.relevant_summary(service, head, limit)
    assert (found.count, found.oldest, found.first) == (len(whole), whole[-1] if whole else None, whole[:limit])
    times = history.on_branch_at
    return found.count, times[found.oldest] if found.oldest is not None else None, [times[i] for i in found.first]


def run(path: Path, cache: WalkCache | None, tip: str, heads: Sequence[str]) -> tuple[dict[str, object], Watched]:
    repo = Watched(path)
    return seen(History(repo, tip, heads, SERVICES, cache=cache)), repo


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=3, max_size=16), later=st.lists(step, min_size=0, max_size=8),
       data=st.data())
def test_an_extended_graph_is_the_fresh_walk(tmp_path_factory: pytest.TempPathFactory,
                                             steps: list[tuple[object, ...]], later: list[tuple[object, ...]],
                                             data: st.DataObject) -> None:
    root = tmp_path_factory.mktemp("kept")
    repo, shas = build(root / "repo", steps)
    cache = WalkCache(root / "cache")
    before = data.draw(st.lists(st.sampled_from(shas), min_size=1, max_size=4))
    run(repo.path, cache, before[0], before[1:])
    more = extend_repo(repo, later)  # new commits (and merges of old branches) since the run before
    everything = shas + more
    tip = repo.head("main")
    heads = data.draw(st.lists(st.sampled_from(everything), max_size=4))
    if data.draw(st.booleans(), label="as another process (the graph read from the file, not memory)"):
        walkcache._HELD.clear()
    warm, watched = run(repo.path, cache, tip, heads)
    fresh = run(repo.path, None, tip, heads)[0]
    assert {k: v for k, v in warm.items() if v != fresh[k]} == {}, (fresh, before, heads, tip)
    again, watched = run(repo.path, cache, tip, heads)  # nothing new: extended by nothing
    assert again == warm
    if warm["commits"]:  # (with every head at the tip there is no range to keep)
        assert getattr(watched, "walked", 0) == 0 and watched.extended == []


def test_new_commits_and_a_merged_old_branch_extend_the_graph(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    root = repo.commit("root", {"a/x.py": "0", "b/y.py": "0"})
    repo.checkout("old", new=True)
    side = repo.commit("old branch", {"b/y.py": "side"})  # forked before every deployed commit
    repo.checkout("main")
    deployed = [repo.commit(f"a {k}", {"a/x.py": str(k + 1)}) for k in range(3)]
    cache = WalkCache(tmp_path / "cache")
    run(repo.path, cache, deployed[-1], deployed[:2])
    new = [repo.commit("b", {"b/z.py": "1"}), repo.merge("old"), repo.commit("top", {"t.py": "1"})]
    warm, watched = run(repo.path, cache, new[-1], [deployed[0], deployed[2]])  # one service deployed since
    assert warm == run(repo.path, None, new[-1], [deployed[0], deployed[2]])[0]
    assert getattr(watched, "walked", 0) == 0
    assert sorted(watched.extended) == sorted([*new, side])  # the old branch's commit is new to this range
    assert root not in warm["commits"]  # type: ignore[operator]


def test_a_head_older_than_the_kept_range_or_an_unrelated_tip_walks_again(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    shas = [repo.commit(f"c{k}", {"a/x.py": str(k)}, allow_empty=True) for k in range(6)]
    cache = WalkCache(tmp_path / "cache")
    run(repo.path, cache, shas[-1], [shas[3]])
    warm, watched = run(repo.path, cache, shas[-1], [shas[1]])  # rolled back below the kept range
    assert warm == run(repo.path, None, shas[-1], [shas[1]])[0]
    assert watched.walked == 1
    repo.git("reset", "-q", "--hard", shas[2])
    rewritten = repo.commit("rewritten", {"b/y.py": "9"})
    warm, watched = run(repo.path, cache, rewritten, [shas[1]])  # force-pushed, but it reaches the kept base
    assert warm == run(repo.path, None, rewritten, [shas[1]])[0]
    assert getattr(watched, "walked", 0) == 0 and watched.extended == [rewritten]
    unrelated = repo.orphan_commit("unrelated", {"a/x.py": "u"})
    warm, watched = run(repo.path, cache, unrelated, [shas[1]])  # reaches no kept head, nor the base
    assert warm == run(repo.path, None, unrelated, [shas[1]])[0]
    assert watched.walked == 1


def test_a_head_that_reaches_the_kept_base_extends_the_graph(tmp_path: Path) -> None:
    """The report's walk: the tip down to the oldest live commit, which moves up as the window does."""
    repo = GitRepo(tmp_path / "repo")
    shas = [repo.commit(f"c{k}", {"a/x.py" if k % 2 else "b/y.py": str(k)}) for k in range(8)]
    cache = WalkCache(tmp_path / "cache")
    run(repo.path, cache, shas[5], [shas[1]])  # shas[1] lies below the walk: its base
    new = repo.commit("new", {"a/x.py": "new"})
    warm, watched = run(repo.path, cache, new, [shas[3]])  # reaches only the base, not the kept tip
    assert warm == run(repo.path, None, new, [shas[3]])[0]
    assert getattr(watched, "walked", 0) == 0 and watched.extended == [new, shas[7], shas[6]]


def test_new_commits_dated_before_their_parents_come_children_first(tmp_path: Path) -> None:
    """Git lists the new commits by date (no --topo-order); clocks that ran backwards must not put a parent
    before its child, or the masks would not reach it."""
    repo = GitRepo(tmp_path / "repo")
    shas = [repo.commit(f"c{k}", {"a/x.py": str(k)}) for k in range(3)]
    cache = WalkCache(tmp_path / "cache")
    run(repo.path, cache, shas[-1], [shas[0]])
    parent = repo.commit("new on main", {"a/x.py": "p"}, advance=7200)
    repo.checkout("side", new=True)
    side = repo.commit("side, its clock hours behind", {"b/y.py": "1"}, advance=-20_000)
    repo.checkout("main")
    new = [parent, side, repo.commit("main again", {"a/x.py": "m"}, advance=30_000), repo.merge("side")]
    found = [entry[0] for entry, _ in Repo(repo.path).new_commits([new[-1], shas[0]], [shas[-1], shas[0]])]
    assert sorted(found) == sorted(new)
    for sha in found:  # every parent among them comes after the commit
        for parent in repo.git("rev-list", "--parents", "-n", "1", sha).split()[1:]:
            assert parent not in found or found.index(parent) > found.index(sha)
    warm, watched = run(repo.path, cache, new[-1], [shas[0]])
    assert warm == run(repo.path, None, new[-1], [shas[0]])[0]
    assert getattr(watched, "walked", 0) == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=3, max_size=14), later=st.lists(step, min_size=1, max_size=6),
       more=st.lists(step, min_size=1, max_size=6), data=st.data())
def test_a_tip_that_moved_ahead_reuses_the_last_ancestry(tmp_path_factory: pytest.TempPathFactory,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         steps: list[tuple[object, ...]],
                                                         later: list[tuple[object, ...]],
                                                         more: list[tuple[object, ...]], data: st.DataObject) -> None:
    """Three runs of one process with the same deployed commits, the tip moving on (merges of old branches too):
    the third reuses the second's masks and chain when it can, and is still the fresh walk."""
    root = tmp_path_factory.mktemp("ahead")
    repo, shas = build(root / "repo", steps)
    cache = WalkCache(root / "cache")
    deployed = data.draw(st.lists(st.sampled_from(shas), min_size=1, max_size=3))
    reused: list[bool] = []
    ahead = keptgraph._tip_ahead

    def spied(*args: object, **kwargs: object) -> object:
        found = ahead(*args, **kwargs)  # type: ignore[arg-type]
        reused.append(found is not None)
        return found

    monkeypatch.setattr(keptgraph, "_tip_ahead", spied)
    run(repo.path, cache, repo.head("main"), deployed)
    for steps_now in (later, more):
        extend_repo(repo, steps_now)
        tip = repo.head("main")
        warm = run(repo.path, cache, tip, deployed)[0]
        assert warm == run(repo.path, None, tip, deployed)[0], (deployed, tip)
    event("the last ancestry reused" if any(reused) else "computed afresh")


def test_the_usual_daemon_run_reuses_the_last_ancestry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = GitRepo(tmp_path / "repo")
    shas = [repo.commit(f"c{k}", {"a/x.py" if k % 2 else "b/y.py": str(k)}) for k in range(5)]
    cache = WalkCache(tmp_path / "cache")
    reused: list[bool] = []
    ahead = keptgraph._tip_ahead
    monkeypatch.setattr(keptgraph, "_tip_ahead",
                        lambda *args: reused.append((found := ahead(*args)) is not None) or found)
    run(repo.path, cache, shas[-1], shas[:2])  # walked
    tip = repo.commit("new", {"a/x.py": "n"})
    assert run(repo.path, cache, tip, shas[:2])[0] == run(repo.path, None, tip, shas[:2])[0]
    repo.checkout("side", new=True)
    side = repo.commit("side", {"b/y.py": "s"})
    repo.checkout("main")
    repo.commit("main", {"shared/s.py": "m"})
    tip = repo.merge("side")
    assert run(repo.path, cache, tip, shas[:2])[0] == run(repo.path, None, tip, shas[:2])[0]
    assert reused[-1], reused  # the tip moved ahead, a merged branch with it: reused
    repo.git("branch", "-f", "old", shas[2])
    tip = repo.merge("old")  # a branch at a commit the tip already had: nothing new below it
    assert run(repo.path, cache, tip, shas[:2])[0] == run(repo.path, None, tip, shas[:2])[0]
    assert side in repo.git("rev-list", tip).split()
    walkcache._HELD.clear()  # another process: the ancestry is not in the file
    later = repo.commit("later", {"a/x.py": "l"})
    assert run(repo.path, cache, later, shas[:2])[0] == run(repo.path, None, later, shas[:2])[0]
    assert reused[-1] is False
