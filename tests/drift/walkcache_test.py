"""The walk cache: a history read from a kept walk is the history of today's exact walk, whatever the cache holds."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from deploywatch.core.paths import ServicePaths, compile_glob
from deploywatch.drift.git import Repo, WalkEntry
from deploywatch.drift.history import History
from deploywatch.drift.walkcache import WalkCache, cache_dir, walk_cache
from deploywatch.drift.walkfile import pack, unpack
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

    def new_commits(self, include: Sequence[str], exclude: Sequence[str]) -> list[tuple[WalkEntry, int]]:
        found = super().new_commits(include, exclude)
        self.asked = [*getattr(self, "asked", []), *(entry[0] for entry, _ in found)]
        return found


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
    """Everything a history answers from its walk (see tests/drift/keptgraph_test.py)."""
    from .keptgraph_test import seen

    return seen(history)


def exact(repo: GitRepo, tip: str, heads: Sequence[str], services: Sequence[ServicePaths] = SERVICES) -> object:
    return as_seen(History(Repo(repo.path), tip, heads, services))


def cached(repo: GitRepo, cache: WalkCache, tip: str, heads: Sequence[str],
           services: Sequence[ServicePaths] = SERVICES) -> tuple[object, list[str]]:
    counting = CountingRepo(repo.path)
    return as_seen(History(counting, tip, heads, services, cache=cache)), getattr(counting, "asked", [])


def kept_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("walk-*.walk"))


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


Doc = dict[str, Any]


def read_kept(file: Path) -> tuple[Doc, Doc]:
    """A kept walk's header and its payload's columns."""
    header, _, payload = file.read_bytes().partition(b"\n")
    head = json.loads(header)
    return head, unpack(head["sections"], payload)


def signed(header: Doc, columns: Doc) -> bytes:
    """A file as deploywatch writes it: the header with the payload's sections and SHA-256, then the payload."""
    sections, data = pack(columns)
    return signed_bytes({**header, "sections": sections}, data)


def signed_bytes(header: Doc, data: bytes) -> bytes:
    return json.dumps({**header, "sha256": hashlib.sha256(data).hexdigest()}).encode() + b"\n" + data


def payload_of(raw: bytes) -> bytes:
    return raw.partition(b"\n")[2]


def meta_replaced(header: Doc, raw: bytes, meta: bytes) -> bytes:
    """The file with the payload's JSON part replaced by ``meta`` (the sections moved to match)."""
    sections = header["sections"]
    return signed_bytes({**header, "sections": [len(meta), *sections[1:]]}, meta + payload_of(raw)[sections[0]:])


def each(payload: Doc, column: str, value: object) -> Doc:
    return {**payload, column: [value] * len(payload["shas"])}


SPOILED: dict[str, Callable[[Doc, Doc, bytes], bytes]] = {
    "garbage": lambda h, p, raw: b"\x00not json",
    "class-too-wide": lambda h, p, raw: signed(h, {**p, "classes": [[1 << 5, 0]] * len(p["classes"])}),
    "class-relevant-not-positive": lambda h, p, raw: signed(h, {**p, "classes": [[0, 1]] * len(p["classes"])}),
    "truncated": lambda h, p, raw: raw[: len(raw) // 2],
    "payload-changed-after-signing": lambda h, p, raw: raw[:-1] + bytes([raw[-1] ^ 1]),
    "schema": lambda h, p, raw: signed({**h, "schema": "deploywatch.walkcache/v0"}, p),
    "foreign-repo": lambda h, p, raw: signed({**h, "repo": "/somewhere/else"}, p),
    "foreign-paths": lambda h, p, raw: signed({**h, "paths": [[["**"], []]]}, p),
    "count": lambda h, p, raw: signed({**h, "count": h["count"] + 1}, p),
    "mask-too-wide": lambda h, p, raw: signed(h, each(each(p, "positive", 1 << 5), "touched", [0])),
    "relevant-not-positive": lambda h, p, raw: signed(h, each(each(each(p, "positive", 1), "relevant", 3),
                                                             "touched", [0])),
    "negative-mask": lambda h, p, raw: signed(h, each(each(p, "relevant", -1), "positive", -1)),
    "bool-mask": lambda h, p, raw: signed(h, each(each(each(p, "positive", True), "relevant", True), "touched", [0])),
    "file-index": lambda h, p, raw: signed(h, each(each(each(p, "positive", 1), "relevant", 1), "touched", [999])),
    "negative-index": lambda h, p, raw: signed(h, each(each(each(p, "positive", 1), "relevant", 1), "touched", [-1])),
    "files-without-mask": lambda h, p, raw: signed(h, each(each(each(p, "positive", 0), "relevant", 0),
                                                          "touched", [0])),
    "short-sha": lambda h, p, raw: signed(h, {**p, "shas": [s[:12] for s in p["shas"]]}),
    "column-missing": lambda h, p, raw: meta_replaced(h, raw, json.dumps(
        {k: v for k, v in json.loads(payload_of(raw)[:h["sections"][0]]).items() if k != "heads"}).encode()),
    "not-a-list": lambda h, p, raw: signed(h, {**p, "heads": dict.fromkeys(p["heads"], 1)}),
    "merges-not-pairs": lambda h, p, raw: signed(h, {**p, "merges": [[0]]}),
    "not-a-document": lambda h, p, raw: meta_replaced(h, raw, b"[]"),
    "other-byte-order": lambda h, p, raw: signed_bytes({**h, "byteorder": "big" if sys.byteorder == "little"
                                                         else "little"}, payload_of(raw)),
    "sections-short": lambda h, p, raw: signed_bytes({**h, "sections": [*h["sections"][:-1], h["sections"][-1] - 1]},
                                                     payload_of(raw)[:-1]),
    "sections-misaligned": lambda h, p, raw: signed_bytes(
        {**h, "sections": [h["sections"][0], h["sections"][1] + 1, h["sections"][2] - 1, *h["sections"][3:]]},
        payload_of(raw)),
    "duplicate-sha": lambda h, p, raw: signed(h, {**p, "shas": [p["shas"][0]] * len(p["shas"])}),
}


@pytest.mark.parametrize("spoil", SPOILED.values(), ids=SPOILED.keys())
def test_a_corrupt_or_foreign_file_is_ignored_and_rewritten(tmp_path: Path,
                                                            spoil: Callable[[Doc, Doc, bytes], bytes]) -> None:
    repo, shas = build(tmp_path / "repo")
    cache = WalkCache(tmp_path / "cache")
    cached(repo, cache, shas[-1], [shas[0]])
    [file] = kept_files(tmp_path / "cache")
    good = file.read_bytes()
    file.write_bytes(spoil(*read_kept(file), good))
    warm, asked = cached(repo, cache, shas[-1], [shas[0]])
    assert warm == exact(repo, shas[-1], [shas[0]])
    assert asked == []  # not extended: walked afresh
    assert file.read_bytes() == good


def test_a_file_signed_as_deploywatch_writes_it_is_used(tmp_path: Path) -> None:
    """The other side of the test above: re-signing an unchanged payload keeps it trusted (the checks are not
    failing on everything)."""
    repo, shas = build(tmp_path / "repo")
    cache = WalkCache(tmp_path / "cache")
    cached(repo, cache, shas[-1], [shas[1]])
    [file] = kept_files(tmp_path / "cache")
    file.write_bytes(signed(*read_kept(file)))
    new = repo.commit("web again", {"web/x.js": "1"})
    warm, asked = cached(repo, cache, new, [shas[1]])
    assert warm == exact(repo, new, [shas[1]])
    assert asked == [new]


def test_the_kept_walk_is_the_last_range_and_writes_leave_no_partial_file(tmp_path: Path) -> None:
    repo, shas = build(tmp_path / "repo")
    cache = WalkCache(tmp_path / "cache")
    cached(repo, cache, shas[-1], [shas[0]])
    cached(repo, cache, shas[-1], [shas[3]])
    [file] = list((tmp_path / "cache").iterdir())
    listed = repo.git("rev-list", shas[-1], "--not", repo.git("merge-base", shas[-1], shas[3])).split()
    header, payload = read_kept(file)
    assert sorted(payload["shas"]) == sorted(listed)
    assert header["count"] == len(listed)


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


def test_the_next_run_in_a_process_takes_the_walk_it_kept_from_memory(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A daemon's run after its own last one does not decode the file; a walk that only gained a few commits is kept
    in memory (the file, which holds fewer, still gives other processes the exact answer); a file another writer
    changed is read."""
    from deploywatch.drift import walkcache

    decoded: list[Path] = []
    load = walkcache._load

    def counted(file: Path, repo: str, services: Sequence[ServicePaths], data: bytes | None) -> object:
        decoded.append(file)
        return load(file, repo, services, data)

    monkeypatch.setattr(walkcache, "_load", counted)
    repo, shas = build(tmp_path / "repo")
    cache = WalkCache(tmp_path / "cache")
    cached(repo, cache, shas[-1], [shas[0]])
    [file] = kept_files(tmp_path / "cache")
    written = file.read_bytes()
    decoded.clear()
    new = repo.commit("api again", {"api/b.py": "1"})
    warm, asked = cached(repo, cache, new, [shas[0]])
    assert warm == exact(repo, new, [shas[0]])
    assert asked == [new] and decoded == []  # extended from memory
    assert file.read_bytes() == written  # one new commit: not written again
    again, asked = cached(repo, cache, new, [shas[0]])
    assert again == warm and asked == [] and decoded == []  # the walk in memory has it
    walkcache._HELD.clear()  # as another process: the file, which does not have it
    again, asked = cached(repo, cache, new, [shas[0]])
    assert again == warm and asked == [new] and decoded == [file]
    decoded.clear()
    file.write_bytes(signed(*read_kept(file)).replace(b'"count"', b'"count" ', 1))  # the same walk, other bytes
    again, asked = cached(repo, cache, new, [shas[0]])
    assert again == warm
    assert asked == [new] and decoded == [file]  # read from the file, which another writer made


def test_a_walk_kept_in_memory_is_written_once_enough_is_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from deploywatch.drift import walkcache

    monkeypatch.setattr(walkcache, "_UNSAVED", 2)
    repo, shas = build(tmp_path / "repo")
    cache = WalkCache(tmp_path / "cache")
    cached(repo, cache, shas[-1], [shas[0]])
    [file] = kept_files(tmp_path / "cache")
    first = read_kept(file)[1]["shas"]
    tip = shas[-1]
    for k in range(3):  # three runs, one new commit each: the third passes two unsaved commits
        tip = repo.commit(f"api {k}", {"api/b.py": str(k)})
        assert cached(repo, cache, tip, [shas[0]])[0] == exact(repo, tip, [shas[0]])
        assert (read_kept(file)[1]["shas"] == first) == (k < 2)
    assert sorted(read_kept(file)[1]["shas"]) == sorted(repo.git("rev-list", tip, f"^{shas[0]}").split())
    walkcache._HELD.clear()
    assert cached(repo, cache, tip, [shas[0]])[1] == []  # another process finds everything in the file


def test_a_kept_commit_gone_from_the_repository_means_a_walk_not_an_error(tmp_path: Path) -> None:
    """A kept head below the walk that the repository no longer has (history rewritten and pruned): the run asks git
    whether a head reaches it, git says it knows no such commit, and the run walks instead."""
    from deploywatch.drift import walkcache

    repo = GitRepo(tmp_path / "repo")
    shas = [repo.commit(f"c{k}", {"api/a.py" if k % 2 else "web/w.js": str(k)}) for k in range(6)]
    cache = WalkCache(tmp_path / "cache")
    cached(repo, cache, shas[5], [shas[1]])  # shas[1] lies below the walk: its base
    [file] = kept_files(tmp_path / "cache")
    header, columns = read_kept(file)
    assert columns["base"] == [shas[1]]
    file.write_bytes(signed(header, {**columns, "base": ["f" * 40]}))
    walkcache._HELD.clear()
    new = repo.commit("new", {"api/a.py": "new"})
    warm, _ = cached(repo, cache, new, [shas[3]])  # reaches no kept head, only (it would seem) the base
    assert warm == exact(repo, new, [shas[3]])
