"""The scheduler's heartbeat: a healthchecks.io-style dead man's switch pinged around every job."""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

from ..core.redact import clip

if TYPE_CHECKING:
    from ..config.schedule import HeartbeatConfig

__all__ = ["Heartbeat"]

log = logging.getLogger("deploywatch.scheduler")


class Heartbeat:
    """Pings a healthchecks.io-style URL from one background thread, in order, each within ``timeout``.

    The URL is a secret: it is never logged; failures are logged as the exception type only.
    """

    def __init__(self, url: str, timeout: float, *, max_pending: int = 64) -> None:
        self._url = url
        self.timeout = timeout
        self._queue: queue.Queue[tuple[str, str, str] | threading.Event] = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.sent = 0
        self.failed = 0

    @classmethod
    def from_config(cls, config: HeartbeatConfig) -> Heartbeat:
        """The heartbeat of ``[schedule.heartbeat]``."""
        return cls(str(config.url), float(config.timeout))

    def __repr__(self) -> str:
        return "Heartbeat(***)"

    def ping(self, signal: Literal["start", "success", "fail"], rid: str, body: str = "") -> None:
        """Queue a ping (dropped, with a warning, when too many are waiting); never blocks."""
        self._ensure_thread()
        try:
            self._queue.put_nowait((signal, rid, clip(body, 1000)))
        except queue.Full:
            log.warning("heartbeat: %d pings waiting, dropping a %s ping", self._queue.maxsize, signal)

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the queued pings to go out; True when none is left."""
        if self._thread is None:
            return True
        marker = threading.Event()  # set by the sender once every ping queued before it went out
        try:
            self._queue.put(marker, timeout=timeout)
        except queue.Full:
            return False
        return marker.wait(timeout)

    def target(self, signal: str, rid: str) -> str:
        """The URL of one ping: ``{url}/start``, ``{url}`` or ``{url}/fail``, with ``rid``."""
        parts = urlsplit(self._url)
        path = parts.path.rstrip("/") + {"start": "/start", "fail": "/fail"}.get(signal, "")
        query = "&".join(q for q in (parts.query, f"rid={rid}") if q)
        return urlunsplit((parts.scheme, parts.netloc, path or "/", query, ""))

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._send_all, name="deploywatch-heartbeat", daemon=True)
                self._thread.start()

    def _send_all(self) -> None:
        import httpx

        from ..core.version import __version__

        with httpx.Client(timeout=httpx.Timeout(self.timeout), follow_redirects=True,
                          headers={"User-Agent": f"deploywatch/{__version__}"}) as client:
            while True:
                item = self._queue.get()
                if isinstance(item, threading.Event):
                    item.set()
                    continue
                signal, rid, body = item
                try:
                    response = client.post(self.target(signal, rid), content=body.encode())
                    if response.status_code >= 400:
                        self.failed += 1
                        log.warning("heartbeat: the %s ping was answered with HTTP %d", signal, response.status_code)
                    else:
                        self.sent += 1
                except Exception as exc:
                    self.failed += 1
                    log.warning("heartbeat: the %s ping failed (%s)", signal, type(exc).__name__)
