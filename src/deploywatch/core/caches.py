"""Where deploywatch keeps what it may rebuild at any time (compiled plans, history walks), and their off switches."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_DIR", "cache_folder", "switched_off"]

CACHE_DIR = "DEPLOYWATCH_CACHE_DIR"


def cache_folder(kind: str) -> Path:
    """``$DEPLOYWATCH_CACHE_DIR``, else ``deploywatch/KIND`` in the XDG cache folder (``~/.cache`` by default)."""
    configured = os.environ.get(CACHE_DIR)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deploywatch" / kind


def switched_off(variable: str) -> bool:
    """True when the environment variable ``variable`` is ``0``, ``false``, ``no`` or ``off``."""
    return os.environ.get(variable, "1").strip().lower() in ("0", "false", "no", "off")
