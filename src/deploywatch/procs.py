"""Ending a child process together with everything it started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

__all__ = ["kill_group"]


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group of ``proc`` (started with ``start_new_session=True``): a command's
    children (ssh under git fetch, a pipeline under sh) must not outlive its timeout."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
