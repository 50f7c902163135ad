"""Real git repositories for tests, built commit by commit with fixed dates."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from deploywatch.drift.git import clean_env

BASE_TIME = 1_790_000_000  # 2026-09-21T14:13:20Z


class GitRepo:
    """A git repository on disk with helpers that read like the scenario they build."""

    def __init__(self, path: Path, *, branch: str = "main") -> None:
        self.path = path
        self.clock = BASE_TIME
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)
        self.git("config", "user.name", "Test Author")
        self.git("config", "user.email", "author@example.com")
        self.git("config", "commit.gpgsign", "false")

    @classmethod
    def existing(cls, path: Path, *, clock: int = BASE_TIME + 3600) -> GitRepo:
        """A repository made before (by another helper), to add commits to; its clock starts at ``clock``."""
        repo = cls.__new__(cls)
        repo.path, repo.clock = path, clock
        return repo

    def git(self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None) -> str:
        """Run git in the repository; return stdout (stripped)."""
        proc = subprocess.run(["git", *args], cwd=self.path, input=input, capture_output=True, timeout=60,
                              env=clean_env(dict(env or {})), check=False)
        if proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode(errors="surrogateescape").strip()

    def _dated(self, advance: int) -> dict[str, str]:
        self.clock += advance
        stamp = f"@{self.clock} +0000"
        return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}

    def write(self, files: Mapping[str, str | None]) -> None:
        """Write (or, for ``None``, delete) files in the work tree and stage them."""
        for name, content in files.items():
            target = self.path / name
            if content is None:
                self.git("rm", "-q", "--", name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content, encoding="utf-8")
                self.git("add", "--", name)

    def commit(self, message: str, files: Mapping[str, str | None] | None = None, *, advance: int = 60,
               allow_empty: bool = False) -> str:
        """Commit ``files`` (path → content, ``None`` deletes); return the new SHA."""
        if files:
            self.write(files)
        self.git("commit", "-q", "--no-verify", "-m", message, *(["--allow-empty"] if allow_empty else []),
                 env=self._dated(advance))
        return self.head()

    def rename(self, old: str, new: str, message: str, *, advance: int = 60) -> str:
        """``git mv old new`` and commit."""
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", "--", old, new)
        return self.commit(message, advance=advance)

    def head(self, rev: str = "HEAD") -> str:
        """The full SHA of ``rev``."""
        return self.git("rev-parse", "--verify", f"{rev}^{{commit}}")

    def checkout(self, ref: str, *, new: bool = False, start: str | None = None) -> None:
        """Switch branches (``new`` creates ``ref`` at ``start``)."""
        args = ["checkout", "-q", *(["-b"] if new else []), ref, *([start] if start else [])]
        self.git(*args)

    def merge(self, branch: str, message: str | None = None, *, advance: int = 60) -> str:
        """A real merge commit (``--no-ff``) of ``branch`` into the current branch."""
        self.git("merge", "-q", "--no-ff", "--no-edit", "-m", message or f"Merge branch '{branch}'", branch,
                 env=self._dated(advance))
        return self.head()

    def orphan_commit(self, message: str, files: Mapping[str, str]) -> str:
        """A root commit with unrelated history, not on any branch; return its SHA."""
        index = {"GIT_INDEX_FILE": str(self.path / ".git" / "orphan-index")}
        for name, content in files.items():
            blob = self.git("hash-object", "-w", "--stdin", input=content.encode())
            self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=index)
        tree = self.git("write-tree", env=index)
        (self.path / ".git" / "orphan-index").unlink()
        return self.git("commit-tree", tree, "-m", message, env=self._dated(60))

    def cherry_pick(self, commit: str, *, advance: int = 60) -> str:
        """Cherry-pick ``commit`` onto the current branch."""
        self.git("cherry-pick", "-x", commit, env=self._dated(advance))
        return self.head()

    def tag(self, name: str, rev: str = "HEAD", *, annotated: bool = False) -> None:
        """Create a (lightweight or annotated) tag."""
        self.git("tag", *(["-a", "-m", name] if annotated else []), name, rev, env=self._dated(0))


def write_config(directory: Path, text: str) -> Path:
    """Write ``deploywatch.toml`` into ``directory``; return its path."""
    path = directory / "deploywatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def write_deployed(directory: Path, name: str, value: str) -> None:
    """Write ``deployed/NAME.sha`` holding ``value``."""
    target = directory / "deployed" / f"{name}.sha"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(value + "\n", encoding="utf-8")


def env_without_git() -> dict[str, str]:
    """The test process environment without GIT_* (as deploywatch sees it)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
