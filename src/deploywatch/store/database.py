"""The :class:`Store`: history of runs, findings and metric values in SQLite (default) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from types import EllipsisType, TracebackType
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from ..errors import DeploywatchError
from . import alerts, queries
from .alerts import AlertStateRecord, AlertTx, OutboxRecord, SilenceRecord
from .engine import WRITE, create_store_engine, display_url, parse_store_url, sqlite_file, translate_errors
from .migrations import migrate, read_version
from .records import FindingRecord, MetricPoint, MetricRecord, RunRecord

__all__ = ["Store"]

T = TypeVar("T")


class Store:
    """An open store. Create with :meth:`open`; close with :meth:`close` or use as a context manager.

    Safe to share between threads; several processes may use the same store at once.
    """

    def __init__(self, engine: Engine, shown_url: str) -> None:
        """Wrap an engine whose schema is up to date (use :meth:`open`)."""
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE: True})
        self._url = shown_url

    @classmethod
    def open(cls, url: str, *, timeout: float = 30.0) -> Store:
        """Connect to the store at ``url`` and apply pending migrations.

        ``timeout`` (seconds) bounds waiting for a connection and for locks held by other processes.
        Raises :class:`DeploywatchError` when the store cannot be opened or is newer than this code.
        """
        parsed = parse_store_url(url)
        shown = display_url(parsed)
        path = sqlite_file(parsed)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DeploywatchError(f"cannot open store {shown}: cannot create {path.parent}: "
                                       f"{exc.strerror or exc}") from exc
        with translate_errors(shown, "open"):
            engine = create_store_engine(parsed, timeout=timeout)
        try:
            with translate_errors(shown, "open"):
                migrate(engine, shown_url=shown, timeout=timeout)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, shown)

    def close(self) -> None:
        """Close every pooled connection; do not use the store afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._url!r})"

    @property
    def url(self) -> str:
        """The store's URL with any password hidden."""
        return self._url

    def schema_version(self) -> int:
        """The number of the newest migration applied to this store."""
        with translate_errors(self._url, "read"), self._engine.connect() as conn:
            return read_version(conn)

    def record_run(self, run: RunRecord, findings: Sequence[FindingRecord] = (),
                   metrics: Sequence[MetricRecord] = (), *, route: Callable[[AlertTx], T] | None = None) -> T | None:
        """Store a run with its findings and metric values in one transaction: all of it or nothing.

        Every finding and metric must carry ``run_id == run.id`` (ValueError otherwise). A NaN value is stored
        as None. ``route`` runs inside the same transaction, under the routing lock, and may read and write the
        alert state and the outbox; what it returns is returned.
        """
        with translate_errors(self._url, "write to"), self._writer.begin() as conn:
            queries.insert_run(conn, run, findings, metrics)
            if route is None:
                return None
            alerts.lock_routing(conn)
            return route(AlertTx(conn))

    # ------------------------------------------------------------ notifications

    def alert_view(self, sinks: Sequence[str], now: datetime
                   ) -> tuple[dict[tuple[str, str], AlertStateRecord], list[SilenceRecord]]:
        """The alert states of ``sinks`` and the silences active at ``now`` (read-only; for dry runs)."""
        with translate_errors(self._url, "read"), self._engine.connect() as conn:
            tx = AlertTx(conn)
            return tx.states(sinks), tx.silences(now)

    def claim_outbox(self, *, sinks: Sequence[str], me: str, now: datetime, lease: float,
                     ignore_backoff: bool = False, include_dead: bool = False,
                     ids: Sequence[str] | None = None) -> list[OutboxRecord]:
        """Claim the outbox rows of ``sinks`` that are due (see :func:`.alerts.claim`)."""
        with translate_errors(self._url, "write to"), self._writer.begin() as conn:
            return alerts.claim(conn, sinks=sinks, me=me, now=now, lease=lease, ignore_backoff=ignore_backoff,
                                include_dead=include_dead, ids=ids)

    def finish_outbox(self, row_id: str, me: str, *, state: str, attempts: int, next_attempt_at: datetime,
                      last_error: str | None = None, delivered_at: datetime | None = None,
                      result: Mapping[str, Any] | None = None) -> bool:
        """Record a delivery attempt and release the claim (False when the claim was lost)."""
        with translate_errors(self._url, "write to"), self._writer.begin() as conn:
            return alerts.finish(conn, row_id, me, state=state, attempts=attempts, next_attempt_at=next_attempt_at,
                                 last_error=last_error, delivered_at=delivered_at, result=result)

    def extend_claim(self, row_id: str, me: str, until: datetime) -> None:
        """Keep a claim past its lease."""
        with translate_errors(self._url, "write to"), self._writer.begin() as conn:
            alerts.extend(conn, row_id, me, until)

    def outbox(self, *, states: Sequence[str] = ("pending", "dead"), limit: int = 1000) -> list[OutboxRecord]:
        """Outbox rows in ``states``, oldest first."""
        with translate_errors(self._url, "read"), self._engine.connect() as conn:
            return alerts.read_outbox(conn, states=states, limit=limit)

    def add_silence(self, record: SilenceRecord) -> None:
        """Store a new silence."""
        with translate_errors(self._url, "write to"), self._writer.begin() as conn:
            alerts.insert_silence(conn, record)

    def silences(self, *, now: datetime, include_expired: bool = False) -> list[SilenceRecord]:
        """Silences, newest first; only those not yet over unless ``include_expired``."""
        with translate_errors(self._url, "read"), self._engine.connect() as conn:
            return alerts.read_silences(conn, include_expired=include_expired, now=now)

    def expire_silence(self, silence_id: str, now: datetime) -> SilenceRecord | None:
        """End a silence now; None when there is none with that id."""
        with translate_errors(self._url, "write to"), self._writer.begin() as conn:
            return alerts.expire_silence(conn, silence_id, now)

    def metric_history(self, check: str, group: str | None, *, before: date, limit: int,
                       weekday: int | None = None, include_anomalous: bool = False) -> list[MetricPoint]:
        """Training history for anomaly detection: one point per run date, the newest ``limit`` dates, oldest first.

        Only rows of ``check`` and ``group`` (None matches only ungrouped rows) with ``run_date < before`` and a
        value count. Of several rows for one date the latest (by ``measured_at``, then insertion order) stands
        for it; a date whose latest row is anomalous is dropped unless ``include_anomalous``; ``weekday``
        (0 = Monday, as ``date.weekday()``) keeps only dates on that weekday.
        """
        with translate_errors(self._url, "read"), self._engine.connect() as conn:
            return queries.metric_history(conn, check, group, before=before, limit=limit, weekday=weekday,
                                          include_anomalous=include_anomalous)

    def recent_metrics(self, check: str, *, group: str | EllipsisType | None = ...,
                       limit: int = 30) -> list[MetricPoint]:
        """The newest ``limit`` metric rows of ``check`` (by run date, then measurement time), newest first.

        ``group=...`` (the default) returns every group; ``None`` only ungrouped rows; a string that group.
        """
        with translate_errors(self._url, "read"), self._engine.connect() as conn:
            return queries.recent_metrics(conn, check, group, limit)

    def check_names(self) -> list[str]:
        """Names of the checks that have stored metrics, sorted."""
        with translate_errors(self._url, "read"), self._engine.connect() as conn:
            return queries.check_names(conn)

    def runs(self, *, command: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The newest ``limit`` runs (of ``command``, when given), newest first by start time."""
        with translate_errors(self._url, "read"), self._engine.connect() as conn:
            return queries.select_runs(conn, command, limit)

    def findings(self, run_id: str) -> list[FindingRecord]:
        """The findings of run ``run_id`` in the order they were recorded (empty for an unknown run)."""
        with translate_errors(self._url, "read"), self._engine.connect() as conn:
            return queries.run_findings(conn, run_id)

    def latest_findings(self, kind: str | None = None) -> list[FindingRecord]:
        """The findings (of ``kind``, when given) of the newest run of each command, ordered by command."""
        with translate_errors(self._url, "read"), self._engine.connect() as conn:
            return queries.latest_findings(conn, kind)
