"""``deployed = { command = "…" }``: a command that prints the deployed SHA, and the presets built on it."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ...core.procs import run, signal_name
from ...core.redact import mask
from .base import Reading, parse_revision

__all__ = ["CommandSource"]

DEFAULT_TIMEOUT = 20.0
_MAX_OUTPUT = 1 << 20
_STDERR_KEPT = 8192  # the last bytes of stderr: its first lines are in there unless it printed more


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
        return mask(f"{self.kind} {text}")

    def read(self) -> Reading:
        """Run the command now, killing it (and its children) at the timeout."""
        args = ["/bin/sh", "-c", self.shell] if self.shell is not None else list(self.argv or ())
        outcome = run(args, timeout=self.timeout, max_output=_MAX_OUTPUT, stderr_kept=_STDERR_KEPT, cwd=self.cwd,
                      overflow="printed more than 1 MiB; expected one commit SHA")
        said = outcome.stderr_head()  # the cause comes first; a tail of stack frames would hide it
        tail = f"; stderr: {said}" if said else ""
        code = outcome.returncode
        if code is None:
            return Reading(self.description, None, f"{outcome.problem}{tail}")
        if code < 0:
            return Reading(self.description, None, f"killed by {signal_name(-code)}{tail}")
        if code != 0:
            return Reading(self.description, None, f"exited with code {code}{tail}")
        try:
            value = parse_revision(outcome.stdout.decode("utf-8", errors="replace"))
        except ValueError as exc:
            return Reading(self.description, None, f"{exc}{tail}")
        return Reading(self.description, value)
