"""Fixtures for the deployed-source tests: a loaded config to build sources against."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploywatch import load_config
from deploywatch.config import LoadedConfig
from testing.gitrepo import write_config

_MINIMAL = """\
[services.web]
paths = ["web/**"]
deployed = { file = "deployed/web.sha" }
"""


@pytest.fixture
def loaded(tmp_path: Path) -> LoadedConfig:
    """A minimal config in ``tmp_path/workspace``; sources built against it resolve paths there."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    return load_config(write_config(workspace, _MINIMAL), environ={})
