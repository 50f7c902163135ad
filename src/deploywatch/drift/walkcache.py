"""The history walk kept between runs, so that a drift run walks only the commits that are new.

A commit's changed files never change, so which services it touches (the ``positive`` and ``relevant`` bitmasks of
:meth:`~deploywatch.core.paths.PathClassifier.classify_all`) is valid forever for one set of service paths. A file per
repository and service paths (``walk-<repo hash>-<paths hash>.walk`` in ``$DEPLOYWATCH_CACHE_DIR``, else
``$XDG_CACHE_HOME/deploywatch/walks``, else ``~/.cache/deploywatch/walks``) keeps, per commit of the last walk, the two
masks and the files of the commits that touch any service, its parents, the first-parent chain's commit times,
the walk's heads, and each path's masks (the report's walk is kept apart, ``…-report.walk``). A run then:

* extends that graph by the commits its heads reach and the kept heads do not (one small ``git log``; see
  :mod:`deploywatch.drift.keptgraph`), when the graph can give the exact answer;
* else lists its range without paths (``git rev-list --topo-order --parents HEADS --not BOUNDARY``, no diffs),
  asks git for the paths of the non-merge commits the file does not know (one ``git log --no-walk --stdin``) and
  makes the walk from both, in git's order;
* keeps its range and heads for the next run (not rewritten when nothing changed).

There is nothing to invalidate by hand: a force-push or a deployed commit older than the kept range only means a
listed range and commits the file does not know; other service paths are another file. With no file, or more unknown
commits than known ones, it walks as without a cache (``git log --name-only``, today's exact walk) and keeps the
result. A file that is unreadable, of another format, byte order, repository or paths, or whose masks could not
come from these paths is ignored and rewritten, never trusted. Writes are atomic (a temporary file renamed). The
file is a JSON header line and a payload of machine arrays (see :mod:`.walkfile`): reading and writing a kept walk of a
hundred thousand commits is a few milliseconds of C, where JSON lists of numbers cost a daemon's warm run most of
its time.
``DEPLOYWATCH_WALK_CACHE=0`` turns it off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path

from ..core.caches import cache_folder, switched_off
from ..core.errors import GitError
from ..core.paths import PathClassifier, ServicePaths
from .git import Repo
from .keptgraph import Graph, Grown, extend
from .walkfile import describe_paths, encode, read
from .walkparse import WalkEntry

__all__ = ["ENV_SWITCH", "ClassifiedEntry", "KeptWalk", "WalkCache", "cache_dir", "classify_walk", "walk_cache"]

# sha, parents, positive mask, relevant mask, paths (kept only when the positive mask is not 0)
ClassifiedEntry = tuple[str, list[str], int, int, list[bytes]]

ENV_SWITCH = "DEPLOYWATCH_WALK_CACHE"
# Up to this many unknown commits are always asked for by SHA; beyond it, only while they are fewer than the known
# ones (one git log over the range is cheaper than naming most of it on stdin).
_ALWAYS_ASK = 256
# A graph extended by up to this many commits (or a percent of it, if more) since it was written stays in memory.
_UNSAVED = 256


def cache_dir() -> Path:
    """Where walks are kept: ``$DEPLOYWATCH_CACHE_DIR``, else ``deploywatch/walks`` in the XDG cache folder."""
    return cache_folder("walks")


def walk_cache(kind: str = "") -> WalkCache | None:
    """The user's walk cache (``kind`` names walks kept apart from drift's, such as the report's, whose heads
    differ); None when ``DEPLOYWATCH_WALK_CACHE`` is ``0``, ``false``, ``no`` or ``off``."""
    if switched_off(ENV_SWITCH):
        return None
    return WalkCache(cache_dir(), kind)


def classify_walk(entries: Iterable[WalkEntry], classifier: PathClassifier) -> Iterator[ClassifiedEntry]:
    """The walk's entries with their masks; merges (git lists no paths for them) touch nothing."""
    classify = classifier.classify_all
    for sha, parents, files in entries:
        if files and len(parents) <= 1:
            positive, relevant = classify(files)
            yield sha, parents, positive, relevant, files
        else:
            yield sha, parents, 0, 0, files


class WalkCache:
    """Kept walks in ``folder``, one file per repository and service paths."""

    def __init__(self, folder: Path, kind: str = "") -> None:
        self.folder = folder
        self.suffix = f"-{kind}" if kind else ""

    def has_walks(self, repo: Path) -> bool:
        """True when some walk of ``repo`` is kept (for any service paths)."""
        return any(self.folder.glob(f"walk-{_digest(str(repo.resolve()))}-*.walk"))

    def open(self, repo: Repo, services: Sequence[ServicePaths]) -> KeptWalk:
        """The walk kept for ``repo`` and ``services`` (its ``graph`` None when there is none to trust)."""
        where = str(repo.path.resolve())
        file = self.folder / f"walk-{_digest(where)}-{_paths_digest(services)}{self.suffix}.walk"
        try:
            data: bytes | None = file.read_bytes()
        except OSError:
            data = None
        digest = hashlib.sha256(data).digest() if data is not None else None
        with _HELD_LOCK:
            held = _HELD.get((file, where, json.dumps(describe_paths(services))))
        if held is not None and held.digest == digest:  # the file still holds what this process's graph goes with
            return KeptWalk(file, where, services, held.graph, digest, held.unsaved)
        return KeptWalk(file, where, services, _load(file, where, services, data), digest)


class KeptWalk:
    """The walk kept in one file: extended by today's new commits, read for the masks of known commits, rewritten
    (``digest``: of the file's bytes the graph was read from or written to; ``unsaved``: how many commits the graph
    has that the file does not, when this process kept it in memory)."""

    def __init__(self, file: Path, where: str, services: Sequence[ServicePaths], graph: Graph | None,
                 digest: bytes | None = None, unsaved: int = 0) -> None:
        self.file, self.where, self.services, self.graph = file, where, services, graph
        self.digest, self.unsaved = digest, unsaved

    def extend(self, repo: Repo, heads: Sequence[str], classifier: PathClassifier) -> Grown | None:
        """Today's range from the kept graph and the commits git finds new (see :mod:`.keptgraph`); None when the
        history has to be walked (no graph, one with no heads, too many new commits, or no exact answer from it)."""
        graph = self.graph
        if graph is None or not graph.heads:
            return None
        found = repo.new_commits(heads, graph.heads + graph.base)
        if len(found) > max(_ALWAYS_ASK, len(graph.shas)):
            return None  # mostly new: the plain walk is as cheap
        classified = classify_walk((entry for entry, _ in found), classifier)
        new = [(*entry, stamp) for entry, (_, stamp) in zip(classified, found, strict=True)]

        def reaches(ancestor: str, head: str) -> bool:
            try:
                return repo.is_ancestor(ancestor, head)
            except GitError:  # a kept commit gone from the repository (rewritten and pruned): it reaches nothing
                return False

        grown = extend(graph, new, heads, reaches)
        if grown is not None:
            times = grown.graph.times
            missing = [grown.graph.shas[at] for at in grown.chain if times[at] < 0]
            if missing:
                known = repo.describe(missing)
                for at in grown.chain:
                    if times[at] < 0:
                        times[at] = known[grown.graph.shas[at]].committed_at
        return grown

    def walk(self, repo: Repo, heads: Sequence[str], boundary: Sequence[str], classifier: PathClassifier,
             full_walk: Iterator[WalkEntry] | None = None,
             cancel: Callable[[], None] = lambda: None) -> Iterator[ClassifiedEntry]:
        """The classified walk from ``heads`` down to ``boundary``: the commits listed by git (without paths) with
        the masks kept for the ones known and the paths of the others asked for; or, with nothing kept or little of
        it of use, ``full_walk`` (a walk already started, stopped with ``cancel`` when not used) or a new one."""
        known = self.graph
        if known is not None:
            listing = repo.topo_parents(heads, boundary)
            index = known.index
            unknown = [sha for sha, parents in listing if sha not in index and len(parents) <= 1]
            if len(unknown) <= max(_ALWAYS_ASK, (len(listing) - len(unknown))):
                if full_walk is not None:
                    cancel()
                    if isinstance(full_walk, Generator):
                        full_walk.close()
                return _merged(repo, classifier, listing, unknown, known)
        entries = full_walk if full_walk is not None else repo.walk(heads, boundary)
        return classify_walk(entries, classifier)

    def keep(self, grown: Grown, classifier: PathClassifier) -> None:
        """Keep ``grown.kept``, the graph :meth:`extend` grew to today's range: in memory while it only gained a few
        commits over the file (the next run here extends it; another process extends the file's, as exactly, by
        those few more), else in the file too. Writing the whole walk again for ten new commits would be a sixth of
        a daemon's warm run; it is written once a percent of it (at least 256 commits) is new, or when today's range
        lost commits (a deploy of the service furthest behind)."""
        graph = grown.kept
        unsaved = self.unsaved + len(grown.graph.shas) - (len(self.graph.shas) if self.graph is not None else 0)
        if (self.digest is None or len(graph.shas) < len(grown.graph.shas)
                or unsaved > max(_UNSAVED, len(graph.shas) // 100)):
            self.save(graph, classifier)
        else:
            _remember(self.file, self.where, self.services, self.digest,
                      dataclasses.replace(graph, classes=list(map(classifier.classify, graph.table))), unsaved)

    def save(self, graph: Graph, classifier: PathClassifier) -> None:
        """Write ``graph`` atomically (:func:`~deploywatch.drift.walkfile.encode`, with the masks of each path of its
        table, ``classifier``'s); a failure only means the next run walks more."""
        classes = list(map(classifier.classify, graph.table))
        file = self.file
        partial = file.with_name(f".{file.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # one per writer
        try:
            written = encode(graph, classes, self.where, self.services)
            file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial.write_bytes(written)
            os.replace(partial, file)
            _remember(file, self.where, self.services, hashlib.sha256(written).digest(),
                      dataclasses.replace(graph, classes=classes), 0)
        except (OSError, ValueError, OverflowError):
            with contextlib.suppress(OSError):
                partial.unlink()


def _merged(repo: Repo, classifier: PathClassifier, listing: list[tuple[str, list[str]]], unknown: list[str],
            known: Graph) -> Iterator[ClassifiedEntry]:
    fresh: dict[str, tuple[int, int, list[bytes]]] = {}
    for sha, _, positive, relevant, paths in classify_walk(repo.commits_with_paths(unknown), classifier):
        fresh[sha] = (positive, relevant, paths if positive else [])
    index, positives, relevants = known.index, known.positive, known.relevant
    touched, table = known.touched, known.table
    for sha, parents in listing:
        k = index.get(sha)
        if k is not None:
            yield sha, parents, positives[k], relevants[k], list(map(table.__getitem__, touched[k]))
        else:
            positive, relevant, changed = fresh.get(sha) or (0, 0, [])
            yield sha, parents, positive, relevant, changed


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogateescape")).hexdigest()[:20]


def _paths_digest(services: Sequence[ServicePaths]) -> str:
    return _digest(json.dumps(describe_paths(services)))


@dataclasses.dataclass(frozen=True)
class _Held:
    """A kept graph in this process's memory: the file's bytes it goes with (their digest), and how many commits it
    has that the file does not."""

    digest: bytes
    graph: Graph
    unsaved: int


# Per file, the graph this process kept last and the digest of the file's bytes then: a daemon's next run takes it
# from memory (the file read and hashed, not decoded) while the file holds those bytes; anything else in the file
# (another process's run, a damaged file) is decoded as usual. Kept graphs are never changed (a run builds new
# columns from them).
_HELD: dict[tuple[Path, str, str], _Held] = {}
_HELD_LOCK = threading.Lock()


def _remember(file: Path, repo: str, services: Sequence[ServicePaths], digest: bytes, graph: Graph,
              unsaved: int) -> None:
    with _HELD_LOCK:
        _HELD[file, repo, json.dumps(describe_paths(services))] = _Held(digest, graph, unsaved)


def _load(file: Path, repo: str, services: Sequence[ServicePaths], data: bytes | None) -> Graph | None:
    """The walk kept in ``file``, whose bytes are ``data`` (None: missing or unreadable); None when there is none
    to trust."""
    return read(data, repo, services) if data else None
