"""The configuration: the loader and one model module per TOML section.

The loader reads TOML, resolves ``${VAR}``, looks up files and lines and translates errors. Domains import config;
config imports no domain.

    loaded = load_config("deploywatch.toml", sections=DRIFT_SECTIONS)

Importing this package is cheap: the models (pydantic) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.lazy import lazy_attributes

if TYPE_CHECKING:
    from .file import CONFIG_FILENAME, find_config
    from .loader import load_config
    from .model import (
        COMMAND_SECTIONS,
        DAEMON_SECTIONS,
        DEPLOY_SECTIONS,
        DRIFT_SECTIONS,
        REMEDIATE_SECTIONS,
        Config,
        EffectiveThresholds,
        LoadedConfig,
    )
    from .services import DeployedConfig, ServiceConfig, Thresholds

__all__ = [
    "COMMAND_SECTIONS",
    "CONFIG_FILENAME",
    "DAEMON_SECTIONS",
    "DEPLOY_SECTIONS",
    "DRIFT_SECTIONS",
    "REMEDIATE_SECTIONS",
    "Config",
    "DeployedConfig",
    "EffectiveThresholds",
    "LoadedConfig",
    "ServiceConfig",
    "Thresholds",
    "find_config",
    "load_config",
]

_LAZY = {
    "COMMAND_SECTIONS": "model",
    "CONFIG_FILENAME": "file",
    "DAEMON_SECTIONS": "model",
    "DEPLOY_SECTIONS": "model",
    "DRIFT_SECTIONS": "model",
    "REMEDIATE_SECTIONS": "model",
    "Config": "model",
    "DeployedConfig": "services",
    "EffectiveThresholds": "model",
    "LoadedConfig": "model",
    "ServiceConfig": "services",
    "Thresholds": "services",
    "find_config": "file",
    "load_config": "loader",
}

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
