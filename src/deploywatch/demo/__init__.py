"""The demo workspace: a realistic monorepo, deployed-commit files and a config to try deploywatch on.

``build_demo(directory)`` writes ``deploywatch.toml``, a git repository at ``repo/`` and
``deployed/*.sha`` files chosen so that every drift status shows up: current, behind only by docs,
warning, critical (a fix that has waited ~26 hours) and unknown (a force-pushed commit).
"""

from __future__ import annotations

from .builder import MARKER, DemoService, DemoWorkspace, build_demo

__all__ = ["MARKER", "DemoService", "DemoWorkspace", "build_demo"]
