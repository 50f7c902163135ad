"""Running a child process safely: its output read as it comes, a timeout, and the end of everything it started."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass

from .durations import format_age

__all__ = ["Collected", "collect", "kill_group", "signal_name"]

_DRAIN_SECONDS = 2.0  # after a kill, for the pipes to close
_READ = 1 << 16


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
class Collected:
    """What a child printed, and why it was stopped (None: it ended by itself; see ``proc.returncode``)."""

    stdout: bytes
    stderr: bytes  # the tail only
    problem: str | None = None
    timed_out: bool = False


def collect(proc: subprocess.Popen[bytes], *, timeout: float, max_output: int, stderr_kept: int = 8192,
            overflow: str | None = None) -> Collected:
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
    timed_out = False
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
                timed_out = True
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
        if problem is None:
            timed_out, problem = True, f"timed out after {format_age(timeout)}"
    return Collected(bytes(out[:max_output]), bytes(err), problem, timed_out)
