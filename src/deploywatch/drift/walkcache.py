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
file is a JSON header line and a payload of machine arrays (see :func:`pack`): reading and writing a kept walk of a
hundred thousand commits is a few milliseconds of C, where JSON lists of numbers cost a daemon's warm run most of
its time.
``DEPLOYWATCH_WALK_CACHE=0`` turns it off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import operator
import os
import sys
import threading
from array import array
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..core.caches import cache_folder, switched_off
from ..core.errors import GitError
from ..core.paths import PathClassifier, ServicePaths
from .git import Repo
from .keptgraph import Graph, Grown, extend
from .walkparse import WalkEntry

__all__ = ["ENV_SWITCH", "ClassifiedEntry", "KeptWalk", "WalkCache", "cache_dir", "classify_walk", "walk_cache"]

# sha, parents, positive mask, relevant mask, paths (kept only when the positive mask is not 0)
ClassifiedEntry = tuple[str, list[str], int, int, list[bytes]]

SCHEMA = "deploywatch walk cache, format 3"  # a private file, not a deploywatch.NAME/v1 document
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
        held = _remembered(file, where, services)
        if held is not None:
            return KeptWalk(file, where, services, held.graph, held.digest, held.unsaved)
        graph, digest = _load(file, where, services)
        return KeptWalk(file, where, services, graph, digest)


class KeptWalk:
    """The walk kept in one file: extended by today's new commits, read for the masks of known commits, rewritten
    (``digest``: of the file's bytes the graph was read from or written to; ``unsaved``: how many commits the graph
    has that the file does not, when this process kept it in memory)."""

    def __init__(self, file: Path, where: str, services: Sequence[ServicePaths], graph: Graph | None,
                 digest: bytes | None = None, unsaved: int = 0) -> None:
        self.file, self.where, self.services, self.graph = file, where, services, graph
        self.digest, self.unsaved = digest, unsaved
        self._added = 0  # commits the last extension added

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
        self._added = len(new)
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

    def keep(self, graph: Graph, classifier: PathClassifier) -> None:
        """Keep ``graph``, the kept graph extended (:meth:`extend`) to today's range: in memory while it only
        gained a few commits over the file (the next run here extends it; another process extends the file's, as
        exactly, by those few more), else in the file too. Writing the whole walk again for ten new commits would be
        a sixth of a daemon's warm run; it is written once a percent of it (at least 256 commits) is new, or when
        today's range lost commits (a deploy of the service furthest behind)."""
        before = len(self.graph.shas) if self.graph is not None else 0
        unsaved = self.unsaved + self._added
        if (self.digest is None or len(graph.shas) < before + self._added
                or unsaved > max(_UNSAVED, len(graph.shas) // 100)):
            self.save(graph, classifier)
        else:
            _remember(self.file, self.where, self.services, self.digest,
                      dataclasses.replace(graph, classes=list(map(classifier.classify, graph.table))), unsaved)

    def save(self, graph: Graph, classifier: PathClassifier) -> None:
        """Write ``graph`` atomically: a header line (what it is for, the payload's sections and SHA-256) and the
        payload, with the masks of each path of its table (``classifier``'s); a failure only means the next run
        walks more."""
        classes = list(map(classifier.classify, graph.table))
        document = {"files": [os.fsdecode(f) for f in graph.table], "classes": list(map(list, classes)),
                    "shas": graph.shas,
                    "positive": graph.positive, "relevant": graph.relevant, "touched": graph.touched,
                    "first": graph.first, "merges": [[k, v] for k, v in graph.merges.items()], "times": graph.times,
                    "heads": graph.heads, "base": graph.base}
        file = self.file
        partial = file.with_name(f".{file.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # one per writer
        try:
            sections, payload = pack(document)
            header = json.dumps({"schema": SCHEMA, "repo": self.where, "paths": _describe_paths(self.services),
                                 "count": len(graph.shas), "byteorder": sys.byteorder, "sections": sections,
                                 "sha256": hashlib.sha256(payload).hexdigest()})
            file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            written = header.encode() + b"\n" + payload
            partial.write_bytes(written)
            os.replace(partial, file)
            _remember(file, self.where, self.services, hashlib.sha256(written).digest(),
                      dataclasses.replace(graph, classes=classes), 0)
        except (OSError, ValueError, OverflowError):
            with contextlib.suppress(OSError):
                partial.unlink()


def pack(document: dict[str, Any]) -> tuple[list[int], bytes]:
    """The payload of a kept walk from its columns (as :func:`unpack` gives them back) and its sections' lengths.

    Small parts are one JSON object: the paths table and each path's masks, the distinct (positive, relevant) mask
    pairs of the commits (their "kinds"), the merges' other parents, the heads and the base. Per-commit columns are
    machine arrays in :data:`sys.byteorder`: the SHAs as raw bytes, each commit's kind (uint32), first parent (int32),
    committer time (int64), and its files as offsets (uint32, one more than commits) into one int32 array."""
    shas: list[str] = document["shas"]
    widths = set(map(len, shas))
    if len(widths) > 1:
        raise ValueError("SHAs of different lengths")
    pairs = list(zip(document["positive"], document["relevant"], strict=True))
    kinds = dict.fromkeys(pairs)
    kind = array("I", map({pair: k for k, pair in enumerate(kinds)}.__getitem__, pairs))
    touched: list[list[int]] = document["touched"]
    offsets = array("I", [0])
    offsets.extend(itertools.accumulate(map(len, touched)))
    meta = json.dumps({"files": document["files"], "classes": document["classes"], "kinds": list(map(list, kinds)),
                       "merges": document["merges"], "heads": document["heads"], "base": document["base"],
                       "sha_bytes": widths.pop() // 2 if widths else 20}, separators=(",", ":")).encode()
    parts = [meta, bytes.fromhex("".join(shas)), kind.tobytes(), array("i", document["first"]).tobytes(),
             array("q", document["times"]).tobytes(), offsets.tobytes(),
             array("i", itertools.chain.from_iterable(touched)).tobytes()]
    return list(map(len, parts)), b"".join(parts)


def unpack(sections: Any, payload: bytes) -> dict[str, Any]:
    """The columns of a kept walk's payload (see :func:`pack`); raises ValueError, TypeError or IndexError on a
    payload that is not one."""
    if type(sections) is not list or len(sections) != 7 or set(map(type, sections)) - {int} or min(sections) < 0 \
            or sum(sections) != len(payload):
        raise ValueError("sections do not cover the payload")
    bounds = list(itertools.accumulate(sections, initial=0))
    meta_part, sha_part, *columns = (payload[a:b] for a, b in itertools.pairwise(bounds))
    meta = json.loads(meta_part)
    if type(meta) is not dict or type(meta.get("kinds")) is not list or meta.get("sha_bytes") not in (20, 32):
        raise ValueError("not a kept walk")
    kind, first, times, offsets, flat = (_column(code, part) for code, part in zip("Iiqli", columns, strict=True))
    width = meta["sha_bytes"] * 2
    text = sha_part.hex()
    shas = [text[k:k + width] for k in range(0, len(text), width)]
    if offsets[:1] != [0] or offsets[-1:] != [len(flat)] or len(offsets) != len(shas) + 1:
        raise ValueError("file offsets do not cover the files")
    kinds = meta["kinds"]
    if set(map(type, kinds)) - {list} or set(map(len, kinds)) - {2}:
        raise ValueError("kinds are not mask pairs")
    positives, relevants = [p for p, _ in kinds], [r for _, r in kinds]
    return {"files": meta.get("files"), "classes": meta.get("classes"), "kinds": kinds, "shas": shas,
            "positive": list(map(positives.__getitem__, kind)), "relevant": list(map(relevants.__getitem__, kind)),
            "touched": list(map(flat.__getitem__, map(slice, offsets, itertools.islice(offsets, 1, None)))),
            "first": first,
            "merges": meta.get("merges"), "times": times, "heads": meta.get("heads"), "base": meta.get("base")}


def _column(code: str, part: bytes) -> list[int]:
    """One machine-array column (``offsets`` uses code ``l`` for uint32 here: see :func:`pack`)."""
    column = array("I" if code == "l" else code)
    column.frombytes(part)  # ValueError unless a whole number of items
    return column.tolist()


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


def _mask_pairs(pairs: list[Any], limit: int) -> bool:
    """Whether every item is a pair [positive, relevant] of service masks below ``limit``, relevant within positive."""
    return not (set(map(type, pairs)) - {list} or set(map(len, pairs)) - {2}) and all(
        type(p) is int and type(r) is int and r >= 0 and p < limit and not r & ~p for p, r in pairs)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogateescape")).hexdigest()[:20]


def _describe_paths(services: Sequence[ServicePaths]) -> list[list[list[str]]]:
    """The service paths as the key sees them: per service (in bit order) its globs and excludes."""
    return [[[g.pattern for g in s.paths], [g.pattern for g in s.exclude]] for s in services]


def _paths_digest(services: Sequence[ServicePaths]) -> str:
    return _digest(json.dumps(_describe_paths(services)))


@dataclasses.dataclass(frozen=True)
class _Held:
    """A kept graph in this process's memory: the file's bytes it goes with (their digest), and how many commits it
    has that the file does not."""

    digest: bytes
    graph: Graph
    unsaved: int


# Per file, the graph this process kept last and the digest of the file's bytes then: a daemon's next run takes it
# from memory (reading and hashing the file, not decoding it) while the file holds those bytes; anything else in the
# file (another process's run, a damaged file) is read as usual. Kept graphs are never changed (a run builds new
# columns from them).
_HELD: dict[tuple[Path, str, str], _Held] = {}
_HELD_LOCK = threading.Lock()


def _remember(file: Path, repo: str, services: Sequence[ServicePaths], digest: bytes, graph: Graph,
              unsaved: int) -> None:
    with _HELD_LOCK:
        _HELD[file, repo, json.dumps(_describe_paths(services))] = _Held(digest, graph, unsaved)


def _remembered(file: Path, repo: str, services: Sequence[ServicePaths]) -> _Held | None:
    """The graph this process kept for ``file``, if the file still holds the bytes it went with."""
    with _HELD_LOCK:
        held = _HELD.get((file, repo, json.dumps(_describe_paths(services))))
    if held is None:
        return None
    try:
        return held if hashlib.sha256(file.read_bytes()).digest() == held.digest else None
    except OSError:
        return None


def _load(file: Path, repo: str, services: Sequence[ServicePaths]) -> tuple[Graph | None, bytes | None]:
    """The walk kept in ``file`` (None when it is missing, empty or not to be trusted) and the digest of the file's
    bytes (None when there are none)."""
    try:
        data = file.read_bytes()
    except OSError:
        return None, None
    header, _, payload = data.partition(b"\n")
    try:
        graph = _decode(json.loads(header), payload, repo, services)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, OverflowError):
        graph = None
    return graph, hashlib.sha256(data).digest()


def _decode(header: Any, payload: bytes, repo: str, services: Sequence[ServicePaths]) -> Graph | None:
    """The kept walk when the header is this repository's and paths' and the payload is intact and consistent;
    every check runs over whole columns (the file may hold a hundred thousand commits)."""
    if (not isinstance(header, dict) or header.get("schema") != SCHEMA or header.get("repo") != repo
            or header.get("paths") != _describe_paths(services) or header.get("byteorder") != sys.byteorder
            or header.get("sha256") != hashlib.sha256(payload).hexdigest()):
        return None
    document = unpack(header.get("sections"), payload)
    table, shas, heads, base = document["files"], document["shas"], document["heads"], document["base"]
    classes, merges = document["classes"], document["merges"]
    positive, relevant, touched = document["positive"], document["relevant"], document["touched"]
    first, times = document["first"], document["times"]
    count = header["count"]
    if (not all(type(c) is list for c in (table, classes, merges, heads, base)) or type(count) is not int
            or not len(shas) == len(first) == len(times) == count or len(classes) != len(table)):
        return None
    limit = 1 << len(services)
    if not _mask_pairs(document["kinds"], limit) or not _mask_pairs(classes, limit):
        return None
    numbers = list(itertools.chain.from_iterable(touched))
    others = [p for _, parents in merges for p in parents]
    if (set(map(type, table)) - {str} or set(map(type, heads)) - {str} or set(map(type, base)) - {str}
            or not all(map(operator.eq, map(bool, touched), map(bool, positive)))
            or (numbers and (min(numbers) < 0 or max(numbers) >= len(table)))
            or set(map(type, merges)) - {list} or set(map(len, merges)) - {2}
            or any(type(k) is not int or not (0 <= k < count) or type(ps) is not list or not ps for k, ps in merges)
            or set(map(type, others)) - {int}
            or min(itertools.chain(first, others), default=0) < -1 or max(itertools.chain(first, others),
                                                                           default=-1) >= count
            or any(map(operator.and_, map(operator.le, itertools.repeat(0), first), map(operator.le, first,
                                                                                         range(count))))
            or any(0 <= p <= k for k, ps in merges for p in ps)):
        return None
    index = dict(zip(shas, range(count), strict=True))
    if (len(index) != count or any(h not in index for h in heads) or any(h in index for h in base)
            or len(set(heads + base)) != len(heads) + len(base)):
        return None
    graph = Graph(shas, first, dict(merges), positive, relevant, touched, [os.fsencode(f) for f in table], times,
                  heads, base, index)
    graph.classes = [(p, r) for p, r in classes]
    return graph
