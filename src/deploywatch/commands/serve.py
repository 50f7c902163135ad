"""``deploywatch serve``: the daemon — the scheduler, the HTTP API and Prometheus metrics.

The scheduler runs in the main thread, the HTTP API and the metrics (uvicorn) in a background thread.

SIGTERM or SIGINT stops scheduling, gives a running job ``--grace`` seconds to end (then records it
``cancelled``), stops the HTTP server and exits 0; a second signal cancels at once.

``--once`` runs, without the HTTP server, every job whose most recent scheduled time has not run yet (the
catch-up rule, whatever ``catch_up`` says), waits for them (the timeout applies) and exits with the worst
result: a job's own exit code (0 ok, 1 warning, 2 critical, 3 unknown), 3 for a job that failed, timed out or was
cancelled, 0 when nothing was due or another daemon held a job. Scheduled from cron every few minutes, it runs
each slot once, with the daemon's locks, job_runs bookkeeping and heartbeat.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from ..core.errors import ConfigError, DeploywatchError, UsageError
from ..core.redact import mask

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..config.schedule import ServerConfig
    from ..daemon.scheduler import Scheduler
    from ..web import DaemonMetrics

__all__ = ["run"]

log = logging.getLogger("deploywatch.serve")
STARTUP_SECONDS = 15.0


def run(*, config_path: Path | None, listen: str | None, once: bool, grace: float) -> int:
    """Run the daemon until a signal (or, with ``once``, what is due); return the exit code."""
    from ..checks.runner import open_store
    from ..checks.validate import load_config
    from ..daemon.jobs import prepare_jobs
    from ..daemon.scheduler import Scheduler, exit_code_of
    from ..web import DaemonMetrics

    loaded = load_config(config_path)
    server = _server_config(loaded, listen)
    schedule = loaded.config.schedule  # its heartbeat URL, like the token, was registered as a secret when loaded
    if server.protect_reads and server.token is None:
        raise ConfigError("protect_reads = true needs a token (read endpoints would be closed to everyone)",
                          file=str(loaded.path), key="server.protect_reads")
    if once and not schedule.jobs():
        raise ConfigError("no jobs to run: set drift, canary, check, report or remediate to a cron expression "
                          "in [schedule]",
                          file=str(loaded.path), key="schedule")
    sock = None if once else _bind(server)
    try:
        store = open_store(loaded)
    except BaseException:
        if sock is not None:
            sock.close()
        raise
    unlog = _configure_logging()
    scheduler: Scheduler | None = None
    exit_code = 3
    try:
        metrics = DaemonMetrics(store)
        scheduler = Scheduler.from_config(loaded, store, observe=metrics.observe, grace=grace)
        prepare_jobs(loaded)  # before the first job thread starts
        restore = _handle_signals(scheduler)
        try:
            if once:
                done = scheduler.run_once()
                for record in done:
                    outcome = f"exit {record.exit_code}" if record.exit_code is not None else record.state
                    print(mask(f"{record.job}: {record.state} ({outcome})" + (f": {record.error}" if record.error
                                                                                 else "")))
                if not done:
                    print("nothing due: every job's most recent scheduled time has run")
                exit_code = exit_code_of(done)
            else:
                assert sock is not None
                exit_code = _serve(loaded, scheduler, metrics, server, sock)
            return exit_code
        finally:
            restore()
    finally:
        if sock is not None:
            sock.close()
        store.close()
        unlog()
        if scheduler is not None and scheduler.abandoned:
            # A cancelled or timed-out job's thread cannot be stopped, and the interpreter would wait for the
            # worker threads it started (thread pools join at exit): leave now, as the job was recorded.
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exit_code)


def _server_config(loaded: LoadedConfig, listen: str | None) -> ServerConfig:
    from pydantic import ValidationError

    from ..config.schedule import ServerConfig

    server = loaded.config.server
    if listen is None:
        return server
    try:
        return ServerConfig.model_validate({**server.model_dump(), "listen": listen})
    except ValidationError:
        raise UsageError(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080") from None


class _MaskingFilter(logging.Filter):
    """Masks the message and any traceback of a record (uvicorn logs tracebacks of failed requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _configure_logging() -> Callable[[], None]:
    """Log ``deploywatch.*`` (INFO), ``uvicorn.*`` and ``asyncio`` (WARNING) to stderr, masked, repeats collapsed;
    return a function that undoes it."""
    from ..web.server import RepeatFilter

    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RepeatFilter())  # before masking: it may shorten the record
    handler.addFilter(_MaskingFilter())
    saved = []
    for name, level in (("deploywatch", logging.INFO), ("uvicorn", logging.WARNING), ("asyncio", logging.WARNING)):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False

    def undo() -> None:
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate

    return undo


def _bind(server: ServerConfig) -> socket.socket:
    """Listen on ``server.listen`` now, so that a port in use is a clear error before anything starts."""
    sock: socket.socket | None = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(server.host, server.port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise DeploywatchError(f"cannot listen on {server.listen}: {exc.strerror or exc}") from None
    return sock


def _handle_signals(scheduler: Scheduler) -> Callable[[], None]:
    """SIGTERM and SIGINT stop the scheduler (from a helper thread: a handler must not take locks the interrupted
    code may hold). Returns a function that restores the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handle(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=scheduler.stop, name="deploywatch-signal", daemon=True).start()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def _serve(loaded: LoadedConfig, scheduler: Scheduler, metrics: DaemonMetrics, server: ServerConfig,
           sock: socket.socket) -> int:
    from ..web import DaemonContext, create_app
    from ..web.server import http_server

    context = DaemonContext(loaded, scheduler.store, scheduler, metrics, now=scheduler.clock.now)
    app = create_app(context)
    http = http_server(app)
    failed = threading.Event()

    def serve_http() -> None:
        try:
            http.run(sockets=[sock])
        except BaseException as exc:  # SystemExit from a failed startup included
            log.error("the HTTP server stopped: %s", type(exc).__name__)
        finally:
            if not scheduler.stopping:
                failed.set()
                scheduler.stop()

    thread = threading.Thread(target=serve_http, name="deploywatch-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not http.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not http.started:
        http.should_exit = True
        raise DeploywatchError(f"cannot serve on {server.listen}: the HTTP server did not start")
    jobs = ", ".join(f"{job} '{cron}'" for job, cron in scheduler.jobs.items()) or "none"
    log.info("listening on http://%s (jobs: %s; time zone %s)", server.listen, jobs, scheduler.timezone)
    try:
        scheduler.run()
    finally:
        http.should_exit = True
        thread.join(10)
        if not context.actions.close(timeout=scheduler.grace):
            log.warning("stopped with on_complete actions still running (their phases show them as not finished)")
    log.info("stopped")
    return 3 if failed.is_set() else 0
