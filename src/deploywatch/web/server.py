"""The daemon's HTTP server: uvicorn (h11) guarded against slow and too many connections.

A logging filter keeps a flood of identical errors (accept failures when file descriptors run out) to a few lines.

uvicorn has a keep-alive timeout but no time limit on a request's headers or body, and no cap on connections
(``limit_concurrency`` only answers 503 once a request has arrived), so connections that send half a request stay
open forever and take a file descriptor each. :class:`GuardedH11Protocol` adds:

- a header deadline: a request's headers must arrive within :data:`HEADER_TIMEOUT` seconds of its first byte (or
  of the connection's start), else the connection is closed;
- a body idle timeout: a body that stops arriving for :data:`BODY_TIMEOUT` seconds is cut off;
- a connection cap (:func:`connection_cap`, below the file limit): a connection past it closes the connection
  that has waited longest for a request (an idle or half-sent one), or, when every one is busy, itself.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import TYPE_CHECKING, Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

__all__ = ["BODY_TIMEOUT", "HEADER_TIMEOUT", "MAX_CONNECTIONS", "GuardedH11Protocol", "RepeatFilter",
           "connection_cap", "http_server"]

HEADER_TIMEOUT = 10.0  # seconds for a request's headers, from its first byte
BODY_TIMEOUT = 30.0  # seconds a request body may pause
MAX_CONNECTIONS = 200
MAX_HEADER_BYTES = 16 * 1024
_RESERVED_FILES = 32  # descriptors kept for the store, jobs (git, pipes), logs


def connection_cap(limit: int = MAX_CONNECTIONS) -> tuple[int, int]:
    """(at most how many connections, the listen backlog) for the file limit of this process.

    The backlog is also how many connections asyncio accepts in one go, before any can be closed: the cap and one
    such burst together must leave descriptors to the rest of the daemon, or ``accept`` fails (EMFILE).
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limit, 128
    spare = max(4, (soft - _RESERVED_FILES) // 3)  # the cap, and up to two bursts accepted before any closes
    return max(4, min(limit, spare)), max(4, min(128, spare))


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline, a body idle timeout and a connection cap (see the module)."""

    header_timeout = HEADER_TIMEOUT
    body_timeout = BODY_TIMEOUT
    max_connections = MAX_CONNECTIONS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Take the connection; past the cap, close the longest-waiting idle one (or this one)."""
        self._opened = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None
        self._phase: str | None = None
        super().connection_made(transport)
        # Closed connections stay in the set until the loop calls connection_lost: they do not count.
        open_ = [c for c in self.connections if c.transport is not None and not c.transport.is_closing()]
        if len(open_) > self.max_connections:
            idle = [c for c in open_ if c is not self and isinstance(c, GuardedH11Protocol) and c.idle]
            victim = min(idle, key=lambda c: c._opened) if idle else self
            victim.transport.close()
            if victim is self:
                return
        self._watch()

    def data_received(self, data: bytes) -> None:
        """Feed h11, then re-arm the deadline for what the request waits for now."""
        super().data_received(data)
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline."""
        self._cancel()
        super().connection_lost(exc)

    @property
    def idle(self) -> bool:
        """Nothing in flight: waiting for (the rest of) a request's headers, or between requests."""
        return self.conn.their_state is h11.IDLE and self.conn.our_state is h11.IDLE

    def _watch(self) -> None:
        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE and self.conn.our_state is h11.IDLE:
            if self._phase != "headers":
                self._phase = "headers"  # a deadline from the first byte: not re-armed by every byte
                self._arm(self.header_timeout)
        elif state is h11.SEND_BODY:
            self._phase = "body"  # an idle timeout: re-armed by every chunk
            self._arm(self.body_timeout)
        else:
            self._phase = None
            self._cancel()

    def _arm(self, seconds: float) -> None:
        self._cancel()
        self._timer = self.loop.call_later(seconds, self._expired)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self._phase is not None and not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(*, header_timeout: float = HEADER_TIMEOUT, body_timeout: float = BODY_TIMEOUT,
                     max_connections: int = MAX_CONNECTIONS) -> type[GuardedH11Protocol]:
    """The protocol class with these limits (uvicorn instantiates it itself)."""
    return type("GuardedH11", (GuardedH11Protocol,), {"header_timeout": header_timeout, "body_timeout": body_timeout,
                                                      "max_connections": max_connections})


def http_server(app: ASGIApp) -> uvicorn.Server:
    """The uvicorn server of the daemon (logging left to the caller, keep-alive 5 s, headers at most 16 KiB,
    connections capped for the file limit)."""
    import uvicorn

    cap, backlog = connection_cap()
    config = uvicorn.Config(app, http=guarded_protocol(max_connections=cap), log_config=None, log_level="warning",
                            access_log=False, lifespan="off", timeout_graceful_shutdown=5, server_header=False,
                            timeout_keep_alive=5, h11_max_incomplete_event_size=MAX_HEADER_BYTES, backlog=backlog)
    return uvicorn.Server(config)


class RepeatFilter(logging.Filter):
    """Lets the first record of a kind through per ``window`` seconds and counts the rest, reported on the next one
    let through. A kind is the logger and the message template for other libraries' records (a flood of accept
    failures differs only in its values), and the whole message for deploywatch's own: ``drift: started`` must not
    hide ``check: started`` (with replicas, the log is where an operator sees which one ran a job). Records of
    asyncio lose their traceback: they are about sockets (accept failures when descriptors run out), never a bug to
    debug here, and each is many lines."""

    def __init__(self, window: float = 60.0, *, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.window = window
        self._clock = clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """True to emit ``record`` (amended with how many like it were held back)."""
        own = record.name == "deploywatch" or record.name.startswith("deploywatch.")
        key = (record.name, record.getMessage() if own else str(record.msg))
        if record.name == "asyncio" and record.exc_info:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage().splitlines()[0]}: {type(exc).__name__}: {exc}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        now = self._clock()
        first, held = self._seen.get(key, (None, 0))
        if first is not None and now - first < self.window:
            self._seen[key] = (first, held + 1)
            return False
        if len(self._seen) > 1000:  # many distinct messages: forget the old ones
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.window}
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.getMessage()} ({held} more like it in the last {self.window:g}s not logged)"
            record.args = None
        return True
