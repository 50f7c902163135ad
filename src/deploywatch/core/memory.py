"""Memory helpers for the few places that build large structures at once."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collector_paused"]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off for the block (then on again, if it was).

    For code that makes a few hundred thousand lists and tuples with no cycles among them, such as a drift run's
    history: the collector would otherwise run every 700 new objects, now and then scanning every older one, for a
    fifth or more of the time, and free nothing that reference counting does not. The lists are freed as usual."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
