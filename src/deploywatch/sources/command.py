"""``deployed = { command = "…" }``: a command that prints the deployed SHA, and the presets built on it."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from ..procs import collect, signal_name
from ..redact import mask
from .base import Reading, parse_revision

__all__ = ["CommandSource"]

DEFAULT_TIMEOUT = 20.0
_TAIL_LINES = 3
_TAIL_CHARS = 300
_MAX_OUTPUT = 1 << 20
_STDERR_KEPT = 8192


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
        collected = collect(proc, timeout=self.timeout, max_output=_MAX_OUTPUT, stderr_kept=_STDERR_KEPT,
                            overflow="printed more than 1 MiB; expected one commit SHA")
        out, err, problem = collected.stdout, collected.stderr, collected.problem
        if problem is not None:
            return Reading(self.description, None, problem + _tail(err))
        if proc.returncode < 0:
            return Reading(self.description, None, f"killed by {signal_name(-proc.returncode)}" + _tail(err))
        if proc.returncode != 0:
            return Reading(self.description, None, f"exited with code {proc.returncode}" + _tail(err))
        try:
            value = parse_revision(out.decode("utf-8", errors="replace"))
        except ValueError as exc:
            return Reading(self.description, None, f"{exc}" + _tail(err))
        return Reading(self.description, value)


def _tail(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", errors="replace").splitlines() if ln.strip()]
    if not lines:
        return ""
    text = " | ".join(lines[-_TAIL_LINES:])
    if len(text) > _TAIL_CHARS:
        text = "..." + text[-_TAIL_CHARS:]
    return f"; stderr: {mask(text)}"
