"""A generic webhook receiver on 127.0.0.1, and the recording server the Slack and Alertmanager fakes share.

:class:`RecordingServer` is pytest-httpserver's server base (werkzeug) with a thread per request, so a
request scripted to hang never holds up the next one. It records every request it answers
(:class:`Recorded`: method, path, query, headers, raw and parsed body, arrival time from
``time.monotonic()``, the status and body it answered) in a thread-safe list, and plays scripted answers
first: ``fail_next`` / ``hang_next``. Every hang is bounded (:data:`MAX_HANG`) and released when the server
stops or :meth:`~RecordingServer.reset` is called.

:class:`FakeWebhook` accepts any request on any path (200 with an empty body unless told otherwise) and can
be scripted to answer 500, 400, 429 with ``Retry-After`` … or to hang.

Use it as a context manager (``with FakeWebhook() as hook: …``) or through the :func:`fake_webhook`
fixture.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_httpserver.httpserver import HTTPServerBase, HTTPServerError
from werkzeug import Request, Response
from werkzeug.serving import WSGIRequestHandler, make_server

__all__ = ["MAX_HANG", "Answer", "FakeWebhook", "Recorded", "RecordingServer", "Scripted", "fake_webhook"]

MAX_HANG = 10.0  # no scripted hang lasts longer, whatever a test asks


@dataclass(frozen=True)
class Recorded:
    """One request a fake answered."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    json: Any  # the parsed body; None when it was empty or not JSON
    at: float  # time.monotonic() when it arrived
    status: int  # what the fake answered
    response: str
    problem: str | None = None  # why the fake rejected it (its validation), None otherwise
    scripted: bool = False  # answered by fail_next / hang_next

    @property
    def accepted(self) -> bool:
        """True when the fake answered with a 2xx."""
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Answer:
    """What a fake answers."""

    status: int
    body: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "text/plain; charset=utf-8"
    problem: str | None = None


@dataclass
class Scripted:
    """A scripted answer for the next ``count`` requests: hang ``hang`` seconds first, then answer ``answer``,
    or answer as usual when ``answer`` is None."""

    answer: Answer | None
    hang: float = 0.0
    count: int = 1


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its access log (it would print webhook paths, i.e. test secrets)."""

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class RecordingServer(HTTPServerBase):
    """A threaded werkzeug server on 127.0.0.1 that records requests and plays scripted answers first.

    Subclasses implement :meth:`answer` (the normal behaviour) and may narrow :meth:`scriptable`.
    """

    def __init__(self) -> None:
        super().__init__("127.0.0.1", 0, threaded=True)
        self._lock = threading.RLock()
        self._arrived = threading.Condition(self._lock)
        self._requests: list[Recorded] = []
        self._script: deque[Scripted] = deque()
        self._release = threading.Event()

    # -- the server ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1 (quietly, a thread per request)."""
        if self.is_running():
            raise HTTPServerError("Server is already running")
        self._release = threading.Event()
        app = Request.application(self.application)
        self.server = make_server(self.host, 0, app, threaded=True, request_handler=_QuietHandler)
        self.port = self.server.port
        self.server_thread = threading.Thread(target=self.thread_target, daemon=True)
        self.server_thread.start()

    def thread_target(self) -> None:
        """Serve until stopped, noticing the stop within 50 ms."""
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Release every hanging request and stop listening."""
        self._release.set()
        super().stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    # -- what tests use --------------------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        """Every request answered so far (accepted, rejected and scripted), oldest first."""
        with self._lock:
            return list(self._requests)

    def script(self, scripted: Scripted) -> None:
        """Queue a scripted answer (after those already queued)."""
        if scripted.count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._script.append(scripted)

    def hang_next(self, seconds: float, count: int = 1) -> None:
        """Make the next ``count`` requests wait ``seconds`` (at most :data:`MAX_HANG`) before the usual answer."""
        self.script(Scripted(None, seconds, count))

    def wait_for(self, count: int, timeout: float = 2.0) -> list[Recorded]:
        """Wait until ``count`` requests have been answered (a hanging one counts once answered); return them all.

        Raise ``AssertionError`` after ``timeout`` seconds."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(f"expected {count} requests within {timeout}s, got {len(self._requests)}")
            return list(self._requests)

    def reset(self) -> None:
        """Forget requests and scripted answers and release hanging requests (the port stays the same)."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()
            self._requests.clear()
            self._script.clear()
            self._reset_state()
        self.clear()

    # -- for subclasses --------------------------------------------------------------------------------

    def answer(self, request: Request, payload: Any) -> Answer:
        """The normal answer to ``request`` (``payload``: its parsed JSON body or None)."""
        raise NotImplementedError

    def scriptable(self, request: Request) -> bool:
        """True when a scripted answer applies to ``request`` (every request by default)."""
        return True

    def _reset_state(self) -> None:
        """Forget what the fake keeps beyond the request log (called with the lock held)."""

    # -- werkzeug ---------------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        """Play the next scripted answer or :meth:`answer`, and record the request."""
        at = time.monotonic()
        raw = request.get_data()
        payload = _parse_json(raw)
        scripted: Scripted | None = None
        with self._lock:
            release = self._release
            if self._script and self.scriptable(request):
                scripted = self._script[0]
                scripted.count -= 1
                if scripted.count == 0:
                    self._script.popleft()
        if scripted is not None and scripted.hang > 0:
            release.wait(min(scripted.hang, MAX_HANG))
        try:
            if scripted is not None and scripted.answer is not None:
                reply = scripted.answer
            else:
                with self._lock:
                    reply = self.answer(request, payload)
        except Exception as exc:  # a bug in a fake: answer 500 and let the test see it
            self.handler_errors.append(exc)
            reply = Answer(500, f"fake server error: {type(exc).__name__}: {exc}", problem="fake server error")
        record = Recorded(request.method, request.path, request.query_string.decode("latin-1"),
                          {k.lower(): v for k, v in request.headers.items()}, raw, payload, at, reply.status,
                          reply.body, reply.problem, scripted is not None and scripted.answer is not None)
        with self._arrived:
            self._requests.append(record)
            self._arrived.notify_all()
        return Response(reply.body, status=reply.status, headers=dict(reply.headers), content_type=reply.content_type)


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class FakeWebhook(RecordingServer):
    """A generic webhook receiver: any method on any path gets ``status`` (200) with ``body`` ("")."""

    def __init__(self, *, status: int = 200, body: str = "") -> None:
        super().__init__()
        self.status = status
        self.body = body

    def url_with(self, path: str = "/hooks/deploywatch") -> str:
        """An absolute URL on this receiver (``path`` may carry a query)."""
        return f"{self.base_url}{path if path.startswith('/') else '/' + path}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/hooks/deploywatch``."""
        return self.url_with()

    @property
    def received(self) -> list[Any]:
        """The JSON bodies of the accepted (2xx) requests, oldest first."""
        return [r.json for r in self.requests if r.accepted]

    def fail_next(self, status: int, count: int = 1, *, body: str = "", retry_after: int | str | None = None,
                  headers: Mapping[str, str] | None = None, seconds: float = 0.0) -> None:
        """Answer the next ``count`` requests with ``status`` and ``body`` (plus ``Retry-After: retry_after``
        and ``headers`` when given), after hanging ``seconds`` when given."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = str(retry_after)
        self.script(Scripted(Answer(status, body, extra), seconds, count))

    def answer(self, request: Request, payload: Any) -> Answer:
        """The configured status and body."""
        return Answer(self.status, self.body)


@pytest.fixture
def fake_webhook() -> Iterator[FakeWebhook]:
    """A running :class:`FakeWebhook`; its ``url`` is ``http://127.0.0.1:PORT/hooks/deploywatch``."""
    with FakeWebhook() as hook:
        yield hook
