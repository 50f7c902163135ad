"""Crash points for testing the delivery guarantees with a real SIGKILL at a precise moment.

``DEPLOYWATCH_CRASH_AT=NAME`` makes the process kill itself (SIGKILL: no cleanup, no flush, no atexit) when it
reaches crash point ``NAME``. Unset — always, outside such tests — a crash point costs one dictionary lookup.

Crash points: ``after-outbox-write`` (the run, its findings and its outbox rows are committed; nothing is sent
yet) and ``after-send`` (a message was sent and confirmed, but not yet marked delivered).
"""

from __future__ import annotations

import os
import signal

__all__ = ["crash_point"]

ENV = "DEPLOYWATCH_CRASH_AT"


def crash_point(name: str) -> None:
    """Die here, at once, when ``DEPLOYWATCH_CRASH_AT`` names this point."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
