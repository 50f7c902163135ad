"""The repository's files as ``init`` reads them: the work tree's files git would track, read bounded."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from ..drift.git import Repo

__all__ = ["MAX_READ", "RepoFiles", "parent", "scan"]

MAX_READ = 256 * 1024  # larger files are data or generated code, not build files
# Directories that hold no deployable and no shared code a service builds from.
IGNORED_PARTS = frozenset({"docs", "doc", "node_modules", "vendor", "third_party", "testdata", "test", "tests",
                           "examples", "example", "__pycache__", ".git", ".github"})


def parent(path: str) -> str:
    """The directory of a repository path (``""`` for the top)."""
    return posixpath.dirname(path)


@dataclass
class RepoFiles:
    """The files of one work tree by repository path, with bounded text reads."""

    root: Path
    files: list[str]
    _texts: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._set = frozenset(self.files)
        dirs: set[str] = set()
        for name in self.files:
            d = parent(name)
            while d and d not in dirs:
                dirs.add(d)
                d = parent(d)
        self.dirs = frozenset(dirs)

    def exists(self, path: str) -> bool:
        """Whether ``path`` is a file or a directory holding files."""
        return path in self._set or path in self.dirs

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a directory holding files."""
        return path in self.dirs

    def under(self, directory: str) -> list[str]:
        """The files under ``directory`` (every file for ``""``)."""
        if not directory:
            return list(self.files)
        prefix = directory + "/"
        return [f for f in self.files if f.startswith(prefix)]

    def read(self, path: str) -> str | None:
        """The text of ``path`` (None when missing, larger than :data:`MAX_READ` or binary)."""
        if path not in self._texts:
            self._texts[path] = self._read(path)
        return self._texts[path]

    def _read(self, path: str) -> str | None:
        target = self.root / path
        try:
            if not target.is_file() or target.stat().st_size > MAX_READ:
                return None
            data = target.read_bytes()
        except OSError:
            return None
        if b"\0" in data[:8192]:
            return None
        return data.decode("utf-8", errors="replace")


def ignored(path: str) -> bool:
    """Whether a path lies in a directory that holds no deployable (docs, tests, vendored code …)."""
    return any(part in IGNORED_PARTS for part in path.split("/")[:-1])


def scan(repo: Repo) -> RepoFiles:
    """The work tree's files (tracked, and untracked ones not ignored) of ``repo``."""
    names = [p.decode("utf-8", errors="surrogateescape") for p in repo.work_tree_files()]
    return RepoFiles(repo.path, names)
