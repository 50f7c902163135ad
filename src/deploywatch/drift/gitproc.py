"""How every git command runs: a clean environment, pinned settings, a timeout, one-line errors, streamed output.

:class:`GitProcess` is the plumbing; :class:`~deploywatch.drift.git.Repo` extends it with the commands."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile
import threading
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import IO, Any

from ..core.errors import GitError
from ..core.procs import collect, kill_group, read_chunks
from ..core.redact import mask

__all__ = ["DEFAULT_TIMEOUT", "GitProcess", "clean_env"]

DEFAULT_TIMEOUT = 120.0
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


class GitProcess:
    """How every git command of one repository runs (its path, its timeout)."""

    def __init__(self, path: Path | str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = Path(path)
        self.timeout = timeout

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
