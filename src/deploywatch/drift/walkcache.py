"""The history walk kept between runs, so that a drift run walks only the commits that are new.

A commit's changed files never change, so which services it touches (the ``positive`` and ``relevant`` bitmasks of
:meth:`~deploywatch.core.paths.PathClassifier.classify_all`) is valid forever for one set of service paths. A file per
repository and service paths (``walk-<repo hash>-<paths hash>.json`` in ``$DEPLOYWATCH_CACHE_DIR``, else
``$XDG_CACHE_HOME/deploywatch/walks``, else ``~/.cache/deploywatch/walks``) keeps, per commit of the last walk, the two
masks and the files of the commits that touch any service. A run then:

* lists its range without paths (``git rev-list --topo-order --parents HEADS --not BOUNDARY``, no diffs: cheap);
* asks git for the paths of the non-merge commits the file does not know (one ``git log --no-walk --stdin``);
* makes the walk from both, in git's order, and keeps the range it walked for the next run.

There is nothing to invalidate by hand: a force-push or a deployed commit older than the kept range only means
commits the file does not know; other service paths are another file. With no file, or more unknown commits than
known ones, it walks as without a cache (``git log --name-only``, today's exact walk) and keeps the result. A file
that is unreadable, of another format, another repository or paths, or whose masks could not come from these paths
is ignored and rewritten, never trusted. Writes are atomic (a temporary file renamed). ``DEPLOYWATCH_WALK_CACHE=0``
turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import operator
import os
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..core.caches import cache_folder, switched_off
from ..core.paths import PathClassifier, ServicePaths
from .git import Repo
from .walkparse import WalkEntry

__all__ = ["ENV_SWITCH", "ClassifiedEntry", "WalkCache", "cache_dir", "classify_walk", "walk_cache"]

# sha, parents, positive mask, relevant mask, paths (kept only when the positive mask is not 0)
ClassifiedEntry = tuple[str, list[str], int, int, list[bytes]]

SCHEMA = "deploywatch walk cache, format 1"  # a private file, not a deploywatch.NAME/v1 document
ENV_SWITCH = "DEPLOYWATCH_WALK_CACHE"
# Up to this many unknown commits are always asked for by SHA; beyond it, only while they are fewer than the known
# ones (one git log over the range is cheaper than naming most of it on stdin).
_ALWAYS_ASK = 256


def cache_dir() -> Path:
    """Where walks are kept: ``$DEPLOYWATCH_CACHE_DIR``, else ``deploywatch/walks`` in the XDG cache folder."""
    return cache_folder("walks")


def walk_cache() -> WalkCache | None:
    """The user's walk cache; None when ``DEPLOYWATCH_WALK_CACHE`` is ``0``, ``false``, ``no`` or ``off``."""
    if switched_off(ENV_SWITCH):
        return None
    return WalkCache(cache_dir())


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

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def has_walks(self, repo: Path) -> bool:
        """True when some walk of ``repo`` is kept (for any service paths)."""
        return any(self.folder.glob(f"walk-{_digest(str(repo.resolve()))}-*.json"))

    def walk(self, repo: Repo, heads: Sequence[str], boundary: Sequence[str], services: Sequence[ServicePaths],
             classifier: PathClassifier, full_walk: Iterator[WalkEntry] | None = None,
             cancel: Callable[[], None] = lambda: None) -> Iterator[ClassifiedEntry]:
        """The classified walk from ``heads`` down to ``boundary``, from the kept one and git; ``full_walk`` (a
        walk already started, stopped with ``cancel`` when not used) serves when the kept one is missing or of little
        use. The walk is kept once it has been read to its end."""
        where = str(repo.path.resolve())
        file = self.folder / f"walk-{_digest(where)}-{_paths_digest(services)}.json"
        known = _load(file, where, services)
        if known is not None:
            listing = repo.topo_parents(heads, boundary)
            index = known.index
            unknown = [sha for sha, parents in listing if sha not in index and len(parents) <= 1]
            if len(unknown) <= max(_ALWAYS_ASK, (len(listing) - len(unknown))):
                if full_walk is not None:
                    cancel()
                    if isinstance(full_walk, Generator):
                        full_walk.close()
                return self._extended(file, where, repo, services, classifier, listing, unknown, known)
        entries = full_walk if full_walk is not None else repo.walk(heads, boundary)
        return self._recorded(file, where, services, classify_walk(entries, classifier))

    def _extended(self, file: Path, where: str, repo: Repo, services: Sequence[ServicePaths],
                  classifier: PathClassifier, listing: list[tuple[str, list[str]]], unknown: list[str],
                  known: _Kept) -> Iterator[ClassifiedEntry]:
        fresh: dict[str, tuple[int, int, list[bytes]]] = {}
        for sha, _, positive, relevant, files in classify_walk(repo.commits_with_paths(unknown), classifier):
            fresh[sha] = (positive, relevant, files if positive else [])
        kept = known.successor()
        index, positives, relevants, touches, table = (known.index, known.positive, known.relevant, known.touched,
                                                       known.table)
        for sha, parents in listing:
            k = index.get(sha)
            if k is not None:
                positive, relevant, touched = positives[k], relevants[k], touches[k]
                kept.keep(sha, positive, relevant, touched)
                yield sha, parents, positive, relevant, list(map(table.__getitem__, touched)) if touched else []
            else:
                positive, relevant, files = fresh.get(sha) or (0, 0, [])
                kept.add(sha, positive, relevant, files)
                yield sha, parents, positive, relevant, files
        if fresh or len(kept.shas) != len(known.shas) or set(kept.shas) != set(known.shas):
            kept.save(file, where, services)

    def _recorded(self, file: Path, where: str, services: Sequence[ServicePaths],
                  entries: Iterator[ClassifiedEntry]) -> Iterator[ClassifiedEntry]:
        kept = _Kept()
        for sha, parents, positive, relevant, files in entries:
            kept.add(sha, positive, relevant, files if positive else [])
            yield sha, parents, positive, relevant, files
        kept.save(file, where, services)


class _Kept:
    """One kept walk, by column: the commits, their two masks and (for commits touching a service) their files as
    indexes into a table of paths."""

    def __init__(self) -> None:
        self.shas: list[str] = []
        self.positive: list[int] = []
        self.relevant: list[int] = []
        self.touched: list[list[int]] = []
        self.table: list[bytes] = []
        self._number: dict[bytes, int] | None = None  # path -> its index in the table, made when first needed
        self.index: dict[str, int] = {}

    def successor(self) -> _Kept:
        """An empty walk with this one's table of paths, to keep the next run's commits in."""
        following = _Kept()
        following.table = list(self.table)
        return following

    def keep(self, sha: str, positive: int, relevant: int, touched: list[int]) -> None:
        """Keep one commit of the walk this one succeeds, its files already as table indexes."""
        self.shas.append(sha)
        self.positive.append(positive)
        self.relevant.append(relevant)
        self.touched.append(touched)

    def add(self, sha: str, positive: int, relevant: int, files: list[bytes]) -> None:
        """Keep one commit (``files`` only when it touches a service)."""
        number = self._number
        if number is None:
            number = self._number = {path: k for k, path in enumerate(self.table)}
        self.keep(sha, positive, relevant, [number[f] if f in number else self._new(number, f) for f in files])

    def _new(self, number: dict[bytes, int], path: bytes) -> int:
        number[path] = len(self.table)
        self.table.append(path)
        return number[path]

    def save(self, file: Path, repo: str, services: Sequence[ServicePaths]) -> None:
        """Write the walk atomically: a header line (what it is for, the payload's SHA-256) and the payload; a
        failure only means the next run walks more."""
        payload = json.dumps({"files": [os.fsdecode(f) for f in self.table], "shas": self.shas,
                              "positive": self.positive, "relevant": self.relevant, "touched": self.touched},
                             separators=(",", ":")).encode()
        header = json.dumps({"schema": SCHEMA, "repo": repo, "paths": _describe_paths(services),
                             "count": len(self.shas), "sha256": hashlib.sha256(payload).hexdigest()})
        partial = file.with_name(f".{file.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # one per writer
        try:
            file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial.write_bytes(header.encode() + b"\n" + payload)
            os.replace(partial, file)
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                partial.unlink()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogateescape")).hexdigest()[:20]


def _describe_paths(services: Sequence[ServicePaths]) -> list[list[list[str]]]:
    """The service paths as the key sees them: per service (in bit order) its globs and excludes."""
    return [[[g.pattern for g in s.paths], [g.pattern for g in s.exclude]] for s in services]


def _paths_digest(services: Sequence[ServicePaths]) -> str:
    return _digest(json.dumps(_describe_paths(services)))


def _load(file: Path, repo: str, services: Sequence[ServicePaths]) -> _Kept | None:
    """The walk kept in ``file``; None when it is missing, empty or not to be trusted."""
    try:
        header, _, payload = file.read_bytes().partition(b"\n")
        return _decode(json.loads(header), payload, repo, services)
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return None


def _decode(header: Any, payload: bytes, repo: str, services: Sequence[ServicePaths]) -> _Kept | None:
    """The kept walk when the header is this repository's and paths' and the payload is intact and consistent;
    every check runs over whole columns (the file may hold a hundred thousand commits)."""
    if (not isinstance(header, dict) or header.get("schema") != SCHEMA or header.get("repo") != repo
            or header.get("paths") != _describe_paths(services)
            or header.get("sha256") != hashlib.sha256(payload).hexdigest()):
        return None
    document = json.loads(payload)
    table, shas = document["files"], document["shas"]
    positive, relevant, touched = document["positive"], document["relevant"], document["touched"]
    count = header["count"]
    columns = (table, shas, positive, relevant, touched)
    if not all(type(c) is list for c in columns) or not count or not len(shas) == len(positive) == len(relevant) \
            == len(touched) == count:
        return None
    numbers = list(itertools.chain.from_iterable(touched))
    if (set(map(type, table)) - {str} or set(map(type, shas)) - {str} or set(map(len, shas)) - {40, 64}
            or set(map(type, positive)) - {int} or set(map(type, relevant)) - {int} or set(map(type, touched)) - {list}
            or set(map(type, numbers)) - {int} or min(relevant) < 0 or max(positive) >= 1 << len(services)
            or any(map(int.__and__, relevant, map(int.__invert__, positive)))
            or not all(map(operator.eq, map(bool, touched), map(bool, positive)))
            or (numbers and (min(numbers) < 0 or max(numbers) >= len(table)))):
        return None
    kept = _Kept()
    kept.shas, kept.positive, kept.relevant, kept.touched = shas, positive, relevant, touched
    kept.table = [os.fsencode(f) for f in table]
    kept.index = dict(zip(shas, range(count), strict=True))
    return kept
