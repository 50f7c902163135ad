"""Running a deploy or rollback command: its output streamed, its tail kept masked, a timeout for its process group.

The command runs with ``/bin/sh -c`` in the repository's work tree, in a process group of its own, with
``DEPLOYWATCH_SERVICE``, ``DEPLOYWATCH_COMMIT``, ``DEPLOYWATCH_FROM_COMMIT`` and ``DEPLOYWATCH_DEPLOY_ID`` in its
environment. Its stdout and stderr (merged, as a terminal would show them) go to ``on_output`` as they arrive; the
last lines are kept, masked, for the ledger. At the timeout its whole group is killed.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..core.durations import format_age
from ..core.procs import kill_group, signal_name
from ..core.redact import mask
from ..core.text import printable

__all__ = ["CommandRun", "command_env", "run_streamed", "tail_of"]

TAIL_LINES = 20
TAIL_CHARS = 2000
_KEPT = 64 << 10  # bytes of output kept to cut the tail from
_DRAIN_SECONDS = 2.0
_TICK = 0.25


def command_env(values: Mapping[str, str]) -> dict[str, str]:
    """The ``DEPLOYWATCH_*`` variables a deploy or rollback command sees."""
    return {"DEPLOYWATCH_SERVICE": values["service"], "DEPLOYWATCH_COMMIT": values["commit"],
            "DEPLOYWATCH_FROM_COMMIT": values["from_commit"], "DEPLOYWATCH_DEPLOY_ID": values["deploy_id"]}


@dataclass(frozen=True)
class CommandRun:
    """How a command ended: its exit code (None: it could not start or ran past its timeout, ``problem`` says
    which), how long it ran, and the last lines of its output, masked."""

    returncode: int | None
    seconds: float
    tail: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """It ran and exited 0."""
        return self.returncode == 0

    def why(self) -> str:
        """One line: why it did not succeed (empty when it did)."""
        if self.problem:
            return self.problem
        code = self.returncode
        if code is None or code == 0:
            return ""
        return f"killed by {signal_name(-code)}" if code < 0 else f"exited {code}"


def tail_of(output: bytes, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last ``lines`` non-empty lines of ``output``, each made printable, masked before they are cut."""
    found = [printable(ln.rstrip()) for ln in output.decode("utf-8", errors="replace").splitlines() if ln.strip()]
    text = mask("\n".join(found[-lines:]))
    return text if len(text) <= chars else "..." + text[-chars:]


def run_streamed(command: str, *, cwd: Path, env: Mapping[str, str], timeout: float,
                 on_output: Callable[[bytes], None] = lambda chunk: None,
                 tick: Callable[[], None] = lambda: None) -> CommandRun:
    """Run ``command`` (see the module); ``tick`` is called about every quarter second while it runs (the deploy
    renews its lock there)."""
    started = time.monotonic()
    try:
        proc = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True,
                                env={**os.environ, **env})
    except OSError as exc:
        return CommandRun(None, 0.0, "", f"cannot run /bin/sh in {cwd}: {exc.strerror or exc}")
    assert proc.stdout is not None
    kept = bytearray()
    problem: str | None = None
    deadline = started + timeout
    ended_at: float | None = None
    os.set_blocking(proc.stdout.fileno(), False)
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while selector.get_map():
            now = time.monotonic()
            if ended_at is None and proc.poll() is not None:
                ended_at = now
            if ended_at is not None and now - ended_at > _DRAIN_SECONDS:
                break  # a descendant that left the group holds the pipe: stop reading
            if problem is None and now >= deadline:
                problem = f"timed out after {format_age(timeout)}"
                kill_group(proc)
                ended_at = now
            tick()
            for key, _ in selector.select(_TICK):
                try:
                    chunk = os.read(key.fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                on_output(chunk)
                kept += chunk
                if len(kept) > _KEPT:
                    del kept[:-_KEPT]
    with contextlib.suppress(OSError):
        proc.stdout.close()
    try:
        proc.wait(max(0.0, deadline - time.monotonic()) if problem is None else _DRAIN_SECONDS)
    except subprocess.TimeoutExpired:  # closed its output but kept running
        kill_group(proc)
        proc.wait(_DRAIN_SECONDS)
        problem = problem or f"timed out after {format_age(timeout)}"
    seconds = time.monotonic() - started
    return CommandRun(None if problem else proc.returncode, seconds, tail_of(bytes(kept)), problem)
