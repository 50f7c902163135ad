"""The package version, for ``--version`` and User-Agent strings (re-exported as ``deploywatch.__version__``).

``__version__`` is the one place the version is written: the build reads it from here (``[tool.hatch.version]``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["__version__", "describe"]

__version__ = "0.1.0"


def describe() -> str:
    """``__version__``, and when this package runs from a git checkout of deploywatch (an editable install), that
    checkout's ``git describe`` (e.g. ``0.1.0 (git v0.1.0-12-gabc1234-dirty)``)."""
    root = Path(__file__).resolve().parents[3]  # src/deploywatch/core/version.py → the checkout
    if not (root / ".git").exists() or not (root / "pyproject.toml").is_file():
        return __version__
    try:
        found = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty", "--tags"],
                               capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return __version__
    text = found.stdout.strip()
    return f"{__version__} (git {text})" if found.returncode == 0 and text else __version__
