"""Spark as a warehouse: a Spark Connect server (``sc://host:15002``) or a local Spark (``spark://local[N]``).

Both are driven through PySpark's Spark Connect client (``pip install 'deploywatch[spark]'``). A local Spark is a
JVM this process starts (Java 17 or later) running a Spark Connect server on an ephemeral 127.0.0.1 port with a
random token; the users of one process share it and the last to close it stops it. Its catalog lives in memory, so
its tables are files named by path (``parquet.`data/orders```), relative to the config's directory (the JVM's
working directory); its ``spark-warehouse`` and its log are in a temporary folder, removed when it stops
(``?spark.sql.warehouse.dir=…`` keeps them elsewhere), and its log never reaches deploywatch's output.

Each statement runs under a tag of its own; a timeout interrupts that tag, which cancels the Spark jobs it
started. Results come back as Arrow, so ``TIMESTAMP`` values are instants (time zone aware) and
``TIMESTAMP_NTZ`` values are naive, as DuckDB and PostgreSQL return ``TIMESTAMPTZ`` and ``TIMESTAMP``.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from ..core.errors import ConfigError
from ..core.redact import clip, mask, register_secret

__all__ = ["LocalSpark", "SparkWarehouse", "acquire_local", "import_pyspark", "is_spark_url", "release_local"]

_LOCAL = re.compile(r"local(?:\[(?:[1-9]\d*|\*)\])?")
_CONNECT = re.compile(r"sc://(?P<host>\[[0-9a-fA-F:.]+\]|[^/:;?#\[\]]+)(?::(?P<port>\d{1,5}))?/?(?P<params>(?:;[^;]*)*)")
_INSTALL = "pip install 'deploywatch[spark]'"
_NEEDS = ("pyspark", "grpc", "pyarrow", "pandas")  # what PySpark's Spark Connect client imports
_RETRIES = 4  # connection retries: 50 ms, 200 ms, 0.8 s, 3.2 s (PySpark's default waits up to 10 minutes)


def is_spark_url(url: str) -> bool:
    """True for the URLs this module runs: ``sc://…`` (Spark Connect) and ``spark://…`` (a local Spark)."""
    return url.split("://", 1)[0].lower() in ("sc", "spark")


def import_pyspark() -> None:
    """Import PySpark's Spark Connect session (before threads race to import it); nothing when it is missing."""
    with contextlib.suppress(ImportError):
        import pyspark.sql.connect.session  # noqa: F401


class LocalSpark:
    """A local Spark with a Spark Connect server, in a JVM this process started; :attr:`url` reaches it."""

    def __init__(self, master: str, conf: dict[str, str], directory: Path) -> None:
        from pyspark import SparkConf, SparkContext
        from pyspark.java_gateway import launch_gateway

        self.master = master
        token = secrets.token_hex(24)
        register_secret(token)
        settings = {"spark.app.name": "deploywatch", "spark.ui.enabled": "false",
                    "spark.ui.showConsoleProgress": "false", **conf, "spark.master": master,
                    "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
                    "spark.connect.grpc.binding.address": "127.0.0.1", "spark.connect.grpc.binding.port": "0",
                    "spark.connect.authenticate.token": token}
        self.scratch = Path(tempfile.mkdtemp(prefix="deploywatch-spark-"))
        settings.setdefault("spark.sql.warehouse.dir", str(self.scratch / "spark-warehouse"))
        spark_conf = SparkConf(loadDefaults=False).setAll(list(settings.items()))
        self.log = self.scratch / "spark.log"
        output = {"stderr": subprocess.STDOUT, "cwd": str(directory)}
        with self.log.open("wb") as log:
            gateway = launch_gateway(spark_conf, popen_kwargs={"stdout": log, **output})  # type: ignore[no-untyped-call]
        self._gateway: Any = gateway
        try:
            self._context: Any = SparkContext(conf=spark_conf, gateway=gateway)
            service = getattr(gateway.jvm, "org.apache.spark.sql.connect.service.SparkConnectService$")
            port = getattr(service, "MODULE$").localPort()
        except BaseException:
            self._shutdown()
            raise
        # "localhost": PySpark sends a token over a plain channel only to localhost.
        self.url = f"sc://localhost:{port}/;token={token}"

    def last_log_line(self) -> str:
        """The last line the JVM wrote (what went wrong when it would not start)."""
        try:
            lines = [ln.strip() for ln in self.log.read_text(encoding="utf-8", errors="replace").splitlines()]
        except OSError:
            return ""
        return next((ln for ln in reversed(lines) if ln), "")

    def stop(self) -> None:
        """Stop Spark and its JVM, and remove its temporary folder."""
        try:
            self._context.stop()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        from pyspark import SparkContext

        proc = getattr(self._gateway, "proc", None)
        try:
            self._gateway.shutdown()
        finally:
            if proc is not None:
                proc.stdin.close()  # the JVM exits when its stdin closes
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            SparkContext._gateway = None  # a later start launches a new JVM
            SparkContext._jvm = None
            shutil.rmtree(self.scratch, ignore_errors=True)


class _Shared:
    """The process's one local Spark and how many are using it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.server: LocalSpark | None = None
        self.users = 0


_shared = _Shared()


def acquire_local(master: str, conf: dict[str, str], directory: Path) -> LocalSpark:
    """This process's local Spark, started on first use (with ``master``, ``conf`` and ``directory`` as its
    working directory; later users share the first one's); pair with :func:`release_local`."""
    with _shared.lock:
        if _shared.server is None:
            _shared.server = LocalSpark(master, conf, directory)
            atexit.register(_stop_at_exit, _shared.server)
        _shared.users += 1
        return _shared.server


def _stop_at_exit(server: LocalSpark) -> None:
    """Stop a local Spark that a crashed caller left running (its JVM would otherwise hold the exit up)."""
    with _shared.lock:
        if _shared.server is not server:
            return
        _shared.server, _shared.users = None, 0
    with contextlib.suppress(Exception):
        server.stop()


def release_local(server: LocalSpark) -> None:
    """One user is done with the local Spark; the last one stops it."""
    with _shared.lock:
        if server is not _shared.server:
            return
        _shared.users -= 1
        if _shared.users <= 0:
            _shared.server, _shared.users = None, 0
            atexit.unregister(_stop_at_exit)
            server.stop()


def _silence_pyspark() -> None:
    """PySpark logs every failed query as a JSON line on stderr; the failure already reaches the check's reason."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


class SparkWarehouse:
    """One Spark Connect session for a :class:`~deploywatch.checks.warehouse.Warehouse` (opened on the first
    statement, shared by its threads); :meth:`execute` follows the Warehouse's ``_execute`` contract."""

    def __init__(self, url: str, *, base_dir: Path, key: str = "warehouse.url") -> None:
        missing = [name for name in _NEEDS if importlib.util.find_spec(name) is None]
        if missing:
            raise ConfigError(f"{url.split('://', 1)[0]}:// warehouses need PySpark's Spark Connect client "
                              f"({', '.join(missing)} not installed): {_INSTALL}", key=key)
        self.base_dir = base_dir
        self._remote: str | None = None
        self._master = ""
        self._conf: dict[str, str] = {}
        if url.split("://", 1)[0].lower() == "sc":
            self._remote = _connect_url(url, key)
            self.shown = mask(self._remote)
        else:
            self._master, self._conf = _local_url(url, key)
            self.shown = f"spark://{self._master}"
        self._lock = threading.Lock()
        self._session: Any = None
        self._server: LocalSpark | None = None
        self._failed: str | None = None

    def session(self) -> tuple[Any, str | None]:
        """The session (``(session, None)``), or why there is none (``(None, message)``, remembered)."""
        with self._lock:
            if self._session is None and self._failed is None:
                self._open()
            return self._session, self._failed

    def _open(self) -> None:
        from pyspark.sql.connect.client.retries import DefaultPolicy
        from pyspark.sql.connect.session import SparkSession

        _silence_pyspark()
        url = self._remote
        if url is None:
            try:
                self._server = acquire_local(self._master, self._conf, self.base_dir)
            except Exception as exc:
                self._failed = (f"cannot start a local Spark ({self.shown}): {_message(exc)} "
                                "(Spark needs Java 17 or later: install it or set JAVA_HOME)")
                return
            url = self._server.url
        try:
            session = SparkSession(connection=url)
            session.client.set_retry_policies([DefaultPolicy(max_retries=_RETRIES, jitter=0)])
            self._session = session
        except Exception as exc:
            self._failed = f"cannot connect to {self.shown}: {_message(exc)}"

    def execute(self, statement: str, timeout: float) -> tuple[list[Any] | None, str | None, str]:
        """Run one statement: ``(rows, None, "")`` or ``(None, message, "statement" | "timeout" | "connect")``."""
        session, failed = self.session()
        if session is None:
            return None, failed, "connect"
        tag = f"deploywatch-{uuid.uuid4().hex}"
        fired = threading.Event()

        def interrupt() -> None:
            fired.set()
            with contextlib.suppress(Exception):  # the statement ended meanwhile, or the session is gone
                session.interruptTag(tag)

        session.addTag(tag)  # tags are per thread: this statement's operations carry it
        timer = threading.Timer(timeout, interrupt)
        timer.daemon = True
        timer.start()
        try:
            table = session.sql(statement).toArrow()
            return list(zip(*(column.to_pylist() for column in table.columns), strict=True)), None, ""
        except Exception as exc:
            if fired.is_set():
                return None, f"timed out after {timeout:g}s", "timeout"
            if _unreachable(exc):
                return None, f"cannot connect to {self.shown}: {_message(exc)}", "connect"
            return None, _message(exc), "statement"
        finally:
            timer.cancel()
            session.removeTag(tag)

    def close(self) -> None:
        """End the session (and stop the local Spark when this was its last user)."""
        with self._lock:
            session, server = self._session, self._server
            self._session = self._server = None
        try:
            if session is not None:
                session.stop()
        finally:
            if server is not None:
                release_local(server)


def _connect_url(url: str, key: str) -> str:
    """A Spark Connect URL checked (``sc://host[:port][/;param=value…]``), its credentials registered."""
    match = _CONNECT.fullmatch(url.strip())
    port = match and match.group("port")
    if match is None or (port and not 0 < int(port) < 65536):
        raise ConfigError("invalid Spark Connect URL: expected sc://host:15002 (optionally /;token=…;use_ssl=true)",
                          key=key)
    for param in match.group("params").split(";")[1:]:
        name, eq, value = param.partition("=")
        if not eq or not name:
            raise ConfigError(f"invalid Spark Connect URL: expected ;name=value parameters, got {param!r}", key=key)
        if name.lower() == "token":
            register_secret(value)
    return url.strip()


def _local_url(url: str, key: str) -> tuple[str, dict[str, str]]:
    """The master and Spark settings of ``spark://local[N]?spark.name=value&…``."""
    rest = url.split("://", 1)[1]
    master, _, query = rest.partition("?")
    if not _LOCAL.fullmatch(master):
        raise ConfigError(f"invalid Spark URL {url!r}: expected spark://local, spark://local[N] or spark://local[*] "
                          "(reach a cluster through Spark Connect: sc://host:15002)", key=key)
    conf = dict(parse_qsl(query, keep_blank_values=True))
    wrong = [name for name in conf if not name.startswith("spark.")]
    if wrong:
        raise ConfigError(f"invalid Spark URL: {wrong[0]!r} is not a Spark setting (expected spark.…=value)", key=key)
    return master, conf


def _unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the server could not be reached (not that it refused the statement)."""
    text = str(exc)
    return "RETRIES_EXCEEDED" in text or "StatusCode.UNAVAILABLE" in text or "failed to connect" in text.lower()


def _message(exc: BaseException) -> str:
    """Spark's message, one line (its first: the error class and what is wrong, no JVM stack), secrets masked."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    text = lines[0] if lines else type(exc).__name__
    if text.startswith("(") and ") " in text:  # "(org.apache.spark.SparkSQLException) [OPERATION_CANCELED] …"
        text = text.split(") ", 1)[1]
    return clip(mask(text), 500)
