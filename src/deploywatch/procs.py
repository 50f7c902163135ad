"""Running a child process safely: its output read as it comes, a timeout, and the end of everything it started."""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .durations import format_age
from .redact import mask

__all__ = ["MAX_OUTPUT", "Outcome", "collect", "kill_group", "run", "run_shell", "signal_name"]

MAX_OUTPUT = 64 << 10  # bytes of stdout kept by default
_DRAIN_SECONDS = 2.0  # after a kill, for the pipes to close
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
    is none (it could not start, ran past its timeout, or printed too much); its stdout and the tail of its stderr."""

    returncode: int | None
    stdout: bytes
    stderr: bytes
    problem: str | None = None

    def stderr_tail(self, lines: int = 3, chars: int = 300) -> str:
        """The last ``lines`` non-empty lines of stderr joined by ``" | "``, masked, then cut to their last ``chars``
        characters (empty when there is none)."""
        found = [ln.strip() for ln in self.stderr.decode("utf-8", errors="replace").splitlines() if ln.strip()]
        text = mask(_CONTROL.sub(" ", " | ".join(found[-lines:])))  # masked before cutting: no half secret shows
        return text if len(text) <= chars else "..." + text[-chars:]


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


def collect(proc: subprocess.Popen[bytes], *, timeout: float, max_output: int, stderr_kept: int = 8192,
            overflow: str | None = None) -> Outcome:
    """Read ``proc``'s stdout and stderr as data arrives (neither pipe can fill up) until it ends or ``timeout``.

    stdout beyond ``max_output`` bytes is dropped, or, with ``overflow`` (the reason to give), the process is
    killed there; only the last ``stderr_kept`` bytes of stderr are kept. ``proc`` must have been started with
    ``start_new_session=True``: at the timeout its whole group is killed. After a kill, a descendant that left
    the group and still holds the pipes is waited for briefly, not forever.
    """
    assert proc.stdout is not None
    assert proc.stderr is not None
    out, err = bytearray(), bytearray()
    problem: str | None = None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for pipe in (proc.stdout, proc.stderr):
            os.set_blocking(pipe.fileno(), False)
            selector.register(pipe, selectors.EVENT_READ)

        def stop(reason: str) -> None:
            nonlocal problem, deadline
            if problem is None:
                problem, deadline = reason, time.monotonic() + _DRAIN_SECONDS
                kill_group(proc)

        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if problem is not None:
                    break
                stop(f"timed out after {format_age(timeout)}")
                continue
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, _READ)
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.fileobj is proc.stderr:
                    err += chunk
                    del err[:-stderr_kept]
                elif overflow is not None:
                    out += chunk
                    if len(out) > max_output:
                        stop(overflow)
                elif len(out) < max_output:
                    out += chunk[:max_output - len(out)]
    proc.stdout.close()
    proc.stderr.close()
    try:
        proc.wait(max(0.0, deadline - time.monotonic()) if problem is None else _DRAIN_SECONDS)
    except subprocess.TimeoutExpired:  # closed its output but kept running
        kill_group(proc)
        proc.wait()
        problem = problem or f"timed out after {format_age(timeout)}"
    return Outcome(None if problem else proc.returncode, bytes(out[:max_output]), bytes(err), problem)
