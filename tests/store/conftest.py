"""Store fixtures: the same tests run against a SQLite file and a throwaway PostgreSQL database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from deploywatch.store import Store
from deploywatch.store.urls import parse_store_url

# Prepended to every lockstep script: announce readiness, then wait for the go signal (argv: sync dir, name, …).
_READY_SET_GO = """
import sys as _sys, time as _time
from pathlib import Path as _Path
_sync = _Path(_sys.argv[1])
(_sync / f"ready-{_sys.argv[2]}").touch()
_deadline = _time.monotonic() + 60
while not (_sync / "go").exists():
    if _time.monotonic() > _deadline:
        _sys.exit("no go signal")
    _time.sleep(0.001)
"""


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a store that does not exist yet: a SQLite file in a new directory, or an empty database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'state.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


class Raw:
    """A plain DB-API connection to a store's database, behind the store's back: ``?`` placeholders on both."""

    def __init__(self, conn: Any, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql``; its rows (empty for a statement without)."""
        cursor = self.conn.execute(sql.replace("?", "%s") if self.postgres else sql, tuple(params))
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def script(self, text: str) -> None:
        """Run several statements (a dump)."""
        if self.postgres:
            self.conn.execute(text)
        else:
            self.conn.executescript(text)


@contextmanager
def raw(url: str) -> Iterator[Raw]:
    """A connection to the database of store ``url`` (SQLite file or PostgreSQL), committing each statement."""
    parsed = parse_store_url(url)
    if parsed.backend == "sqlite":
        assert parsed.database is not None
        with closing(sqlite3.connect(parsed.database, isolation_level=None)) as conn:
            yield Raw(conn, postgres=False)
        return
    import psycopg

    with psycopg.connect(parsed.conninfo, autocommit=True) as pg:
        yield Raw(pg, postgres=True)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A freshly opened (and migrated) store, closed after the test."""
    with Store.open(store_url, timeout=10) as opened:
        yield opened


@pytest.fixture
def lockstep(tmp_path: Path) -> Callable[[str, Mapping[str, Sequence[str]]], None]:
    """Run ``script`` in one process per name of ``writers``, all starting at once; each must exit 0 silently.

    A process sees ``sys.argv[3:]`` = its ``writers[name]`` (``argv[1]`` and ``argv[2]`` are the sync directory
    and its name).
    """
    sync = tmp_path / "sync"
    sync.mkdir()

    def run(script: str, writers: Mapping[str, Sequence[str]]) -> None:
        procs = [subprocess.Popen([sys.executable, "-W", "error", "-c", _READY_SET_GO + script, str(sync), name,
                                   *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for name, args in writers.items()]
        try:
            deadline = time.monotonic() + 60
            while not all((sync / f"ready-{name}").exists() for name in writers):
                assert time.monotonic() < deadline, "writers did not start"
                assert all(proc.poll() is None for proc in procs), "a writer exited early"
                time.sleep(0.01)
            (sync / "go").touch()
            outcomes = [proc.communicate(timeout=180) for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate(timeout=30)
        for proc, (stdout, stderr) in zip(procs, outcomes, strict=True):
            assert proc.returncode == 0, stderr
            assert stderr == ""
            assert stdout == ""

    return run
