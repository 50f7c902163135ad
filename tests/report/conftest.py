"""Report fixtures: a monorepo history with batched, failed, rolled back and redeployed entries in the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from testing.reportscene import ReportScene, build_report_scene


@pytest.fixture
def scene(git_repo: GitRepo, tmp_path: Path) -> ReportScene:
    """See :func:`testing.reportscene.build_report_scene` (SQLite)."""
    return build_report_scene(git_repo, tmp_path, f"sqlite:///{tmp_path / 'ops' / 'state.db'}")
