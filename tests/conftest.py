"""Shared fixtures: real git repositories in temporary directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    """An empty repository on branch ``main`` in ``tmp_path/repo``."""
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty PostgreSQL database (a ``postgresql+psycopg://`` URL), dropped after the test.

    Skipped when ``DEPLOYWATCH_TEST_POSTGRES_URL`` is unset, except in CI (``CI=true``), where that fails.
    """
    from testing.postgres import database_for_test

    return database_for_test(request)
