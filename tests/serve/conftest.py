"""Fixtures of the daemon tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace built once per module (copy it before changing it)."""
    from deploywatch.demo import build_demo

    directory = tmp_path_factory.mktemp("serve-demo") / "demo"
    build_demo(directory, now=datetime.now(UTC).replace(microsecond=0))
    return directory
