"""The daemon's guards on their own: the failed-authentication throttle in simulated time, the bounded action queue,
and the body idle timeout of the HTTP protocol on a real socket (with short limits)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from deploywatch.web.actions import ActionQueue, QueueFull
from deploywatch.web.guards import AuthThrottle
from deploywatch.web.server import guarded_protocol
from testing.daemon import free_port


def test_the_throttle_blocks_an_address_after_ten_failures_until_the_oldest_leaves_the_window() -> None:
    now = [1000.0]
    throttle = AuthThrottle(failures=10, window=60, clock=lambda: now[0])
    for second in range(10):
        assert throttle.retry_after("10.0.0.1") is None
        now[0] = 1000.0 + second
        throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 51  # the first failure (at 1000) leaves the window at 1060
    assert throttle.retry_after("10.0.0.2") is None
    now[0] = 1059.5
    assert throttle.retry_after("10.0.0.1") == 1
    now[0] = 1060.0
    assert throttle.retry_after("10.0.0.1") is None  # nine failures left in the window: one more try
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 1


def test_the_throttle_remembers_a_bounded_number_of_addresses() -> None:
    throttle = AuthThrottle(failures=1, window=60, clock=lambda: 0.0, max_addresses=100)
    for n in range(1000):
        throttle.failed(f"10.0.{n // 256}.{n % 256}")
    assert throttle.retry_after("10.0.3.231") == 60  # the newest are kept
    assert throttle.retry_after("10.0.0.0") is None  # the oldest were forgotten


def test_the_action_queue_runs_a_few_at_once_and_refuses_past_its_capacity() -> None:
    queue = ActionQueue(workers=2, capacity=3)
    gate = threading.Event()
    running: list[int] = []
    lock = threading.Lock()
    most = [0]

    def action() -> None:
        with lock:
            running.append(1)
            most[0] = max(most[0], len(running))
        gate.wait(10)
        with lock:
            running.pop()

    for _ in range(3):
        queue.reserve()
        queue.submit(action)
    with pytest.raises(QueueFull, match="3 on_complete actions are already queued"):
        queue.reserve()
    time.sleep(0.2)
    assert most[0] == 2  # two workers
    gate.set()
    assert queue.close(timeout=10)
    assert queue.pending() == 0 and most[0] == 2
    fresh = ActionQueue(workers=1, capacity=1)
    fresh.reserve()
    fresh.release()  # an unused place goes back
    fresh.reserve()
    fresh.release()


@pytest.fixture
def echo_server() -> Iterator[tuple[int, list[str]]]:
    """A uvicorn server with the daemon's protocol (1 s limits) and an app that reads the body: (port, outcomes)."""
    outcomes: list[str] = []

    async def read(request: Request) -> Response:
        try:
            body = await request.body()
        except ClientDisconnect:
            outcomes.append("disconnected")
            return PlainTextResponse("gone", 400)
        outcomes.append(f"read {len(body)}")
        return PlainTextResponse("ok")

    port = free_port()
    config = uvicorn.Config(Starlette(routes=[Route("/", read, methods=["POST"])]), host="127.0.0.1", port=port,
                            http=guarded_protocol(header_timeout=1, body_timeout=1), log_config=None,
                            lifespan="off", log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    yield port, outcomes
    server.should_exit = True
    thread.join(10)


def test_a_body_that_stops_arriving_is_cut_off_and_a_slow_steady_one_is_not(echo_server: tuple[int, list[str]]
                                                                           ) -> None:
    port, outcomes = echo_server
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as stalled:
        stalled.sendall(head + b"12345")
        started = time.monotonic()
        assert stalled.recv(1000) == b""  # closed by the server
        assert 0.8 <= time.monotonic() - started < 4
    with socket.create_connection(("127.0.0.1", port), timeout=5) as steady:
        steady.sendall(head)
        for byte in b"0123456789":  # one byte every 0.5 s: 5 s in all, never idle for 1 s
            time.sleep(0.5)
            steady.sendall(bytes([byte]))
        assert steady.recv(1000).startswith(b"HTTP/1.1 200 ")
    assert outcomes == ["disconnected", "read 10"]
