"""Shared fixtures: real git repositories in temporary directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    """An empty repository on branch ``main`` in ``tmp_path/repo``."""
    return GitRepo(tmp_path / "repo")
