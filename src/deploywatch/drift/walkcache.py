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
import json
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..core.paths import PathClassifier, ServicePaths
from .git import Repo
from .walkparse import WalkEntry

__all__ = ["ENV_SWITCH", "ClassifiedEntry", "WalkCache", "cache_dir", "classify_walk", "walk_cache"]

# sha, parents, positive mask, relevant mask, paths (kept only when the positive mask is not 0)
ClassifiedEntry = tuple[str, list[str], int, int, list[bytes]]
_Known = dict[str, tuple[int, int, list[bytes]]]

SCHEMA = "deploywatch.walkcache/v1"
ENV_SWITCH = "DEPLOYWATCH_WALK_CACHE"
CACHE_DIR = "DEPLOYWATCH_CACHE_DIR"
# Up to this many unknown commits are always asked for by SHA; beyond it, only while they are fewer than the known
# ones (one git log over the range is cheaper than naming most of it on stdin).
_ALWAYS_ASK = 256


def cache_dir() -> Path:
    """Where walks are kept: ``$DEPLOYWATCH_CACHE_DIR``, else ``deploywatch/walks`` in the XDG cache folder."""
    configured = os.environ.get(CACHE_DIR)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deploywatch" / "walks"


def walk_cache() -> WalkCache | None:
    """The user's walk cache; None when ``DEPLOYWATCH_WALK_CACHE`` is ``0``, ``false``, ``no`` or ``off``."""
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
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
        file = self.folder / f"walk-{_digest(str(repo.path.resolve()))}-{_paths_digest(services)}.json"
        known = _load(file, str(repo.path.resolve()), services)
        if known:
            listing = repo.topo_parents(heads, boundary)
            unknown = [sha for sha, parents in listing if sha not in known and len(parents) <= 1]
            if len(unknown) <= max(_ALWAYS_ASK, (len(listing) - len(unknown))):
                if full_walk is not None:
                    cancel()
                    if isinstance(full_walk, Generator):
                        full_walk.close()
                return self._extended(file, repo, services, classifier, listing, unknown, known)
        entries = full_walk if full_walk is not None else repo.walk(heads, boundary)
        return self._recorded(file, repo, services, classify_walk(entries, classifier))

    def _extended(self, file: Path, repo: Repo, services: Sequence[ServicePaths], classifier: PathClassifier,
                  listing: list[tuple[str, list[str]]], unknown: list[str], known: _Known) -> Iterator[ClassifiedEntry]:
        fresh: _Known = {}
        for sha, _, positive, relevant, files in classify_walk(repo.commits_with_paths(unknown), classifier):
            fresh[sha] = (positive, relevant, files if positive else [])
        kept: _Known = {}
        for sha, parents in listing:
            found = fresh.get(sha) or known.get(sha) or (0, 0, [])
            kept[sha] = found
            yield sha, parents, *found
        if fresh or kept.keys() != known.keys():
            _save(file, str(repo.path.resolve()), services, kept)

    def _recorded(self, file: Path, repo: Repo, services: Sequence[ServicePaths],
                  entries: Iterator[ClassifiedEntry]) -> Iterator[ClassifiedEntry]:
        kept: _Known = {}
        for sha, parents, positive, relevant, files in entries:
            kept[sha] = (positive, relevant, files if positive else [])
            yield sha, parents, positive, relevant, files
        _save(file, str(repo.path.resolve()), services, kept)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogateescape")).hexdigest()[:20]


def _describe_paths(services: Sequence[ServicePaths]) -> list[list[list[str]]]:
    """The service paths as the key sees them: per service (in bit order) its globs and excludes."""
    return [[[g.pattern for g in s.paths], [g.pattern for g in s.exclude]] for s in services]


def _paths_digest(services: Sequence[ServicePaths]) -> str:
    return _digest(json.dumps(_describe_paths(services)))


def _load(file: Path, repo: str, services: Sequence[ServicePaths]) -> _Known:
    """The commits kept in ``file``; empty when it is missing or not to be trusted."""
    try:
        document = json.loads(file.read_bytes())
        return _decode(document, repo, services)
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return {}


def _decode(document: Any, repo: str, services: Sequence[ServicePaths]) -> _Known:
    if (not isinstance(document, dict) or document.get("schema") != SCHEMA or document.get("repo") != repo
            or document.get("paths") != _describe_paths(services)):
        return {}
    table, commits = document["files"], document["commits"]
    if not isinstance(table, list) or not isinstance(commits, dict) or not all(isinstance(f, str) for f in table):
        return {}
    paths = [os.fsencode(f) for f in table]
    limit = 1 << len(services)
    known: _Known = {}
    for sha, (positive, relevant, indexes) in commits.items():
        if (type(positive) is not int or type(relevant) is not int or not 0 <= relevant <= positive < limit
                or relevant & ~positive or len(sha) not in (40, 64) or not isinstance(indexes, list)
                or bool(indexes) != bool(positive) or not all(type(i) is int and 0 <= i < len(paths) for i in indexes)):
            return {}
        known[sha] = (positive, relevant, [paths[i] for i in indexes] if indexes else [])
    return known


def _save(file: Path, repo: str, services: Sequence[ServicePaths], kept: _Known) -> None:
    """Write the walk atomically; a failure only means the next run walks more."""
    table: dict[bytes, int] = {}
    commits = {sha: [positive, relevant, [table.setdefault(f, len(table)) for f in files]]
               for sha, (positive, relevant, files) in kept.items()}
    document = {"schema": SCHEMA, "repo": repo, "paths": _describe_paths(services),
                "files": [os.fsdecode(f) for f in table], "commits": commits}
    partial = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8", errors="surrogateescape")
        os.replace(partial, file)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            partial.unlink()
