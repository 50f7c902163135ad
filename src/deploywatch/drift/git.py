"""Every git command deploywatch runs goes through this module (how each runs: :mod:`.gitproc`).

System ``git`` only, with a clean environment (inherited ``GIT_*`` variables removed, so a hook's
or CI's ``GIT_DIR`` cannot redirect us), machine-readable ``-z`` output, ``--no-renames`` so a rename
counts as a delete plus an add, and a timeout on every call.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import GitError
from .gitproc import DEFAULT_TIMEOUT, GitProcess, clean_env
from .walkparse import WalkEntry, children_first, parse_walk

__all__ = ["DEFAULT_TIMEOUT", "Commit", "Repo", "WalkEntry", "clean_env", "parse_walk"]

_HEX = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# One commit of a walk: "\0SHA PARENTS…", then its paths. The leading NUL marks a new commit (a path is
# never empty). Only fields git can read from the commit-graph, so it need not open every commit.
_WALK_FORMAT = "--format=%x00%H %P"


@dataclass(frozen=True, slots=True)
class Commit:
    """What deploywatch shows of a commit: its parents, committer time, author and subject."""

    sha: str
    parents: tuple[str, ...]
    committed_at: int
    author: str
    subject: str


class Repo(GitProcess):
    """A git repository on disk; methods map to single git invocations."""

    # ------------------------------------------------------------ revisions

    def check(self) -> None:
        """Raise :class:`GitError` unless the path is a git work tree or repository."""
        if not self.path.exists():
            raise GitError(f"repository path {self.path} does not exist (check repo.path in the config)")
        if not self.path.is_dir():
            raise GitError(f"repository path {self.path} is not a directory (check repo.path in the config)")
        proc = self.run("rev-parse", "--is-bare-repository", "--show-toplevel", ok_codes=(0, 128))
        lines = proc.stdout.decode(errors="surrogateescape").splitlines()
        if not lines:  # a bare repository or a .git directory answers the first question only
            raise GitError(self._describe_failure(["rev-parse"], proc))
        if len(lines) > 1:  # a directory inside a work tree: paths are relative to its top
            self.path = Path(lines[1])

    def resolve(self, revision: str) -> str | None:
        """The full SHA of the commit ``revision`` names, or None when it names none."""
        return self.resolve_many([revision]).get(revision)

    def resolve_many(self, revisions: Iterable[str]) -> dict[str, str | None]:
        """Resolve SHAs (full or abbreviated), tags and refs to commits with one ``git cat-file``."""
        names = list(dict.fromkeys(revisions))
        result: dict[str, str | None] = {}
        batch = [n for n in names if n and "\n" not in n and not n.startswith("-")]
        for name in names:
            result[name] = None
        if not batch:
            return result
        # ":/text" searches commit messages; a "^{commit}" suffix would become part of the pattern.
        data = "".join(f"{n}\n" if n.startswith(":/") else f"{n}^{{commit}}\n" for n in batch).encode()
        out = self.run("cat-file", "--batch-check=%(objectname) %(objecttype)", input=data).stdout
        for name, line in zip(batch, out.decode(errors="replace").splitlines(), strict=False):
            parts = line.split()
            if len(parts) == 2 and parts[1] == "commit" and _HEX.fullmatch(parts[0]):
                result[name] = parts[0]
        return result

    def user_name(self) -> str | None:
        """``git config user.name`` as this repository sees it (None when unset)."""
        proc = self.run("config", "--get", "user.name", ok_codes=(0, 1))
        return proc.stdout.decode(errors="replace").strip() or None

    def is_shallow(self) -> bool:
        """True for a shallow clone (history cut off)."""
        return self.output("rev-parse", "--is-shallow-repository") == "true"

    def merge_bases(self, commits: Sequence[str], *, octopus: bool = False) -> list[str]:
        """The best common ancestors of ``commits`` (empty when histories are unrelated)."""
        if len(commits) < 2:
            return list(commits)
        if octopus and len(commits) > 2:
            # git folds the commits in one at a time, walking from each down to the bases so far: newest first, each
            # walk is short (500 deployed commits in a random order: seconds, not tenths).
            commits = self.output("rev-list", "--no-walk=sorted", "--end-of-options", *commits, "--").split()
        args = ["merge-base", "--all", *(["--octopus"] if octopus else []), "--end-of-options", *commits]
        proc = self.run(*args, ok_codes=(0, 1))
        return proc.stdout.decode().split()

    def commit_files(self, commit: str) -> list[bytes]:
        """Paths a commit changed against its first parent (everything in a root commit)."""
        out = self.run("diff-tree", "--root", "--no-commit-id", "-r", "-z", "--name-only", "--no-renames",
                       "-m", "--first-parent", commit).stdout
        return sorted({p for p in out.split(b"\0") if p})

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when ``ancestor`` is reachable from ``descendant`` (or is the same commit)."""
        proc = self.run("merge-base", "--is-ancestor", ancestor, descendant, ok_codes=(0, 1))
        return proc.returncode == 0

    def current_branch(self) -> str | None:
        """The branch checked out (short name), or None on a detached HEAD."""
        proc = self.run("symbolic-ref", "--quiet", "--short", "HEAD", ok_codes=(0, 1, 128))
        return (proc.stdout.decode(errors="surrogateescape").strip() or None) if proc.returncode == 0 else None

    def upstream(self, branch: str) -> str | None:
        """The remote-tracking branch ``branch`` follows (``origin/main``), or None when it follows none."""
        proc = self.run("rev-parse", "--abbrev-ref", "--symbolic-full-name", f"{branch}@{{upstream}}",
                        ok_codes=(0, 128))
        return (proc.stdout.decode(errors="surrogateescape").strip() or None) if proc.returncode == 0 else None

    def count(self, include: str, exclude: str) -> int:
        """``git rev-list --count INCLUDE --not EXCLUDE``."""
        return int(self.output("rev-list", "--count", include, "--not", exclude, "--"))

    def status_entries(self) -> list[str]:
        """``git status --porcelain -z`` entries (``"XY PATH"``): staged, unstaged and untracked changes."""
        out = self.run("status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=normal").stdout
        return [p.decode(errors="surrogateescape") for p in out.split(b"\0") if p]

    def remotes(self) -> list[str]:
        """Names of the configured remotes."""
        return self.output("remote").split()

    def fetch(self, remote: str | None = None, *, timeout: float | None = None) -> None:
        """``git fetch`` (the given remote, else the default one), without prompting, within the repository's
        timeout (``repo.timeout``) unless told otherwise."""
        self.run("fetch", "--quiet", "--no-write-fetch-head", *([remote] if remote else []), timeout=timeout)

    # ------------------------------------------------------------ history

    def walk(self, include: Sequence[str], exclude: Sequence[str] = ()) -> Iterator[WalkEntry]:
        """Commits reachable from ``include`` but not ``exclude``, children before parents, each with the
        paths it changed against its parent (none for merges; a root commit against the empty tree).

        git starts at once; entries are parsed as its output arrives.
        """
        return parse_walk(self.walk_output(include, exclude))

    def walk_output(self, include: Sequence[str], exclude: Sequence[str] = ()) -> Generator[bytes, None, None]:
        """Start the :meth:`walk` now and yield git's raw output in chunks."""
        args = ["log", "--topo-order", "-z", "--name-only", "--no-renames", "--root", "--no-ext-diff",
                "--no-textconv", "--no-color", _WALK_FORMAT, *include]
        if exclude:
            args += ["--not", *exclude]
        args.append("--")
        return self.stream(*args)

    def topo_parents(self, include: Sequence[str], exclude: Sequence[str] = ()) -> list[tuple[str, list[str]]]:
        """The :meth:`walk`'s commits and parents without their paths (``git rev-list --topo-order --parents``)."""
        args = ["rev-list", "--topo-order", "--parents", *include, *(["--not", *exclude] if exclude else []), "--"]
        return [(words[0], words[1:]) for line in self.output(*args).splitlines() if (words := line.split())]

    def commits_with_paths(self, commits: Sequence[str]) -> Iterator[WalkEntry]:
        """The :meth:`walk`'s entries for just ``commits`` (one ``git log --no-walk --stdin``), in any order."""
        if not commits:
            return iter(())
        out = self.run("log", "--no-walk=unsorted", "--stdin", "-z", "--name-only", "--no-renames", "--root",
                       "--no-ext-diff", "--no-textconv", "--no-color", _WALK_FORMAT,
                       input="".join(f"{c}\n" for c in commits).encode()).stdout
        return parse_walk([out])

    def new_commits(self, include: Sequence[str], exclude: Sequence[str]) -> list[tuple[WalkEntry, int]]:
        """The :meth:`walk` of ``include`` down to what ``exclude`` reaches (a missing ``exclude`` ignored), each entry
        with its committer time, children before parents (ordered here: ``--topo-order`` would make git explore the
        history below the excluded commits, tens of milliseconds on a large repository, to order a handful)."""
        out = self.run("log", "-z", "--name-only", "--no-renames", "--root", "--no-ext-diff", "--no-textconv",
                       "--no-color", "--ignore-missing", "--format=%x00%H %P %x01%ct", *include, "--not", *exclude,
                       "--").stdout
        found = []
        for sha, parents, files in parse_walk([out]):
            *parents, stamp = parents  # "%P %x01%ct": the time is the last word, after a \x01
            found.append(((sha, parents, files), int(stamp.lstrip("\x01"))))
        return children_first(found)

    def first_parent_times(self, tip: str, exclude: Sequence[str] = ()) -> Callable[[], dict[str, int]]:
        """Start listing the first-parent chain of ``tip`` (down to ``exclude``) with committer times;
        the returned function waits for the result, ``{sha: committer time}``."""
        args = ["rev-list", "--first-parent", "--timestamp", tip, *(["--not", *exclude] if exclude else []), "--"]
        # Written to a file rather than a pipe, so git finishes while the caller reads another walk.
        output = tempfile.TemporaryFile()  # noqa: SIM115 - closed by result()
        chunks = self.stream(*args, stdout=output)
        lock = threading.Lock()
        times: dict[str, int] = {}
        done: list[GitError | None] = []

        def result() -> dict[str, int]:
            with lock:  # callable more than once, from any thread: git is waited for once
                if not done:
                    try:
                        for _ in chunks:
                            pass
                        output.seek(0)
                        words = output.read().decode().split()  # "TIME SHA" per line
                        times.update(zip(words[1::2], map(int, words[0::2]), strict=True))
                        done.append(None)
                    except GitError as exc:
                        done.append(exc)
                    finally:
                        output.close()
                if done[0] is not None:
                    raise done[0]
                return times

        return result

    def describe(self, commits: Iterable[str]) -> dict[str, Commit]:
        """Author, subject and committer time of each commit, with one git call."""
        wanted = list(dict.fromkeys(commits))
        if not wanted:
            return {}
        out = self.run("log", "--no-walk=unsorted", "--stdin", "-z", "--format=%H%x00%P%x00%ct%x00%an%x00%s",
                       input="".join(f"{c}\n" for c in wanted).encode()).stdout
        tokens = out.split(b"\0")
        found: dict[str, Commit] = {}
        for k in range(0, len(tokens) - 4, 5):
            sha = tokens[k].decode()
            found[sha] = Commit(sha, tuple(tokens[k + 1].decode().split()), int(tokens[k + 2]),
                                tokens[k + 3].decode(errors="replace"), tokens[k + 4].decode(errors="replace"))
        return found

    def changed_files(self, base: str, head: str) -> list[bytes]:
        """Paths changed between two commits (``git diff --name-only --no-renames``)."""
        out = self.run("diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", base, head, "--").stdout
        return [p for p in out.split(b"\0") if p]

    def staged_files(self) -> list[bytes]:
        """Paths staged in the index against HEAD."""
        out = self.run("diff", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--").stdout
        return [p for p in out.split(b"\0") if p]

    def tree_files(self, commit: str) -> list[bytes]:
        """Every file path in ``commit``'s tree."""
        out = self.run("ls-tree", "-r", "-z", "--name-only", commit).stdout
        return [p for p in out.split(b"\0") if p]

    def work_tree_files(self) -> list[bytes]:
        """Every file of the work tree git would track: tracked ones and untracked ones not ignored."""
        out = self.run("ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout
        return sorted({p for p in out.split(b"\0") if p})

    def patch_ids(self, commits: Sequence[str]) -> dict[str, str]:
        """``git patch-id --stable`` of each commit's diff against its first parent."""
        if not commits:
            return {}
        shown = self.run("show", "--no-color", "--no-ext-diff", "--no-renames", "--format=commit %H",
                         "-p", *commits).stdout
        out = self.run("patch-id", "--stable", input=shown).stdout.decode()
        ids: dict[str, str] = {}
        for line in out.splitlines():
            patch_id, _, sha = line.partition(" ")
            ids[sha] = patch_id
        return ids

    def commits_touching(self, include: str, exclude: str, files: Sequence[bytes]) -> list[str]:
        """Non-merge commits in ``exclude..include`` that change exactly the set ``files``."""
        wanted = set(files)
        entries = parse_walk(self.stream("log", "-z", "--no-merges", "--name-only", "--no-renames", _WALK_FORMAT,
                                         include, "--not", exclude, "--"))
        return [sha for sha, _, paths in entries if set(paths) == wanted]

