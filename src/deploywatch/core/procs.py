"""Running a child process safely: its output read as it comes, a timeout, and the end of everything it started."""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .durations import format_age
from .redact import mask
from .text import plural

__all__ = ["MAX_OUTPUT", "Outcome", "collect", "kill_group", "read_chunks", "run", "run_shell", "signal_name"]

MAX_OUTPUT = 64 << 10  # bytes of stdout kept by default
_DRAIN_SECONDS = 2.0  # after a kill or an exit, for the pipes to close
_POLL_SECONDS = 0.25  # how often to look whether the child has exited while its pipes stay open
_READ = 1 << 16
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group of ``proc`` (started with ``start_new_session=True``): a command's
    children (ssh under git fetch, a pipeline under sh) must not outlive its timeout."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def signal_name(number: int) -> str:
    """``signal 9 (SIGKILL)``."""
    try:
        return f"signal {number} ({signal.Signals(number).name})"
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class Outcome:
    """How a child ended: its exit code (negative: killed by that signal), or None with ``problem`` saying why there
    is none (it could not start, ran past its timeout, or printed too much); its stdout and (the end of) its stderr."""

    returncode: int | None
    stdout: bytes
    stderr: bytes
    problem: str | None = None

    def stderr_tail(self, lines: int = 3, chars: int = 300) -> str:
        """The last ``lines`` non-empty lines of stderr joined by ``" | "``, masked, then cut to their last ``chars``
        characters (empty when there is none)."""
        found = _stderr_lines(self.stderr)
        text = mask(_CONTROL.sub(" ", " | ".join(found[-lines:])))  # masked before cutting: no half secret shows
        return text if len(text) <= chars else "..." + text[-chars:]

    def stderr_head(self, lines: int = 2, chars: int = 300) -> str:
        """The first ``lines`` meaningful lines of stderr (not blank, not only punctuation such as a rule of
        dashes) joined by ``" | "``, masked, then cut to their first ``chars`` characters, saying how many lines
        were left out (empty when there is none). Tools print the cause first and the detail after it."""
        found = [ln for ln in _stderr_lines(self.stderr) if any(c.isalnum() for c in ln)]
        text = mask(_CONTROL.sub(" ", " | ".join(found[:lines])))  # masked before cutting: no half secret shows
        text = text if len(text) <= chars else text[:chars] + "..."
        more = len(found) - lines
        return text + (f" (+{plural(more, 'more line')})" if more > 0 else "")


def _stderr_lines(stderr: bytes) -> list[str]:
    return [ln.strip() for ln in stderr.decode("utf-8", errors="replace").splitlines() if ln.strip()]


def run(args: Sequence[str], *, timeout: float, max_output: int = MAX_OUTPUT, stderr_kept: int = 8192,
        overflow: str | None = None, cwd: Path | str | None = None, env: Mapping[str, str] | None = None) -> Outcome:
    """Run ``args`` (no shell; stdin from /dev/null; ``env`` added to the environment) in a process group of its
    own, and :func:`collect` it."""
    try:
        proc = subprocess.Popen(list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=cwd, start_new_session=True, env={**os.environ, **env} if env is not None else None)
    except FileNotFoundError as exc:
        if exc.filename not in (None, args[0]):  # the working directory
            return Outcome(None, b"", b"", f"cannot run {args[0]}: no such directory {exc.filename}")
        return Outcome(None, b"", b"", f"{args[0]} not found on PATH")
    except OSError as exc:
        return Outcome(None, b"", b"", f"cannot run {args[0]}: {exc.strerror or exc}")
    return collect(proc, timeout=timeout, max_output=max_output, stderr_kept=stderr_kept, overflow=overflow)


def run_shell(command: str, *, timeout: float, max_output: int = MAX_OUTPUT, cwd: Path | str | None = None,
              env: Mapping[str, str] | None = None) -> Outcome:
    """:func:`run` ``command`` with ``/bin/sh -c``."""
    return run(["/bin/sh", "-c", command], timeout=timeout, max_output=max_output, cwd=cwd, env=env)


def collect(proc: subprocess.Popen[bytes], *, timeout: float, max_output: int | None, stderr_kept: int = 8192,
            overflow: str | None = None, input: bytes | None = None) -> Outcome:
    """Read ``proc``'s stdout and stderr as data arrives (neither pipe can fill up) until it ends or ``timeout``.

    stdout beyond ``max_output`` bytes (None: no limit) is dropped, or, with ``overflow`` (the reason to give),
    the process is killed there; of stderr, the first and the last ``stderr_kept`` bytes are kept (a line
    ``...`` between them when bytes were dropped). ``input`` is written to its stdin (which must then be a
    pipe) as it reads. ``proc`` must have been started with ``start_new_session=True``: at the timeout its
    whole group is killed. Once ``proc`` has ended (or been
    killed), a descendant that left the group and still holds the pipes (ssh's ControlPersist master) is waited
    for briefly, not forever, and not until the timeout.
    """
    assert proc.stdout is not None
    assert proc.stderr is not None
    out, err_head, err = bytearray(), bytearray(), bytearray()  # stderr: its start, and its end after that
    skipped = False  # bytes between the two were dropped
    problem: str | None = None
    deadline = time.monotonic() + timeout
    ended = False  # proc has exited; the pipes get _DRAIN_SECONDS more to close
    pending = memoryview(input or b"")
    with selectors.DefaultSelector() as selector:
        for pipe in (proc.stdout, proc.stderr):
            os.set_blocking(pipe.fileno(), False)
            selector.register(pipe, selectors.EVENT_READ)
        if input is not None:
            assert proc.stdin is not None
            os.set_blocking(proc.stdin.fileno(), False)
            selector.register(proc.stdin, selectors.EVENT_WRITE)

        def stop(reason: str) -> None:
            nonlocal problem, deadline
            if problem is None:
                problem, deadline = reason, time.monotonic() + _DRAIN_SECONDS
                kill_group(proc)

        while any(key.events & selectors.EVENT_READ for key in selector.get_map().values()):
            if not ended and proc.poll() is not None:
                ended, deadline = True, min(deadline, time.monotonic() + _DRAIN_SECONDS)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if problem is not None or ended:
                    break
                stop(f"timed out after {format_age(timeout)}")
                continue
            for key, _ in selector.select(min(remaining, _POLL_SECONDS)):
                if key.fileobj is proc.stdin:
                    pending = _feed(selector, proc.stdin, pending)
                    continue
                chunk = os.read(key.fd, _READ)
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.fileobj is proc.stderr:
                    taken = max(0, stderr_kept - len(err_head))
                    err_head += chunk[:taken]
                    err += chunk[taken:]
                    if len(err) > stderr_kept:
                        skipped = True
                        del err[:-stderr_kept]
                elif max_output is None:
                    out += chunk
                elif overflow is not None:
                    out += chunk
                    if len(out) > max_output:
                        stop(overflow)
                elif len(out) < max_output:
                    out += chunk[:max_output - len(out)]
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        proc.wait(max(0.0, deadline - time.monotonic()) if problem is None else _DRAIN_SECONDS)
    except subprocess.TimeoutExpired:  # closed its output but kept running
        kill_group(proc)
        proc.wait(_DRAIN_SECONDS)
        problem = problem or f"timed out after {format_age(timeout)}"
    kept = bytes(out if max_output is None else out[:max_output])
    stderr = bytes(err_head) + (b"\n...\n" if skipped else b"") + bytes(err)
    return Outcome(None if problem else proc.returncode, kept, stderr, problem)


def _feed(selector: selectors.BaseSelector, stdin: IO[bytes], pending: memoryview) -> memoryview:
    """Write what ``stdin`` takes of ``pending``; close it when all is written or the child stopped reading."""
    try:
        pending = pending[os.write(stdin.fileno(), pending[:_READ]):] if pending else pending
    except BlockingIOError:
        return pending
    except OSError:  # BrokenPipeError: the child exited or closed its stdin; its exit code tells the rest
        pending = pending[:0]
    if not pending:
        selector.unregister(stdin)
        stdin.close()
    return pending


def read_chunks(proc: subprocess.Popen[bytes], pipe: IO[bytes], *, size: int, gather: float = 0.0) -> Iterator[bytes]:
    """Yield what ``proc`` writes to ``pipe`` as it arrives, until the pipe closes, or, once ``proc`` has ended
    (or been killed), at most ``_DRAIN_SECONDS`` later: a descendant that left the process group may hold the
    pipe open long after (ssh's ControlPersist master). With ``gather``, a read of less than ``size`` is followed
    by that many seconds' pause, so that a writer that writes a little at a time (git log: a commit at a time)
    fills the pipe meanwhile: one wake-up for many of its writes, not one each (thousands per second of CPU)."""
    ended_at: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(pipe, selectors.EVENT_READ)
        while True:
            if ended_at is None and proc.poll() is not None:
                ended_at = time.monotonic()
            wait = _POLL_SECONDS if ended_at is None else ended_at + _DRAIN_SECONDS - time.monotonic()
            if wait <= 0:
                return
            if selector.select(wait):
                chunk = os.read(pipe.fileno(), size)
                if not chunk:
                    return
                yield chunk
                if gather and len(chunk) < size:
                    time.sleep(gather)
