"""``deployed = { command = "…" }``: a command that prints the deployed SHA, and the presets built on it."""

from __future__ import annotations

import os
import selectors
import shlex
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..durations import format_age
from ..procs import kill_group
from ..redact import mask
from .base import Reading, parse_revision

__all__ = ["CommandSource"]

DEFAULT_TIMEOUT = 20.0
_TAIL_LINES = 3
_TAIL_CHARS = 300
_DRAIN_SECONDS = 2.0  # after the command ends, for the pipes to close
_MAX_OUTPUT = 1 << 20
_STDERR_KEPT = 8192
_READ = 1 << 16


@dataclass(frozen=True)
class CommandSource:
    """Runs ``argv`` (no shell) or ``shell`` (through ``/bin/sh -c``) and reads one SHA from stdout."""

    argv: Sequence[str] | None = None
    shell: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    cwd: str | None = None
    kind: str = "command"

    @property
    def description(self) -> str:
        """``command …`` with secrets masked."""
        text = self.shell if self.shell is not None else shlex.join(self.argv or ())
        return mask(f"{self.kind} {text}" if self.kind != "command" else f"command {text}")

    def read(self) -> Reading:
        """Run the command now, killing it (and its children) at the timeout."""
        args = ["/bin/sh", "-c", self.shell] if self.shell is not None else list(self.argv or ())
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, cwd=self.cwd, start_new_session=True)
        except FileNotFoundError:
            return Reading(self.description, None, f"{args[0]} not found on PATH")
        except OSError as exc:
            return Reading(self.description, None, f"cannot run {args[0]}: {exc.strerror}")
        out, err, problem = _collect(proc, self.timeout)
        if problem is not None:
            return Reading(self.description, None, problem + _tail(err))
        if proc.returncode < 0:
            return Reading(self.description, None, f"killed by {_signal_name(-proc.returncode)}" + _tail(err))
        if proc.returncode != 0:
            return Reading(self.description, None, f"exited with code {proc.returncode}" + _tail(err))
        try:
            value = parse_revision(out.decode("utf-8", errors="replace"))
        except ValueError as exc:
            return Reading(self.description, None, f"{exc}" + _tail(err))
        return Reading(self.description, value)


def _collect(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes, str | None]:
    """stdout (at most 1 MiB), the tail of stderr, and why the command was stopped (or None).

    Both pipes are read as data arrives so neither can fill up; a command that prints without end
    is killed at the cap, one that runs too long at the timeout. After a kill, a descendant that
    left the process group may still hold the pipes open: that is waited for briefly, not forever.
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
                    del err[:-_STDERR_KEPT]
                else:
                    out += chunk
                    if len(out) > _MAX_OUTPUT:
                        stop("printed more than 1 MiB; expected one commit SHA")
    proc.stdout.close()
    proc.stderr.close()
    try:
        proc.wait(max(0.0, deadline - time.monotonic()) if problem is None else _DRAIN_SECONDS)
    except subprocess.TimeoutExpired:  # closed its output but kept running
        kill_group(proc)
        proc.wait()
        problem = problem or f"timed out after {format_age(timeout)}"
    return bytes(out[:_MAX_OUTPUT]), bytes(err), problem


def _signal_name(number: int) -> str:
    try:
        return f"signal {number} ({signal.Signals(number).name})"
    except ValueError:
        return f"signal {number}"


def _tail(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", errors="replace").splitlines() if ln.strip()]
    if not lines:
        return ""
    text = " | ".join(lines[-_TAIL_LINES:])
    if len(text) > _TAIL_CHARS:
        text = "..." + text[-_TAIL_CHARS:]
    return f"; stderr: {mask(text)}"
