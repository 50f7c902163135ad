"""deploywatch: know that production runs the code you committed.

The public Python API: load a config, measure drift, run data checks and gates, and work with the
results. Everything not
listed in ``__all__`` is internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_attributes

if TYPE_CHECKING:
    from .checks import CanaryReport, CheckResult, GateResult, run_canary, run_gate
    from .config import Config, LoadedConfig, find_config, load_config
    from .drift import DriftReport, RelevantCommit, ServiceDrift, ServiceSpec, State, measure_drift
    from .errors import ConfigError, DeploywatchError, GitError, UsageError
    from .findings import Finding
    from .git import Repo
    from .paths import Glob, GlobError, ServicePaths, compile_glob
    from .skew import GroupSkew, find_skew
    from .sources import Reading, Source, read_all
    from .status import Status, worst
    from .workspace import Workspace, open_workspace

__version__ = "0.1.0"

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
    "ConfigError": "errors",
    "DeploywatchError": "errors",
    "DriftReport": "drift",
    "Finding": "findings",
    "GateResult": "checks",
    "GitError": "errors",
    "Glob": "paths",
    "GlobError": "paths",
    "GroupSkew": "skew",
    "LoadedConfig": "config",
    "Reading": "sources",
    "RelevantCommit": "drift",
    "Repo": "git",
    "ServiceDrift": "drift",
    "ServicePaths": "paths",
    "ServiceSpec": "drift",
    "Source": "sources",
    "State": "drift",
    "Status": "status",
    "UsageError": "errors",
    "Workspace": "workspace",
    "compile_glob": "paths",
    "find_config": "config",
    "find_skew": "skew",
    "load_config": "config",
    "measure_drift": "drift",
    "open_workspace": "workspace",
    "read_all": "sources",
    "run_canary": "checks",
    "run_gate": "checks",
    "worst": "status",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
