"""Dashboard fixtures: per test module, a copy of the demo with the dashboard's planted data and a daemon on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.daemon import Daemon
from testing.dashboard import Dashboard, dashboard_workspace


@pytest.fixture(scope="module")
def board(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Dashboard:
    """See :func:`testing.dashboard.dashboard_workspace` (one per test module)."""
    return dashboard_workspace(demo, tmp_path_factory.mktemp("board") / "ws")


@pytest.fixture(scope="module")
def daemon(board: Dashboard) -> Iterator[Daemon]:
    """``deploywatch serve`` on the module's workspace."""
    daemon = Daemon(board.config).wait_ready()
    yield daemon
    daemon.close()
