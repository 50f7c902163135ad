"""Running statements in the warehouse: DuckDB, Spark or any SQLAlchemy URL, bounded concurrency, a timeout each.

Only aggregates come back. A statement that fails does not fail the run: its outcome carries the
warehouse's message. When a statement that computes several metrics fails for a reason other than
a timeout, each metric is retried alone so that one bad column does not hide the others.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, unquote

from ..config.file import DEFAULT_MEMORY_LIMIT
from ..core.errors import ConfigError
from ..core.redact import clip, mask, register_secret, register_url_secrets
from ..core.text import plural
from .dialects import backend
from .plan import Scan
from .spark import SparkWarehouse, import_pyspark, is_spark_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["GroupKey", "ScanOutcome", "Warehouse", "import_driver", "warehouse_error"]

GroupKey = tuple[Any, ...]  # () for an ungrouped scan
Value = float | int | datetime | date | None


@dataclass
class ScanOutcome:
    """What one statement returned: per group, per metric alias, a value; or why it could not."""

    scan: Scan
    values: dict[GroupKey, dict[str, Value]] = field(default_factory=dict)
    error: str | None = None  # the whole statement failed
    metric_errors: dict[str, str] = field(default_factory=dict)  # alias -> error, after isolating
    timed_out: bool = False
    statements: int = 0


def import_driver(url: str) -> None:
    """Import what a connection to ``url`` loads on first use: DuckDB, or SQLAlchemy with the URL's dialect and
    its DBAPI module (psycopg, sqlite3 …).

    Called before threads open connections: SQLAlchemy's packages import each other in cycles, and two threads
    importing them for the first time at once see a partially initialised module or deadlock. A URL that cannot
    be loaded is left alone here; opening it later says what is wrong.
    """
    if backend(url) == "duckdb":
        import duckdb  # noqa: F401
        return
    if is_spark_url(url):
        import_pyspark()
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    with contextlib.suppress(ArgumentError, NoSuchModuleError, ImportError, ValueError, TypeError, AttributeError):
        make_url(url).get_dialect().import_dbapi()


def warehouse_error(exc: BaseException) -> str:
    """The warehouse's own message, one line, secrets masked (SQLAlchemy's wrapping removed)."""
    original = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(original).strip().splitlines() if ln.strip()]
    text = lines[0] if lines else type(original).__name__
    if text.startswith("(") and ") " in text:  # "(psycopg.errors.UndefinedTable) relation …"
        text = text.split(") ", 1)[1]
    return clip(text, 500)


class Warehouse:
    """The warehouse connection (a DuckDB database opened natively, a Spark session, or a SQLAlchemy engine) and
    the runner of a plan's statements.

    DuckDB is driven through its own Python API: it is the embedded default, and skipping SQLAlchemy
    there saves a third of a second of start-up on every run. Spark (``sc://``, ``spark://local``) goes through
    PySpark's Spark Connect client (``checks/spark.py``). Every other URL goes through SQLAlchemy.
    """

    # Called with each statement before it runs (tests count statements with this).
    listeners: ClassVar[list[Callable[[str], None]]] = []

    def __init__(self, url: str, *, base_dir: Path, read_only: bool | None = None, concurrency: int = 4,
                 key: str = "warehouse.url", timeout: float = 300.0, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> None:
        # A kept plan runs without the config models: register the URL's credentials here too.
        register_url_secrets(url)
        self.backend = backend(url)
        self.memory_limit = memory_limit
        self.timeout = timeout
        self.concurrency = concurrency
        self.path: Path | None = None
        self.engine: Engine | None = None
        self._duckdb: Any = None
        self._spark: SparkWarehouse | None = None
        self._duckdb_options: dict[str, str | bool | int | float | list[str]] = {}
        self._read_only = read_only is not False
        self._lock = threading.Lock()
        self._pending: list[Future[list[ScanOutcome]]] = []
        self._pools: list[ThreadPoolExecutor] = []
        if self.backend == "duckdb":
            self._init_duckdb(url, base_dir, key)
        elif is_spark_url(url):
            self._spark = SparkWarehouse(url, base_dir=base_dir, key=key)
            self.shown = self._spark.shown
        else:
            self._init_sqlalchemy(url, base_dir, key)

    def _init_duckdb(self, url: str, base_dir: Path, key: str) -> None:
        rest = url.split("://", 1)[1]
        if not rest.startswith("/"):
            raise ConfigError("invalid DuckDB URL: expected duckdb:///path/to/file.duckdb or duckdb:///:memory:",
                              key=key)
        database, _, query = rest[1:].partition("?")
        self._duckdb_options = {k: v[-1] for k, v in parse_qs(query).items()}
        if database in ("", ":memory:"):
            self.shown = "duckdb:///:memory:"
            self._read_only = False
            return
        path = Path(unquote(database)).expanduser()
        self.path = path if path.is_absolute() else (base_dir / path).resolve()
        self.shown = f"duckdb:///{self.path}"

    def _init_sqlalchemy(self, url: str, base_dir: Path, key: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigError(f"invalid SQLAlchemy URL: {mask(str(exc))}", key=key) from None
        if parsed.password:
            register_secret(str(parsed.password))
        database = parsed.database
        if self.backend == "sqlite" and database and database != ":memory:":
            path = Path(database).expanduser()
            self.path = path if path.is_absolute() else (base_dir / path).resolve()
            parsed = parsed.set(database=str(self.path))
        # hide_password covers user:password@ only; mask() hides ?password=… and the other registered forms
        self.shown = mask(parsed.render_as_string(hide_password=True))
        try:
            self.engine = create_engine(parsed, pool_size=self.concurrency, max_overflow=0, pool_pre_ping=False,
                                        connect_args=_connect_args(self.backend, self.timeout))
        except (NoSuchModuleError, ImportError) as exc:
            raise ConfigError(f"no SQLAlchemy driver for {self.shown}: {warehouse_error(exc)} "
                              "(install the dialect's package, e.g. sqlalchemy-bigquery)", key=key) from None
        except (ArgumentError, TypeError, ValueError) as exc:
            raise ConfigError(f"cannot use {self.shown}: {warehouse_error(exc)}", key=key) from None

    def close(self) -> None:
        """Close every connection (after any scans started in the background have ended)."""
        for pending in self._pending:
            pending.exception()  # waits; the scans' own failures are in their outcomes
        for pool in self._pools:
            pool.shutdown(wait=True)  # its thread has ended when this returns
        if self.engine is not None:
            self.engine.dispose()
        if self._duckdb is not None:
            self._duckdb.close()
            self._duckdb = None
        if self._spark is not None:
            self._spark.close()

    def start(self, scans: Sequence[Scan], dialect: str) -> Future[list[ScanOutcome]]:
        """Start :meth:`run` in the background (the caller can open the store meanwhile)."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deploywatch-scans")
        future = pool.submit(self.run, scans, dialect)
        pool.shutdown(wait=False)
        self._pending.append(future)
        self._pools.append(pool)
        return future

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def missing_file(self) -> str | None:
        """Why the warehouse file cannot be opened (a DuckDB/SQLite file that does not exist), else None."""
        if self.path is not None and not self.path.exists():
            return f"warehouse file {self.path} does not exist (check warehouse.url)"
        return None

    def run(self, scans: Sequence[Scan], dialect: str) -> list[ScanOutcome]:
        """Run every scan's statement, up to ``concurrency`` at once; outcomes in the scans' order."""
        missing = self.missing_file()
        if missing:
            return [ScanOutcome(scan, error=missing) for scan in scans]
        # DuckDB already spreads one statement over every core; running several at once would only split
        # the cores and the memory budget between them (and make out-of-memory errors likelier).
        if len(scans) <= 1 or self.concurrency == 1 or self.backend == "duckdb":
            return [self._run_scan(scan, dialect) for scan in scans]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(scans)),
                                thread_name_prefix="deploywatch-warehouse") as pool:
            return list(pool.map(lambda scan: self._run_scan(scan, dialect), scans))

    # ------------------------------------------------------------ one statement

    def _run_scan(self, scan: Scan, dialect: str) -> ScanOutcome:
        outcome = ScanOutcome(scan)
        rows, error, failure = self._execute(scan.statement, scan.timeout)
        outcome.statements += 1
        if error is None:
            self._collect(outcome, rows or [], scan.aliases)
        elif failure != "statement" or scan.kind == "query" or len(scan.aliases) <= 1:
            outcome.error, outcome.timed_out = error, failure == "timeout"
        else:
            self._isolate(outcome, dialect)
        return outcome

    def _isolate(self, outcome: ScanOutcome, dialect: str) -> None:
        from .compiler import single_metric_statement  # sqlglot, only when a statement failed

        scan = outcome.scan
        for alias in scan.aliases:
            rows, error, failure = self._execute(single_metric_statement(scan, alias, dialect), scan.timeout)
            outcome.statements += 1
            if error is not None:
                outcome.metric_errors[alias] = error
                if failure == "timeout":
                    outcome.timed_out = True
                    break
            else:
                self._collect(outcome, rows or [], [alias])
        if outcome.timed_out:
            for alias in scan.aliases:
                outcome.metric_errors.setdefault(alias, f"timed out after {scan.timeout:g}s")

    def _collect(self, outcome: ScanOutcome, rows: Sequence[Sequence[Any]], aliases: Sequence[str]) -> None:
        scan = outcome.scan
        groups = len(scan.group_by)
        if scan.kind == "query":
            width = groups + 1
            if not rows or any(len(row) != width for row in rows) or (not groups and len(rows) != 1):
                shape = plural(len(rows), "row")
                if rows:
                    shape += f" of {plural(len(rows[0]), 'column')}"
                wanted = ("one row with one number" if not groups
                          else f"one row per group: {plural(groups, 'group column')}, then the value")
                outcome.error = f"the query must return {wanted}; it returned {shape}"
                return
            aliases = ["m0"]
        for row in rows:
            key = tuple(_plain(v) for v in row[:groups])
            slot = outcome.values.setdefault(key, {})
            for alias, value in zip(aliases, row[groups:], strict=False):
                slot[alias] = _plain(value)

    def _execute(self, statement: str, timeout: float) -> tuple[list[Any] | None, str | None, str]:
        """Run one statement: ``(rows, None, "")``, or ``(None, message, failure)`` where failure is
        ``"statement"`` (the warehouse refused it), ``"timeout"`` or ``"connect"``."""
        for listener in self.listeners:
            listener(statement)
        if self.backend == "duckdb":
            return self._execute_duckdb(statement, timeout)
        if self._spark is not None:
            return self._spark.execute(statement, timeout)
        return self._execute_sqlalchemy(statement, timeout)

    def _duckdb_connection(self) -> Any:
        with self._lock:
            if self._duckdb is None:
                import duckdb

                database = str(self.path) if self.path is not None else ":memory:"
                options: dict[str, Any] = {"memory_limit": self.memory_limit, **self._duckdb_options}
                if "temp_directory" not in options:
                    # Spills go to a private directory: the default (beside the database) may be read-only. One
                    # per process: DuckDB refuses a second connection to a file with a different configuration.
                    options["temp_directory"] = _spill_directory()
                self._duckdb = duckdb.connect(database, read_only=self._read_only, config=options)
            return self._duckdb

    def _execute_duckdb(self, statement: str, timeout: float) -> tuple[list[Any] | None, str | None, str]:
        try:
            cursor = self._duckdb_connection().cursor()  # its own connection to the same database, per thread
        except Exception as exc:
            return None, f"cannot open {self.shown}: {warehouse_error(exc)}", "connect"
        fired = threading.Event()

        def interrupt() -> None:
            fired.set()
            cursor.interrupt()

        timer = threading.Timer(timeout, interrupt)
        timer.daemon = True
        timer.start()
        try:
            return list(cursor.execute(statement).fetchall()), None, ""
        except Exception as exc:
            if fired.is_set():
                return None, f"timed out after {timeout:g}s", "timeout"
            return None, warehouse_error(exc), "statement"
        finally:
            timer.cancel()
            cursor.close()

    def _execute_sqlalchemy(self, statement: str, timeout: float) -> tuple[list[Any] | None, str | None, str]:
        from sqlalchemy.exc import SQLAlchemyError

        assert self.engine is not None
        fired = threading.Event()
        try:
            with self.engine.connect() as conn:
                timer = threading.Timer(timeout, _cancel, (conn, fired))
                timer.daemon = True
                timer.start()
                try:
                    rows = list(conn.exec_driver_sql(statement).fetchall())
                    return rows, None, ""
                except (SQLAlchemyError, Exception) as exc:
                    if fired.is_set():
                        conn.invalidate()
                        return None, f"timed out after {timeout:g}s", "timeout"
                    return None, warehouse_error(exc), "statement"
                finally:
                    timer.cancel()
        except Exception as exc:
            return None, f"cannot connect to {self.shown}: {warehouse_error(exc)}", "connect"


_spill_lock = threading.Lock()
_spill: list[str] = []


def _spill_directory() -> str:
    """This process's DuckDB spill directory (created on first use, removed at exit)."""
    with _spill_lock:
        if not _spill:
            _spill.append(tempfile.mkdtemp(prefix="deploywatch-duckdb-"))
            atexit.register(shutil.rmtree, _spill[0], True)
        return _spill[0]


def _connect_args(backend_name: str, timeout: float) -> dict[str, Any]:
    """Driver options that bound connecting by the statement timeout (a hung host must not hang the run)."""
    if backend_name == "postgresql":
        return {"connect_timeout": max(1, math.ceil(timeout))}
    return {}


def _cancel(conn: Connection, fired: threading.Event) -> None:
    """Interrupt the statement running on ``conn`` (DuckDB ``interrupt``, psycopg ``cancel``)."""
    fired.set()
    try:
        raw: Any = conn.connection.dbapi_connection
        for name in ("interrupt", "cancel_safe", "cancel"):
            method = getattr(raw, name, None)
            if callable(method):
                method()
                return
    except Exception:
        pass


def _plain(value: Any) -> Any:
    """A database value as a plain Python value: an integral Decimal -> int, any other Decimal -> float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    return value
