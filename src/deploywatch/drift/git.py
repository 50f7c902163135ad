"""Every git command deploywatch runs goes through this module.

System ``git`` only, with a clean environment (inherited ``GIT_*`` variables removed, so a hook's
or CI's ``GIT_DIR`` cannot redirect us), machine-readable ``-z`` output, ``--no-renames`` so a rename
counts as a delete plus an add, and a timeout on every call.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..core.errors import GitError
from ..core.procs import collect, kill_group, read_chunks
from ..core.redact import mask
from .walkparse import WalkEntry, parse_walk

__all__ = ["Commit", "Repo", "WalkEntry", "clean_env", "parse_walk"]

DEFAULT_TIMEOUT = 120.0
_HEX = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# One commit of a walk: "\0SHA PARENTS…", then its paths. The leading NUL marks a new commit (a path is
# never empty). Only fields git can read from the commit-graph, so it need not open every commit.
_WALK_FORMAT = "--format=%x00%H %P"
_CHUNK = 1 << 20
# After a short read of a stream, wait this long for git to write more (a walk's output comes a commit at a time;
# the 1 MiB pipe holds far more than git writes meanwhile).
_GATHER = 0.002
_STDERR_KEPT = 64 << 10
_WAIT_AFTER_KILL = 10.0  # SIGKILL is not refused; a process stuck in the kernel (a dead NFS mount) may take a moment
# Settings that would change the output deploywatch reads, pinned whatever the user's config says.
_PINNED = ("-c", "core.quotepath=false", "-c", "log.showSignature=false", "-c", "diff.relative=false",
           "-c", "color.ui=false")
# Variables git needs to reach a remote (repo.fetch); every other inherited GIT_* is dropped.
_KEPT_GIT_VARIABLES = frozenset({"GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_ASKPASS", "GIT_PROXY_COMMAND",
                                 "GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "GIT_HTTP_PROXY_AUTHMETHOD"})


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for git: ours minus ``GIT_*`` (but for how to reach a remote), with prompts off
    and messages in English, so a hook's or CI's ``GIT_DIR`` cannot redirect a command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEPT_GIT_VARIABLES}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "LANGUAGE": "C"})
    if extra:
        env.update(extra)
    return env


@dataclass(frozen=True, slots=True)
class Commit:
    """What deploywatch shows of a commit: its parents, committer time, author and subject."""

    sha: str
    parents: tuple[str, ...]
    committed_at: int
    author: str
    subject: str


class Repo:
    """A git repository on disk; methods map to single git invocations."""

    def __init__(self, path: Path | str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = Path(path)
        self.timeout = timeout

    # ------------------------------------------------------------ plumbing

    def _spawn(self, args: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
        cmd = ["git", "-C", str(self.path), *_PINNED, *args]
        try:
            return subprocess.Popen(cmd, env=clean_env(), start_new_session=True, **options)
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None

    def _timed_out(self, args: Sequence[str], limit: float) -> GitError:
        return GitError(f"git {args[0]} timed out after {limit:g}s in {self.path}")

    def run(self, *args: str, input: bytes | None = None, timeout: float | None = None,
            ok_codes: Sequence[int] = (0,)) -> subprocess.CompletedProcess[bytes]:
        """Run ``git ARGS`` in the repository; raise :class:`GitError` on failure or timeout."""
        limit = self.timeout if timeout is None else timeout
        proc = self._spawn(args, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        outcome = collect(proc, timeout=limit, max_output=None, stderr_kept=_STDERR_KEPT, input=input)
        if outcome.returncode is None:  # ran past the timeout (its group killed, stray holders not waited for)
            raise self._timed_out(args, limit)
        result = subprocess.CompletedProcess(list(args), outcome.returncode, outcome.stdout, outcome.stderr)
        if result.returncode not in ok_codes:
            raise GitError(self._describe_failure(args, result))
        return result

    def _describe_failure(self, args: Sequence[str], proc: subprocess.CompletedProcess[bytes]) -> str:
        err = proc.stderr.decode(errors="replace").strip()
        if "not a git repository" in err:
            return f"{self.path} is not a git repository (check repo.path in the config)"
        if "dubious ownership" in err:
            return (f"git refuses {self.path}: dubious ownership; run "
                    f"git config --global --add safe.directory {self.path}")
        lines = [ln.removeprefix("fatal: ").removeprefix("error: ") for ln in err.splitlines() if ln.strip()]
        detail = lines[-1] if lines else f"exit code {proc.returncode}"
        return mask(f"git {args[0]} failed: {detail}")

    def output(self, *args: str, input: bytes | None = None, timeout: float | None = None) -> str:
        """Standard output of ``git ARGS`` as text, stripped."""
        return self.run(*args, input=input, timeout=timeout).stdout.decode(errors="surrogateescape").strip()

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
            # git folds the commits in one by one, each merge base walking from the next commit down to the bases so
            # far: newest first, each walk is short (500 deployed commits in a random order: seconds, not tenths).
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

    def stream(self, *args: str, timeout: float | None = None,
               stdout: IO[bytes] | None = None) -> Generator[bytes, None, None]:
        """Start ``git ARGS`` now and yield its standard output in chunks as it arrives.

        The process is killed at the timeout (or when the caller stops early); a failure raises
        :class:`GitError` once the output is exhausted. With ``stdout``, git writes there instead
        and the generator yields nothing, only waiting for git to end.
        """
        limit = self.timeout if timeout is None else timeout
        errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the stream ends
        try:
            proc = self._spawn(args, stdin=subprocess.DEVNULL, stdout=stdout or subprocess.PIPE, stderr=errors)
        except GitError:
            errors.close()
            raise
        if proc.stdout is not None and hasattr(fcntl, "F_SETPIPE_SZ"):
            # A 1 MiB pipe lets git run ahead while this process is busy (or waiting for the GIL)
            # instead of stalling every 64 KiB.
            with contextlib.suppress(OSError):
                fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, _CHUNK)
        expired = threading.Event()

        def kill() -> None:
            if proc.poll() is not None:  # ended in time, only not read yet (output to a file): no timeout
                return
            expired.set()
            kill_group(proc)

        timer = threading.Timer(limit, kill)
        timer.daemon = True
        timer.start()
        chunks = self._chunks(proc, errors, timer, expired, args, limit)
        next(chunks)  # enter the generator, so that closing it always cleans up, even before a read
        return chunks

    def _chunks(self, proc: subprocess.Popen[bytes], errors: Any, timer: threading.Timer,
                expired: threading.Event, args: Sequence[str], limit: float) -> Generator[bytes, None, None]:
        try:
            yield b""
            if proc.stdout is not None:
                yield from read_chunks(proc, proc.stdout, size=_CHUNK, gather=_GATHER)
            proc.wait(_WAIT_AFTER_KILL if expired.is_set() else None)
            if expired.is_set():
                raise self._timed_out(args, limit)
            if proc.returncode != 0:
                errors.seek(0)
                failed = subprocess.CompletedProcess(list(args), proc.returncode, b"", errors.read())
                raise GitError(self._describe_failure(args, failed))
        finally:
            timer.cancel()
            if proc.poll() is None:
                kill_group(proc)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(_WAIT_AFTER_KILL)
            if proc.stdout is not None:
                proc.stdout.close()
            errors.close()

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
        with its committer time, children before parents; for the few commits a run finds new.

        Git lists them in date order and they are sorted here: ``--topo-order`` would make git explore the history
        below the excluded commits (tens of milliseconds on a large repository) to order a handful of commits."""
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


def children_first(found: list[tuple[WalkEntry, int]]) -> list[tuple[WalkEntry, int]]:
    """``found`` ordered so that every commit comes before its parents among them; otherwise as given (a commit is
    placed as soon as all its children are)."""
    position = {entry[0]: k for k, (entry, _) in enumerate(found)}
    children = [0] * len(found)
    for (_, parents, _), _ in found:
        for parent in parents:
            at = position.get(parent)
            if at is not None:
                children[at] += 1
    ready = [k for k, count in enumerate(children) if not count]
    heapq.heapify(ready)
    ordered = []
    while ready:
        k = heapq.heappop(ready)
        ordered.append(found[k])
        for parent in found[k][0][1]:
            at = position.get(parent)
            if at is not None:
                children[at] -= 1
                if not children[at]:
                    heapq.heappush(ready, at)
    return ordered
