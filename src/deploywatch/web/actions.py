"""``on_complete`` actions the daemon runs off the request path, in bounded numbers.

A few worker threads and a bounded number waiting, so slow actions never hold the HTTP server's threads and a burst of
them cannot grow without limit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from ..daemon.scheduler import one_line

__all__ = ["ActionQueue", "QueueFull"]

log = logging.getLogger("deploywatch.web")


class QueueFull(Exception):
    """Every slot of the queue is taken (answered 503 with Retry-After, before anything is recorded)."""


class ActionQueue:
    """Runs at most ``workers`` actions at once, with at most ``capacity`` accepted (running or waiting).

    A caller first :meth:`reserve`\\ s a place (before it records anything, so a full queue refuses the report and
    the reporter retries), then either :meth:`submit`\\ s its action into it or :meth:`release`\\ s it.
    """

    def __init__(self, workers: int = 4, capacity: int = 64) -> None:
        self.capacity = capacity
        self._places = threading.BoundedSemaphore(capacity)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deploywatch-action")
        self._futures: set[Future[None]] = set()
        self._lock = threading.Lock()

    def reserve(self) -> None:
        """Take a place; raise :class:`QueueFull` when there is none."""
        if not self._places.acquire(blocking=False):
            raise QueueFull(f"{self.capacity} on_complete actions are already queued: try again shortly")

    def release(self) -> None:
        """Give back a reserved place that was not used."""
        self._places.release()

    def submit(self, action: Callable[[], object]) -> None:
        """Run ``action`` in a worker thread, in the place reserved for it (freed when it ends)."""

        def run() -> None:
            try:
                action()
            except Exception as exc:  # the action records its own outcome; this is a bug in that bookkeeping
                log.error("on_complete: %s", one_line(exc))
            finally:
                self._places.release()

        future = self._pool.submit(run)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def pending(self) -> int:
        """Actions accepted that have not ended."""
        with self._lock:
            return len(self._futures)

    def close(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for accepted actions to end; True when all did. Later submits fail."""
        with self._lock:
            futures = list(self._futures)
        done, _ = wait(futures, timeout=timeout)
        self._pool.shutdown(wait=False, cancel_futures=False)
        return len(done) == len(futures)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)
