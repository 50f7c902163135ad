"""The shared ``postgres_url`` fixture: fresh databases, dropped afterwards, and never skipped in CI."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from testing.postgres import ENV_VAR, database_for_test, throwaway_database


def _database_names(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.text("SELECT datname FROM pg_database")).scalars())
    finally:
        engine.dispose()


def test_each_test_gets_a_fresh_database_that_is_dropped_afterwards(postgres_url: str) -> None:
    with throwaway_database(postgres_url) as url:
        parsed = make_url(url)
        assert parsed.drivername == "postgresql+psycopg"
        assert parsed.database != make_url(postgres_url).database
        engine = sa.create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar() == 0
        finally:
            engine.dispose()
        assert parsed.database in _database_names(postgres_url)
    assert parsed.database not in _database_names(postgres_url)


def test_missing_server_url_skips_outside_ci(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        database_for_test(request)


def test_missing_server_url_fails_in_ci(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=ENV_VAR):
        database_for_test(request)
