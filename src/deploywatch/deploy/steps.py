"""What every guarded deploy and rollback shares: the lock's lease, progress, and a command then its verification."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from ..config.services import fill_command
from ..core.status import Status
from .shell import command_env, run_streamed
from .verify import Step, verify_live

if TYPE_CHECKING:
    from ..drift.workspace import Workspace
    from ..store import Store

__all__ = ["Context", "Lease", "Progress", "QuietProgress", "new_holder", "run_and_verify"]


class Progress(Protocol):
    """How a deploy shows itself (a terminal shows steps, the command's output, and waits with a spinner)."""

    def begin(self, service: str, step: str, text: str) -> None:
        """A step of ``service`` starts."""

    def end(self, service: str, step: Step) -> None:
        """A step ended."""

    def output(self, service: str, chunk: bytes) -> None:
        """Output of the deploy or rollback command, as it arrives."""

    def wait(self, what: str, seconds: float, tick: Callable[[], None]) -> None:
        """Wait ``seconds`` (``what`` says for what), calling ``tick`` at least every quarter second."""


class QuietProgress:
    """Shows nothing; waits in small sleeps so the lock's lease is renewed."""

    def begin(self, service: str, step: str, text: str) -> None:
        """Nothing to show."""

    def end(self, service: str, step: Step) -> None:
        """Nothing to show."""

    def output(self, service: str, chunk: bytes) -> None:
        """Nothing to show."""

    def wait(self, what: str, seconds: float, tick: Callable[[], None]) -> None:
        """Sleep, ticking."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            tick()
            time.sleep(min(0.25, left))


def new_holder() -> str:
    """Who holds a deploy lock: host, process and a random part (``host:1234:9f2c1a``)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Context:
    """What every step needs: the workspace, the store, the display, the clock (wall time: the ledger's times and
    the locks' leases are real ones, whatever ``--now`` says), who deploys, the lease."""

    workspace: Workspace
    store: Store
    progress: Progress
    clock: Callable[[], datetime]
    by: str
    lease: float


class Lease:
    """Renews ``holder``'s lock on ``service`` every third of the lease while a step runs; ``lost`` once another
    deploy or rollback took the lock over (the step's outcome is then not written over theirs)."""

    def __init__(self, context: Context, service: str, holder: str) -> None:
        self.context, self.service, self.holder = context, service, holder
        self.renewed = time.monotonic()
        self.lost = False

    def tick(self) -> None:
        """Renew when a third of the lease has passed."""
        if self.lost or time.monotonic() - self.renewed < self.context.lease / 3:
            return
        self.confirm()

    def confirm(self) -> bool:
        """Renew now; False once the lock was taken over (call it right before anything that acts)."""
        if self.lost:
            return False
        self.renewed = time.monotonic()
        until = self.context.clock() + timedelta(seconds=self.context.lease)
        if not self.context.store.renew_deploy_lock(self.service, self.holder, until):
            self.lost = True
        return not self.lost


def run_and_verify(context: Context, lease: Lease, *, step: str, template: str, values: dict[str, str],
                   timeout: float, expected: str) -> tuple[list[Step], str | None]:
    """Run the deploy (or rollback) command, then verify the service reports ``expected``; the steps, and the
    command's last lines (masked). Verification is skipped only when the command failed."""
    service = values["service"]
    workspace = context.workspace
    command = fill_command(template, values)
    context.progress.begin(service, step, command)
    run = run_streamed(command, cwd=workspace.repo.path, env=command_env(values), timeout=timeout,
                       on_output=lambda chunk: context.progress.output(service, chunk), tick=lease.tick)
    if run.ok:
        done = Step(step, Status.OK, f"exited 0 after {run.seconds:.1f}s", run.seconds)
    else:
        done = Step(step, Status.CRITICAL, f"{run.why()} after {run.seconds:.1f}s", run.seconds)
    context.progress.end(service, done)
    steps = [done]
    if done.failed:
        return steps, run.tail or None
    verify_name = "verify" if step == "deploy" else f"{step}_verify"
    settings = workspace.loaded.config.services[service].verify
    context.progress.begin(service, verify_name, f"waiting for the deployed source to report {expected[:12]}")
    checked = verify_live(workspace, service, expected, timeout=float(settings.timeout),
                          interval=float(settings.interval), name=verify_name,
                          wait=lambda what, seconds: context.progress.wait(what, seconds, lease.tick))
    context.progress.end(service, checked)
    steps.append(checked)
    return steps, run.tail or None
