"""What protects the API from its callers: a failed-authentication throttle, bounded bodies.

Failed authentications are throttled per client address; bodies are read with a size limit and parsed with a nesting
limit."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request

from .endpoints import MAX_BODY, MAX_DEPTH, BadRequest

__all__ = ["AuthThrottle", "BodyTooLarge", "parse_json", "read_body"]


class AuthThrottle:
    """At most ``failures`` failed authentications per client address within ``window`` seconds; past that the
    address is blocked (answered 429, its tokens not even compared) until its oldest failure leaves the window.

    At most ``max_addresses`` addresses are remembered (the least recently failing are forgotten first), so a flood
    of addresses cannot grow memory without bound.
    """

    def __init__(self, failures: int = 10, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 max_addresses: int = 10_000) -> None:
        self.failures = failures
        self.window = window
        self._clock = clock
        self._max = max_addresses
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int | None:
        """Whole seconds until ``address`` may try again, or None when it is not blocked."""
        with self._lock:
            times = self._recent(address)
            if times is None or len(times) < self.failures:
                return None
            return max(1, math.ceil(times[0] + self.window - self._clock()))

    def failed(self, address: str) -> None:
        """Count a failed authentication from ``address``."""
        with self._lock:
            times = self._recent(address) or deque()
            times.append(self._clock())
            while len(times) > self.failures:
                times.popleft()
            self._seen[address] = times
            self._seen.move_to_end(address)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)

    def _recent(self, address: str) -> deque[float] | None:
        times = self._seen.get(address)
        if times is None:
            return None
        cutoff = self._clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._seen[address]
            return None
        return times


class BodyTooLarge(Exception):
    """The request body is larger than the limit (answered 413)."""


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refused (:class:`BodyTooLarge`) by its ``Content-Length`` before reading, or as soon as more
    than ``limit`` bytes arrived (a chunked body): an oversized body is never buffered whole."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isascii() or not declared.strip().isdigit():
            raise BadRequest("Content-Length must be a whole number of bytes")
        if int(declared) > limit:
            raise BodyTooLarge
    received = bytearray()
    try:
        async for chunk in request.stream():
            received += chunk
            if len(received) > limit:
                raise BodyTooLarge
    except ClientDisconnect:  # it went away, or stalled past the body timeout and was cut off
        raise BadRequest("the connection closed before the whole body arrived") from None
    return bytes(received)


def parse_json(text: bytes | str, what: str = "the body") -> Any:
    """``text`` as JSON, at most :data:`MAX_DEPTH` levels deep; raise :class:`BadRequest` with a one-line reason."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise BadRequest(f"{what} is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(f"{what} is not JSON") from None
    if _too_deep(value):
        raise BadRequest(f"{what} is nested too deeply (at most {MAX_DEPTH} levels)")
    return value


def _too_deep(value: Any) -> bool:
    """True when ``value`` nests more than :data:`MAX_DEPTH` arrays or objects (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False
