"""Starting the drift walk while the config is still being validated.

Importing pydantic and building the config models takes about a tenth of a second, as long as a
third of the git walk it precedes. For the common setup — every selected service deployed from a
``file`` — the commits to walk from can be read from the raw TOML, so git is started first and
walks while the config is validated. The drift engine then uses that walk only if
it was started for exactly the heads the validated config yields; otherwise it is cancelled and
nothing of it is used. Any problem here is ignored: the normal path reports it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..config.file import (
    DEFAULT_BRANCH,
    DEFAULT_GIT_TIMEOUT,
    DEFAULT_REPO_PATH,
    DEFAULT_VERSION_FIELD,
    read_config_file,
)
from ..core.durations import parse_duration
from ..core.errors import GitError
from .git import Repo
from .history import StartedWalk, start_walk
from .sources.file import FileSource
from .walkcache import walk_cache

__all__ = ["Prefetch"]

_Item = bytes | GitError | None


class Prefetch:
    """Starts the history walk for ``deploywatch drift`` before the config is validated.

    The constructor reads what it needs from the raw config and starts git (a few tens of
    milliseconds, before the import of the config models, so the two do not compete for the
    interpreter); a background thread then keeps git's output flowing until it is taken.
    """

    def __init__(self, config_path: Path | None, names: Sequence[str]) -> None:
        self._cancelled = threading.Event()
        self._drained = threading.Event()
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._started: StartedWalk | None = None
        try:
            plan = _plan(config_path, tuple(names))
            cache = walk_cache()
            if plan is not None and (cache is None or not cache.has_walks(plan[0].path)):  # else rev-list is enough
                repo, heads = plan
                self._started = start_walk(repo, heads, relay=self._relay)
                self._started.cancel = self.cancel
        except Exception:
            self._started = None

    def take(self) -> StartedWalk | None:
        """The walk started early, or None when none could be started."""
        return self._started

    def cancel(self) -> None:
        """Stop the early walk (its git process is killed); for a walk that was not used."""
        self._cancelled.set()
        if self._drained.is_set():
            self._reap()

    def _reap(self) -> None:
        if self._started is not None:
            with contextlib.suppress(GitError):  # not used: wait for the shorter walk so nothing is left behind
                self._started.first_parent_times()

    def _relay(self, output: Generator[bytes, None, None]) -> Iterator[bytes]:
        threading.Thread(target=self._drain, args=(output,), daemon=True, name="deploywatch-prefetch").start()
        return self._chunks()

    def _drain(self, output: Generator[bytes, None, None]) -> None:
        try:
            for chunk in output:
                if self._cancelled.is_set():
                    break
                self._queue.put(chunk)
        except BaseException as exc:
            self._queue.put(exc if isinstance(exc, GitError) else GitError(f"reading git's output failed: {exc!r}"))
        finally:
            output.close()
            self._queue.put(None)
            self._drained.set()
        if self._cancelled.is_set():
            self._reap()

    def _chunks(self) -> Iterator[bytes]:
        while (item := self._queue.get()) is not None:
            if isinstance(item, GitError):
                raise item
            yield item


def _plan(config_path: Path | None, names: tuple[str, ...]) -> tuple[Repo, list[str]] | None:
    """The repository and the heads to walk (tip first), when the raw config makes them certain."""
    source = read_config_file(config_path)
    raw = source.raw
    repo_table: Any = raw.get("repo", {})
    services: Any = raw.get("services")
    if not isinstance(repo_table, dict) or not isinstance(services, dict) or repo_table.get("fetch"):
        return None
    path, branch = repo_table.get("path", DEFAULT_REPO_PATH), repo_table.get("branch", DEFAULT_BRANCH)
    timeout = repo_table.get("timeout", DEFAULT_GIT_TIMEOUT)
    if not _plain(path) or not _plain(branch):
        return None
    base = source.path.resolve().parent
    files = []
    for name in names or list(services):
        deployed = services.get(name, {}).get("deployed") if isinstance(services.get(name), dict) else None
        if not isinstance(deployed, dict) or not set(deployed) <= {"file", "field"} or not _plain(deployed.get("file")):
            return None
        field = deployed.get("field", DEFAULT_VERSION_FIELD)
        if not _plain(field):
            return None
        files.append(FileSource((base / os.path.expanduser(deployed["file"])).resolve(), deployed["file"], field))
    seconds = parse_duration(timeout) if isinstance(timeout, str) else timeout
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0:
        return None
    repo = Repo((base / path).resolve(), timeout=float(seconds))
    values = [r.value for r in (f.read() for f in files) if r.value is not None]
    resolved = repo.resolve_many([branch, *values])
    tip = resolved[branch]
    if tip is None:
        return None
    deployed_commits = sorted({c for v in values if (c := resolved[v]) is not None})
    return repo, list(dict.fromkeys([tip, *deployed_commits]))


def _plain(value: object) -> bool:
    """A non-empty string that interpolation would leave as it is."""
    return isinstance(value, str) and bool(value) and "$" not in value
