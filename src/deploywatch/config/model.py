"""The whole configuration: the root model, the sections each command reads and the loaded config with its origin."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import Field

from ..core.paths import ServicePaths, compile_glob
from .alerts import AlertsConfig
from .checks import CheckConfig, GateConfig, StoreConfig, WarehouseConfig
from .deploy import DeploySettings, GroupConfig
from .health import HealthConfig, PhaseConfig, ProbeConfig
from .remediate import RemediateSettings
from .schedule import ScheduleConfig, ServerConfig
from .services import Defaults, RepoConfig, ServiceConfig
from .types import Model, Name
from .web import WebConfig

__all__ = ["COMMAND_SECTIONS", "DAEMON_SECTIONS", "DEPLOY_SECTIONS", "DRIFT_SECTIONS", "REMEDIATE_SECTIONS", "Config",
           "EffectiveThresholds", "LoadedConfig"]


class Config(Model):
    """The whole ``deploywatch.toml``."""

    repo: RepoConfig = RepoConfig()
    defaults: Defaults = Defaults()
    services: Annotated[dict[Name, ServiceConfig], Field(min_length=1)] = Field(default_factory=dict)
    warehouse: WarehouseConfig = WarehouseConfig()
    store: StoreConfig = StoreConfig()
    checks: list[CheckConfig] = Field(default_factory=list)
    gates: dict[Name, GateConfig] = Field(default_factory=dict)
    alerts: AlertsConfig = AlertsConfig()
    probes: list[ProbeConfig] = Field(default_factory=list)
    phases: dict[Name, PhaseConfig] = Field(default_factory=dict)
    health: HealthConfig = HealthConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    server: ServerConfig = ServerConfig()
    deploy: DeploySettings = DeploySettings()
    groups: dict[Name, GroupConfig] = Field(default_factory=dict)
    web: WebConfig = WebConfig()
    remediate: RemediateSettings = RemediateSettings()


# The sections the deploy commands (deploy, rollback) read: the deny windows are in [schedule]'s time zone.
DEPLOY_SECTIONS = frozenset({"repo", "defaults", "services", "store", "alerts", "deploy", "groups", "schedule",
                             "probes", "health", "warehouse", "checks"})
# The sections remediate reads: a deploy's, and its own.
REMEDIATE_SECTIONS = DEPLOY_SECTIONS | {"remediate", "phases"}
# The sections the drift commands (drift, contains, affected, skew) read.
DRIFT_SECTIONS = frozenset({"repo", "defaults", "services", "store", "alerts"})
# Only the daemon (serve, schedule export) reads these: no other command needs their ${VAR}s set.
DAEMON_SECTIONS = frozenset({"schedule", "server"})
# The sections every command but the daemon's may read.
COMMAND_SECTIONS = frozenset(Config.model_fields) - DAEMON_SECTIONS


@dataclass(frozen=True)
class EffectiveThresholds:
    """A service's thresholds after defaults are applied; ``None`` means the rule is off."""

    warn_commits: int | None
    critical_commits: int | None
    warn_after: int | None
    critical_after: int | None


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where it came from."""

    path: Path
    config: Config
    text: str | None = field(default=None, compare=False, repr=False)  # the file as read (None: built in code)
    unresolved: tuple[str, ...] = ()  # sections left at their defaults: not read by the caller, a ${VAR} unset
    prefix: tuple[str, ...] = field(default=(), compare=False, repr=False)  # ('tool', 'deploywatch') in pyproject
    shown: str = field(default="", compare=False, repr=False)  # the path as given, for messages

    @property
    def base_dir(self) -> Path:
        """The directory relative paths in the config are resolved against."""
        return self.path.parent

    @property
    def repo_path(self) -> Path:
        """The repository's directory."""
        return (self.base_dir / self.config.repo.path).resolve()

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the config file."""
        return (self.base_dir / os.path.expanduser(relative)).resolve()

    def thresholds(self, name: str) -> EffectiveThresholds:
        """The thresholds for service ``name``: its own where set, else ``[defaults]``; 0 turns a rule off."""
        service = self.config.services[name]
        defaults = self.config.defaults

        def pick(key: str) -> int | None:
            own = getattr(service, key)
            value = own if own is not None else getattr(defaults, key)
            return value or None

        return EffectiveThresholds(pick("warn_commits"), pick("critical_commits"),
                                   pick("warn_after"), pick("critical_after"))

    def exclude(self, name: str) -> list[str]:
        """The service's ``exclude`` globs, or ``[defaults].exclude`` when it sets none."""
        own = self.config.services[name].exclude
        return list(own if own is not None else self.config.defaults.exclude)

    def group_members(self, group: str) -> list[str]:
        """The services of ``group`` in the order they deploy: ``[groups.NAME] deploy_order``, else config order."""
        order = self.config.groups.get(group)
        if order is not None:
            return list(order.deploy_order)
        return [name for name, service in self.config.services.items() if service.group == group]

    def service_paths(self, name: str) -> ServicePaths:
        """The compiled globs of service ``name``."""
        service = self.config.services[name]
        return ServicePaths(name, tuple(compile_glob(p) for p in service.paths),
                            tuple(compile_glob(p) for p in self.exclude(name)))
