"""Shared fixtures: real git repositories and a demo workspace in temporary directories, a PostgreSQL database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testing.gitrepo import GitRepo

if TYPE_CHECKING:
    from testing.spark import SparkServer


@pytest.fixture(autouse=True, scope="session")
def _plan_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Plans that canaries keep go to a folder of the test session, not the user's cache (subprocesses too)."""
    before = os.environ.get("DEPLOYWATCH_CACHE_DIR")
    os.environ["DEPLOYWATCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("plans"))
    yield
    if before is None:
        os.environ.pop("DEPLOYWATCH_CACHE_DIR", None)
    else:
        os.environ["DEPLOYWATCH_CACHE_DIR"] = before


# What the reader's terminal says about width and colour; tests that care set them themselves.
_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


@pytest.fixture(autouse=True, scope="session")
def _no_terminal_settings() -> Iterator[None]:
    """Output does not depend on the terminal the suite runs in: its width and colour settings are unset (for
    subprocesses too) and restored afterwards."""
    saved = {name: os.environ.pop(name) for name in _TERMINAL_VARIABLES if name in os.environ}
    yield
    os.environ.update(saved)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace built once per module (copy it before changing it); modules may define their own."""
    from deploywatch.demo import build_demo

    directory = tmp_path_factory.mktemp("demo") / "demo"
    build_demo(directory, now=datetime.now(UTC).replace(microsecond=0))
    return directory


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    """An empty repository on branch ``main`` in ``tmp_path/repo``."""
    return GitRepo(tmp_path / "repo")


@pytest.fixture(scope="session")
def spark_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkServer]:
    """The test session's local Spark (started once: about 10 seconds), for tests marked ``spark``.

    Skipped without PySpark or Java, except in CI (``CI=true``), where that fails.
    """
    from testing.spark import SparkServer, require_spark

    require_spark()
    server = SparkServer(tmp_path_factory.mktemp("spark"))
    yield server
    server.close()


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty PostgreSQL database (a ``postgresql+psycopg://`` URL), dropped after the test.

    Skipped when ``DEPLOYWATCH_TEST_POSTGRES_URL`` is unset, except in CI (``CI=true``), where that fails.
    """
    from testing.postgres import database_for_test

    return database_for_test(request)
