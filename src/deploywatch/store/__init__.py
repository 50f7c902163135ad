"""The state store: history of runs, findings and metric values (SQLite by default, PostgreSQL by URL).

    with Store.open(default_store_url(config_dir)) as store:
        store.record_run(run, findings, metrics)
        history = store.metric_history("row_count", None, before=today, limit=28)

Importing this package (or :mod:`.records`) imports no driver; :class:`Store` (plain DB-API: sqlite3, or psycopg for
PostgreSQL) is imported on first use. The store never imports SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.lazy import lazy_attributes
from .records import FindingRecord, MetricPoint, MetricRecord, RunRecord

if TYPE_CHECKING:
    from .database import Store
    from .urls import default_store_url, resolve_store_url

__all__ = [
    "FindingRecord",
    "MetricPoint",
    "MetricRecord",
    "RunRecord",
    "Store",
    "default_store_url",
    "resolve_store_url",
]

_LAZY = {"Store": "database", "default_store_url": "urls", "resolve_store_url": "urls"}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
