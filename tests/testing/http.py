"""A small real HTTP(S) server on 127.0.0.1 for the cases pytest-httpserver cannot play well.

pytest-httpserver answers one request at a time, so a handler that sleeps would hold up the next
test; this server gives every request its own daemon thread, can delay the headers, trickle the
body a byte at a time, stream a body larger than any client should read, and speak TLS with a
self-signed certificate. Every sleep is bounded so no test can hang on it.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Reply:
    """What the server answers on one path."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=lambda: {"Content-Type": "text/plain"})
    delay: float = 0.0  # seconds before the status line is sent
    trickle: float = 0.0  # seconds between body bytes (the body is sent one byte at a time)
    stream_bytes: int = 0  # send this many filler bytes after ``body`` (chunked), in 64 KiB pieces


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    path: str
    headers: Mapping[str, str]


class LocalServer:
    """The running server: its base URL and the requests it has seen."""

    def __init__(self, server: ThreadingHTTPServer, scheme: str) -> None:
        self._server = server
        self.scheme = scheme
        self.seen: list[Seen] = []

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        """An absolute URL for ``path`` on this server."""
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1, and no access log (it would print request paths, i.e. test secrets)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    """A daemon thread per request, not waited for on close, so a hanging handler never holds up the next
    request or the end of a test."""

    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        # clients that give up (timeouts, size caps) close the socket under a hanging or writing handler
        pass


@contextmanager
def running(server: ThreadingHTTPServer) -> Iterator[None]:
    """Serve on a daemon thread (a stop is noticed within 50 ms) until the block ends."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serve(routes: Mapping[str, Reply], *, tls: ssl.SSLContext | None = None) -> Iterator[LocalServer]:
    """Serve ``routes`` (unknown paths get 404) on a free port until the block ends."""
    holder: list[LocalServer] = []

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            holder[0].seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
            reply = routes.get(self.path.split("?")[0], Reply(404, b"not found"))
            time.sleep(min(reply.delay, 5.0))
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.stream_bytes:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if reply.stream_bytes:
                self._send_chunked(reply.body, reply.stream_bytes)
            elif reply.trickle:
                for byte in reply.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(min(reply.trickle, 1.0))
            else:
                self.wfile.write(reply.body)

        def _send_chunked(self, head: bytes, filler: int) -> None:
            pieces = [head] if head else []
            sent = 0
            for piece in pieces:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            while sent < filler:
                piece = b"0" * min(_CHUNK, filler - sent)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
            self.wfile.write(b"0\r\n\r\n")

    server = QuietServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    local = LocalServer(server, "https" if tls is not None else "http")
    holder.append(local)
    with running(server):
        yield local


def self_signed_context(directory: Path) -> ssl.SSLContext | None:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (None without openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
