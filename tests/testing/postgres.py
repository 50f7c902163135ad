"""Throwaway PostgreSQL databases for tests, on the server named by ``DEPLOYWATCH_TEST_POSTGRES_URL``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

ENV_VAR = "DEPLOYWATCH_TEST_POSTGRES_URL"


def _psycopg(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """Create an empty database with a unique name on ``server_url``'s server; yield its URL; drop it after.

    The URL uses the ``postgresql+psycopg://`` driver and keeps the server URL's credentials.
    """
    server = _psycopg(server_url)
    name = f"deploywatch_test_{uuid.uuid4().hex[:16]}"
    # CREATE/DROP DATABASE cannot run inside a transaction; NullPool leaves no idle connection behind.
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool,
                             connect_args={"connect_timeout": 10})
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                # FORCE: a test that leaked a connection must not leave the database behind.
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def database_for_test(request: pytest.FixtureRequest) -> str:
    """A fresh database for the requesting test, dropped at its teardown.

    Skips the test when ``DEPLOYWATCH_TEST_POSTGRES_URL`` is unset, except in CI (``CI=true``), where it fails:
    CI must never silently skip the PostgreSQL tests.
    """
    server_url = os.environ.get(ENV_VAR, "").strip()
    if not server_url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{ENV_VAR} is not set; CI must run the PostgreSQL tests")
        pytest.skip(f"{ENV_VAR} is not set")
    cleanup = ExitStack()
    url = cleanup.enter_context(throwaway_database(server_url))
    request.addfinalizer(cleanup.close)
    return url
