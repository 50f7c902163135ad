"""deploywatch: know that production runs the code you committed.

The public Python API: load a config, measure drift, run data checks and gates, and work with the
results. Everything not
listed in ``__all__`` is internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core.lazy import lazy_attributes
from .core.version import __version__ as __version__

if TYPE_CHECKING:
    from .checks import CanaryReport, CheckResult, GateResult, run_canary, run_gate
    from .checks.validate import load_config
    from .config import Config, LoadedConfig, find_config
    from .core.errors import ConfigError, DeploywatchError, GitError, UsageError
    from .core.findings import Finding
    from .core.paths import Glob, GlobError, ServicePaths, compile_glob
    from .core.status import Status, worst
    from .drift import DriftReport, RelevantCommit, ServiceDrift, ServiceSpec, State, measure_drift
    from .drift.git import Repo
    from .drift.skew import GroupSkew, find_skew
    from .drift.sources import Reading, Source, read_all
    from .drift.workspace import Workspace, open_workspace

__all__ = [
    "CanaryReport",
    "CheckResult",
    "Config",
    "ConfigError",
    "DeploywatchError",
    "DriftReport",
    "Finding",
    "GateResult",
    "GitError",
    "Glob",
    "GlobError",
    "GroupSkew",
    "LoadedConfig",
    "Reading",
    "RelevantCommit",
    "Repo",
    "ServiceDrift",
    "ServicePaths",
    "ServiceSpec",
    "Source",
    "State",
    "Status",
    "UsageError",
    "Workspace",
    "compile_glob",
    "find_config",
    "find_skew",
    "load_config",
    "measure_drift",
    "open_workspace",
    "read_all",
    "run_canary",
    "run_gate",
    "worst",
]

# Imported on first use so that ``deploywatch --help`` does not pay for pydantic and friends.
_LAZY = {
    "CanaryReport": "checks",
    "CheckResult": "checks",
    "Config": "config",
    "ConfigError": "core.errors",
    "DeploywatchError": "core.errors",
    "DriftReport": "drift",
    "Finding": "core.findings",
    "GateResult": "checks",
    "GitError": "core.errors",
    "Glob": "core.paths",
    "GlobError": "core.paths",
    "GroupSkew": "drift.skew",
    "LoadedConfig": "config",
    "Reading": "drift.sources",
    "RelevantCommit": "drift",
    "Repo": "drift.git",
    "ServiceDrift": "drift",
    "ServicePaths": "core.paths",
    "ServiceSpec": "drift",
    "Source": "drift.sources",
    "State": "drift",
    "Status": "core.status",
    "UsageError": "core.errors",
    "Workspace": "drift.workspace",
    "compile_glob": "core.paths",
    "find_config": "config",
    "find_skew": "drift.skew",
    "load_config": "checks.validate",
    "measure_drift": "drift",
    "open_workspace": "drift.workspace",
    "read_all": "drift.sources",
    "run_canary": "checks",
    "run_gate": "checks",
    "worst": "core.status",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
