"""``deploywatch config check``: validate the config and explain what each service will do."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ..config import EffectiveThresholds
from ..durations import format_duration
from ..redact import mask
from ..render import console, emit_json, styled
from ..sources import source_for
from ..workspace import open_workspace

__all__ = ["ServiceExplanation", "run"]


@dataclass(frozen=True)
class ServiceExplanation:
    """The effective settings of one service."""

    name: str
    group: str | None
    paths: list[str]
    exclude: list[str]
    files_owned: int
    source_kind: str
    source: str
    deploy: str | None
    thresholds: EffectiveThresholds

    def to_json(self) -> dict[str, object]:
        """A ``services[]`` item of ``deploywatch.config/v1``."""
        return {"name": self.name, "group": self.group, "paths": self.paths, "exclude": self.exclude,
                "files_owned": self.files_owned, "deployed": {"kind": self.source_kind, "description": self.source},
                "deploy": self.deploy, "thresholds": asdict(self.thresholds)}


def run(*, config_path: Path | None, output_format: str | None) -> int:
    """Validate (errors exit 3) and explain; exit 1 when a glob matches no file at the branch tip."""
    workspace = open_workspace(config_path)
    loaded = workspace.loaded
    workspace.fetch()
    tip = workspace.tip()
    tree = workspace.repo.tree_files(tip)
    services: list[ServiceExplanation] = []
    warnings: list[str] = []
    for name, service in loaded.config.services.items():
        owner = loaded.service_paths(name)
        owned = sum(1 for f in tree if owner.owns(f))
        if owned == 0:
            warnings.append(f"services.{name}: owns no file at the tip of {workspace.branch} "
                            "(every match of its paths is excluded, or nothing matches)")
        for glob in owner.paths:
            if not any(glob.matches(f) for f in tree):
                warnings.append(f"services.{name}.paths: {glob.pattern!r} matches no file at the tip of "
                                f"{workspace.branch}")
        services.append(ServiceExplanation(
            name, service.group, list(service.paths), loaded.exclude(name), owned,
            service.deployed.kind, source_for(loaded, service.deployed).description,
            mask(service.deploy) if service.deploy else None,
            loaded.thresholds(name)))
    if output_format == "json":
        emit_json({"schema": "deploywatch.config/v1", "path": str(loaded.path),
                   "repo": {"path": str(workspace.repo.path), "branch": workspace.branch, "tip": tip,
                            "fetch": loaded.config.repo.fetch},
                   "services": [s.to_json() for s in services], "warnings": warnings})
        return 1 if warnings else 0
    out = console()
    out.print(f"{loaded.path}: valid", markup=False)
    out.print(f"repository {workspace.repo.path}, branch {workspace.branch} @ {tip[:8]}"
              f"{' (fetched first)' if loaded.config.repo.fetch else ''}", markup=False)
    for s in services:
        out.print(styled(f"\n{s.name}" + (f"  (group {s.group})" if s.group else ""), "bold"))
        lines = [f"paths    {', '.join(s.paths)}  → {s.files_owned} files at the tip",
                 f"exclude  {', '.join(s.exclude) or '-'}",
                 f"deployed {s.source}",
                 "warning  " + _rule(s.thresholds.warn_commits, s.thresholds.warn_after),
                 "critical " + _rule(s.thresholds.critical_commits, s.thresholds.critical_after)]
        if s.deploy:
            lines.append(f"deploy   {s.deploy}")
        for line in lines:
            out.print("  " + line, markup=False)
    for warning in warnings:
        out.print(styled(f"warning: {warning}", "yellow"))
    return 1 if warnings else 0


def _rule(commits: int | None, after: int | None) -> str:
    parts = []
    if commits:
        parts.append(f"≥ {commits} relevant commits behind")
    if after:
        parts.append(f"oldest relevant commit waiting > {format_duration(after)}")
    return " or ".join(parts) if parts else "off"
