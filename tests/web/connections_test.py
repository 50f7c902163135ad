"""Connections that never finish a request: the daemon closes them after the header timeout, caps how many it
keeps (closing the longest-waiting idle one for a new one), and does not flood its log when descriptors run out."""

from __future__ import annotations

import logging
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploywatch.web.server import HEADER_TIMEOUT, RepeatFilter
from testing.daemon import Daemon, one_service

HALF_A_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: deploywatch\r\nX-Slow: "


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return one_service(tmp_path)


@pytest.fixture
def half_open(request: pytest.FixtureRequest) -> Iterator[list[socket.socket]]:
    """Sockets the test opened (closed at the end)."""
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def open_half_requests(port: int, count: int, into: list[socket.socket]) -> None:
    """Open ``count`` connections that each send half a request, 50 at a time (a full listen queue delays some)."""
    import concurrent.futures as cf

    def one(_: int) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        sock.sendall(HALF_A_REQUEST)
        return sock

    with cf.ThreadPoolExecutor(50) as pool:
        into.extend(pool.map(one, range(count)))


def fresh_get(port: int, path: str) -> httpx.Response:
    """GET on a new connection (an idle kept-alive one may be closed to make room: that is the point)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        return client.get(path)


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server closed ``sock`` (without waiting)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionError:
        return True


def test_half_open_connections_are_capped_then_closed_after_the_header_timeout(
        small: Path, half_open: list[socket.socket]) -> None:
    daemon = Daemon(small).wait_ready()
    try:
        opened_at = time.monotonic()
        open_half_requests(daemon.port, 300, half_open)
        trickle = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
        half_open.append(trickle)
        # /healthz answers on a new connection while 300 others hang.
        health = fresh_get(daemon.port, "/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        # Past the cap (at most 200 kept), the longest-waiting ones were closed already.
        assert sum(closed_by_server(s) for s in half_open[:-1]) >= 100
        # A request whose headers trickle in, one byte a time, is closed at the header deadline all the same.
        sent = 0
        deadline = time.monotonic() + HEADER_TIMEOUT + 10
        while time.monotonic() < deadline:
            try:
                trickle.sendall(HALF_A_REQUEST[sent % len(HALF_A_REQUEST):][:1] or b"x")
            except ConnectionError:
                break
            sent += 1
            if closed_by_server(trickle):
                break
            trickle.setblocking(True)
            time.sleep(0.25)
        assert closed_by_server(trickle), "a trickling request was kept open past the header timeout"
        # Every half-open connection is closed once the header timeout has passed.
        while time.monotonic() < opened_at + HEADER_TIMEOUT + 10 and not all(map(closed_by_server, half_open)):
            time.sleep(0.2)
        assert all(map(closed_by_server, half_open))
        assert time.monotonic() - opened_at >= HEADER_TIMEOUT - 1  # not before the deadline
        assert fresh_get(daemon.port, "/healthz").status_code == 200
        assert "Traceback" not in daemon.output()
    finally:
        daemon.close()


def _few_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def test_a_low_file_limit_does_not_flood_the_log_and_healthz_answers(small: Path,
                                                                      half_open: list[socket.socket]) -> None:
    daemon = Daemon(small, preexec=_few_files).wait_ready()
    try:
        before = len(daemon.output())
        open_half_requests(daemon.port, 300, half_open)
        assert fresh_get(daemon.port, "/healthz").status_code == 200
        time.sleep(3)
        log = daemon.output()[before:]
        assert "Traceback" not in log
        assert len(log) < 2000, log[:2000]
    finally:
        daemon.close()


def test_repeated_log_records_are_collapsed_and_counted() -> None:
    now = [0.0]
    keep = RepeatFilter(window=60, clock=lambda: now[0])

    def record(name: str, message: str, exc: BaseException | None = None) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, message, None,
                                 (type(exc), exc, None) if exc is not None else None)

    first = record("asyncio", "socket.accept() out of system resource", OSError(24, "Too many open files"))
    assert keep.filter(first)
    assert first.getMessage() == ("socket.accept() out of system resource: OSError: [Errno 24] Too many open "
                                  "files")
    assert first.exc_info is None
    passed = [keep.filter(record("asyncio", "socket.accept() out of system resource", OSError(24, "x")))
              for _ in range(500)]
    assert passed == [False] * 500
    assert keep.filter(record("deploywatch.web", "something else"))
    # deploywatch's own records are alike only when the whole message is: one job's start does not hide another's.
    started = [logging.LogRecord("deploywatch.scheduler", logging.INFO, __file__, 1, "%s: started", (job,), None)
               for job in ("drift", "check", "check")]
    assert [keep.filter(r) for r in started] == [True, True, False]
    now[0] = 61.0
    again = record("asyncio", "socket.accept() out of system resource", OSError(24, "Too many open files"))
    assert keep.filter(again)
    assert again.getMessage().endswith("(500 more like it in the last 60s not logged)")
