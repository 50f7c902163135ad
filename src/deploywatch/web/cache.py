"""The dashboard's page cache: a page is rendered once per store generation, not once per request.

Every write transaction that changes the store bumps its generation (:meth:`.Store.generation`, any process), so a
cached page is served only while the generation it was rendered at is still the store's; the first request after a
change renders afresh. Time moves what a page shows without a write (ages, silences ending, the git repository behind
the skew table), so an entry is also re-rendered once it is older than ``max_age`` seconds of the daemon's clock: up
to twice that age it is still served while the new render runs in the background (only time moved on, so nobody waits
for it); older, the reader waits. Concurrent requests for a page being rendered wait for that one render (single
flight) instead of each rendering it. Reading the generation (one primary-key read) and rendering run in worker
threads, so a slow or unreachable store never stalls the event loop (the health check and the API keep answering);
the readers waiting at one moment share one read that began after they asked (:class:`_Reads`), so a busy dashboard
costs one worker thread hop per batch of requests, not per request.

A cached body holds :data:`PLACEHOLDER` where a form's CSRF value goes; :meth:`PageCache.page` writes each request's
own value in. Entries are keyed by the page, its query variant and whether the reader signed in, and at most ``size``
are kept (least recently used dropped).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import run_in_threadpool

__all__ = ["PLACEHOLDER", "PageCache"]

# Stands for the request's CSRF value in a cached body: random per process, so no page text can contain it.
PLACEHOLDER = "csrf-" + secrets.token_hex(16)


@dataclass(frozen=True)
class _Entry:
    generation: int
    rendered_at: datetime
    body: bytes | None  # None: the page does not exist (a 404 the caller words)


class _Reads:
    """A value read in a worker thread, one read at a time: every caller gets a value whose read began after it
    asked (so a write it saw committed is in it), and the callers that arrive while a read runs share the next."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read
        self._next: asyncio.Future[int] | None = None  # the read the callers arriving now will get
        self._running = False
        self._task: asyncio.Future[None] | None = None

    async def read(self) -> int:
        """The value, read after this call began."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if not self._running:
                self._running = True
                self._task = asyncio.ensure_future(self._run())
        return await asyncio.shield(self._next)

    async def _run(self) -> None:
        try:
            while self._next is not None:
                waiting, self._next = self._next, None  # who arrives from now on waits for the next read
                try:
                    waiting.set_result(await run_in_threadpool(self._read))
                except asyncio.CancelledError:
                    waiting.cancel()
                    raise
                except Exception as exc:  # every waiter gets the store's error
                    waiting.set_exception(exc)
                    waiting.exception()  # retrieved: no warning when every waiter has left
        finally:
            self._running = False


class PageCache:
    """Rendered pages by key, valid for one store generation and ``max_age`` seconds."""

    def __init__(self, generation: Callable[[], int], now: Callable[[], datetime], *, max_age: float = 10.0,
                 size: int = 256) -> None:
        """Cache pages of the store whose generation ``generation()`` reads, aged on the clock ``now``."""
        self._generation = _Reads(generation)
        self._now = now
        self.max_age = max_age
        self._size = size
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._pending: dict[tuple[Hashable, int], asyncio.Future[_Entry]] = {}
        self.renders = 0  # how many times a page was rendered (for tests and the benchmark's notes)

    def _fresh(self, entry: _Entry | None, generation: int, *, stale_for: float = 0.0) -> bool:
        """Rendered at ``generation`` and at most ``max_age`` (plus ``stale_for``) seconds ago."""
        if entry is None or entry.generation != generation:
            return False
        age = (self._now() - entry.rendered_at).total_seconds()
        return 0 <= age <= self.max_age + stale_for

    async def page(self, key: Hashable, render: Callable[[], bytes | None]) -> bytes | None:
        """The body of page ``key``: cached while fresh, else ``render()`` (in a worker thread, once for all the
        requests waiting for it). None when ``render`` says the page does not exist."""
        generation = await self._generation.read()  # never a store read on the event loop
        entry = self._entries.get(key)
        if entry is not None and self._fresh(entry, generation):
            self._entries.move_to_end(key)
            return entry.body
        if self.max_age <= 0:  # caching off: every request renders
            return await run_in_threadpool(render)
        task = self._start(key, generation, render)
        if entry is not None and self._fresh(entry, generation, stale_for=self.max_age):
            return entry.body  # only time moved on: served while the new render runs, nobody waits for it
        return (await asyncio.shield(task)).body

    def _start(self, key: Hashable, generation: int, render: Callable[[], bytes | None]) -> asyncio.Future[_Entry]:
        """The render of ``key`` at ``generation``, started unless it runs already (a task of its own: a reader
        who leaves does not cancel it for the rest)."""
        flight = (key, generation)
        task = self._pending.get(flight)
        if task is None:
            task = asyncio.ensure_future(self._render(key, generation, render))
            self._pending[flight] = task
            task.add_done_callback(lambda done: self._settled(flight, done))
        return task

    async def _render(self, key: Hashable, generation: int, render: Callable[[], bytes | None]) -> _Entry:
        rendered_at = self._now()
        made = _Entry(generation, rendered_at, await run_in_threadpool(render))
        self.renders += 1
        self._entries[key] = made
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return made

    def _settled(self, flight: tuple[Hashable, int], task: asyncio.Future[_Entry]) -> None:
        self._pending.pop(flight, None)
        if not task.cancelled():
            task.exception()  # retrieved: every waiter got it already; none left is no "never retrieved" warning
