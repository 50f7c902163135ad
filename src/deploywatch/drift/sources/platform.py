"""Presets that ask a platform's CLI for JSON and find the commit in it, one or more calls under one timeout.

A :class:`PlatformSource` runs a *reader*: a function that receives ``call`` (run an argv, return its parsed
JSON) and returns the revision, raising :class:`SourceFailure` with the reason otherwise. Every failure becomes
one line naming the preset and what it asked about: ``ecs service web in cluster prod: aws exited with code 254;
stderr: …``, secrets masked.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...core.durations import format_age
from ...core.procs import run, signal_name
from ...core.redact import mask
from .base import Reading

__all__ = ["Call", "PlatformSource", "SourceFailure", "field_at"]

_MAX_OUTPUT = 8 << 20  # a Kubernetes object or an Argo CD app with its resource tree can be large
_STDERR_KEPT = 8192

Call = Callable[[Sequence[str]], object]


class SourceFailure(Exception):
    """Why a platform's answer holds no usable commit; ``str`` is the one-line reason."""


@dataclass(frozen=True)
class PlatformSource:
    """Runs ``reader`` with a ``call`` that runs CLIs (no shell, in ``cwd``) within ``timeout`` seconds in all."""

    kind: str  # the preset: cloudrun, ecs …
    subject: str  # what it asks about, for errors: "service web in us-west2"
    argv: tuple[str, ...]  # the first command, shown as the description
    reader: Callable[[Call], str]
    timeout: float
    cwd: str | None = None

    @property
    def description(self) -> str:
        """The preset and its first command, secrets masked."""
        return mask(f"{self.kind} {shlex.join(self.argv)}")

    def read(self) -> Reading:
        """Ask the platform now; never raises for a bad answer."""
        deadline = time.monotonic() + self.timeout

        def call(argv: Sequence[str]) -> object:
            return _run_json(argv, deadline, self.timeout, self.cwd)

        try:
            value = self.reader(call)
        except SourceFailure as exc:
            return Reading(self.description, None, mask(f"{self.kind} {self.subject}: {exc}"))
        return Reading(self.description, value)


def _run_json(argv: Sequence[str], deadline: float, timeout: float, cwd: str | None) -> object:
    program = argv[0]
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SourceFailure(f"timed out after {format_age(timeout)} before running {program}")
    outcome = run(argv, timeout=remaining, max_output=_MAX_OUTPUT, stderr_kept=_STDERR_KEPT, cwd=cwd,
                  overflow="printed more than 8 MiB of JSON")
    said = outcome.stderr_head()
    tail = f"; stderr: {said}" if said else ""
    code = outcome.returncode
    if code is None:
        problem = outcome.problem or "failed"
        if problem.startswith("timed out"):
            problem = f"{program} timed out after {format_age(timeout)}"
        raise SourceFailure(f"{problem}{tail}")
    if code < 0:
        raise SourceFailure(f"{program} was killed by {signal_name(-code)}{tail}")
    if code != 0:
        raise SourceFailure(f"{program} exited with code {code}{tail}")
    try:
        return json.loads(outcome.stdout.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        raise SourceFailure(f"{program} printed invalid JSON ({exc.msg} at line {exc.lineno}){tail}") from None


def field_at(document: object, path: str, what: str) -> object:
    """The value at dotted ``path`` in ``document``; :class:`SourceFailure` naming ``what`` when it is not there."""
    node = document
    for index, part in enumerate(path.split(".")):
        if not isinstance(node, dict) or node.get(part) is None:
            where = ".".join(path.split(".")[:index + 1])
            raise SourceFailure(f"{what} has no {where}")
        node = node[part]
    return node
