"""Memory management for commands that build large structures once and then exit."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector inside the block (reference counting still frees what is dropped).

    A year's report builds millions of lists, tuples and floats and keeps most of them until it prints: the collector
    would run every few hundred new containers and, in its full passes, walk everything built so far, for about a
    fifth of the report's time, to find no cycles. Only for one-shot commands: a long-running process would keep
    any garbage cycles made meanwhile until the next collection."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
