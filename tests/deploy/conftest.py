"""Deploy fixtures: the ledger scene (tests/testing/ledger.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from testing.ledger import Scene, build_scene


@pytest.fixture
def scene(git_repo: GitRepo, tmp_path: Path) -> Scene:
    """See :func:`testing.ledger.build_scene`."""
    return build_scene(git_repo, tmp_path)
