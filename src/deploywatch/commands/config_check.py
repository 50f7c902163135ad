"""``deploywatch config check``: validate the config and explain what each service will do."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..config import EffectiveThresholds, LoadedConfig
from ..core.durations import format_duration
from ..core.redact import mask
from ..core.render import console, emit_json, styled
from ..core.text import plural
from ..drift.sources import source_for
from ..drift.workspace import Workspace, workspace_for

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


def run(*, config_path: Path | None, output_format: str | None, now: datetime, run_date: date | None = None,
        probe_sources: bool = False) -> int:
    """Validate (errors exit 3) and explain; exit 1 when a glob matches no file at the branch tip.

    Check templates are rendered for ``run_date`` (default: ``now``'s date in the warehouse time zone). With
    ``probe_sources`` each service's deployed source is read once (a failed read or a preset's missing CLI is a
    warning)."""
    from ..checks.validate import load_config

    loaded = load_config(config_path)
    services: list[ServiceExplanation] = []
    warnings: list[str] = []
    repo: dict[str, object] | None = None
    sources: list[dict[str, str | None]] | None = None
    if loaded.config.services:
        workspace = workspace_for(loaded)
        workspace.fetch()
        tip = workspace.tip()
        repo = {"path": str(workspace.repo.path), "branch": workspace.branch, "tip": tip,
                "fetch": loaded.config.repo.fetch}
        services, warnings = _explain_services(workspace, tip)
        if probe_sources:
            sources, probe_warnings = _probe_sources(workspace)
            warnings += probe_warnings
    data = _explain_checks(loaded, now=now, run_date=run_date) if loaded.config.checks else None
    alerts = _explain_alerts(loaded)
    daemon = _explain_daemon(loaded)
    if output_format == "json":
        emit_json({"schema": "deploywatch.config/v1", "path": str(loaded.path), "repo": repo,
                   "services": [s.to_json() for s in services], "data": data, "alerts": alerts, **daemon,
                   **({"sources": sources} if sources is not None else {}), "warnings": warnings})
        return 1 if warnings else 0
    out = console()
    out.print(f"{loaded.path}: valid", markup=False)
    if repo is not None:
        out.print(f"repository {repo['path']}, branch {repo['branch']} @ {str(repo['tip'])[:8]}"
                  f"{' (fetched first)' if loaded.config.repo.fetch else ''}", markup=False)
    for s in services:
        out.print(styled(f"\n{s.name}" + (f"  (group {s.group})" if s.group else ""), "bold"))
        lines = [f"paths    {', '.join(s.paths)}  → {plural(s.files_owned, 'file')} at the tip",
                 f"exclude  {', '.join(s.exclude) or '-'}",
                 f"deployed {s.source}",
                 "warning  " + _rule(s.thresholds.warn_commits, s.thresholds.warn_after),
                 "critical " + _rule(s.thresholds.critical_commits, s.thresholds.critical_after)]
        if s.deploy:
            lines.append(f"deploy   {s.deploy}")
        for line in lines:
            out.print("  " + line, markup=False)
    if data is not None:
        _print_checks(data)
    if alerts:
        out.print(styled("\nalerts", "bold"))
        for sink in alerts:
            repeat = "every run" if sink["type"] == "alertmanager" else \
                f"repeat {format_duration(sink['repeat_interval_seconds'])}"
            match = " ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in sink["match"].items())
            out.print(f"  {sink['name']} ({sink['type']} → {sink['target']}): {match or 'every finding'}; {repeat}; "
                      f"resolved {'sent' if sink['send_resolved'] else 'not sent'} after "
                      f"{plural(sink['resolve_after'], 'ok run')}", markup=False)
    _print_daemon(daemon)
    if sources is not None:
        out.print(styled("\ndeployed sources (each read once)", "bold"))
        for read in sources:
            said = f"{read['commit']}" + (f" (read {read['read']})" if read["read"] != read["commit"] else "") \
                if read["commit"] else f"error: {read['error']}"
            out.print(f"  {read['service']}: {said}  ← {read['source']}", markup=False, soft_wrap=True)
    for warning in warnings:
        out.print(styled(f"warning: {warning}", "yellow"))
    return 1 if warnings else 0


def _explain_services(workspace: Workspace, tip: str) -> tuple[list[ServiceExplanation], list[str]]:
    loaded = workspace.loaded
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
            service.deployed.kind, source_for(loaded, service.deployed, name).description,
            mask(service.deploy) if service.deploy else None,
            loaded.thresholds(name)))
    return services, warnings


def _probe_sources(workspace: Workspace) -> tuple[list[dict[str, str | None]], list[str]]:
    """Each service's deployed source read once: what it said, the commit that names, or the error; and a
    warning per failed read and per preset whose CLI is not on ``PATH``."""
    import shutil

    from ..drift.sources.factory import preset_argv

    services = workspace.loaded.config.services
    readings = workspace.read_sources(list(services))
    commits = workspace.repo.resolve_many(r.value for r in readings.values() if r.value)
    found: list[dict[str, str | None]] = []
    warnings: list[str] = []
    for name, service in services.items():
        kind = service.deployed.kind
        try:  # a preset that runs a command: its program must be on PATH
            program = preset_argv(service.deployed)[0] if kind not in ("file", "command", "url", "ledger") else None
        except ValueError:
            program = None
        if program is not None and shutil.which(program) is None:
            warnings.append(f"services.{name}.deployed: the {kind} preset runs {program}, which is not on PATH")
        reading = readings[name]
        commit = commits.get(reading.value) if reading.value else None
        error = reading.error if reading.value is None else \
            None if commit else f"read {reading.value!r}, which names no commit of the repository"
        if error:
            warnings.append(f"services.{name}.deployed: {error}")
        found.append({"service": name, "source": reading.source, "read": reading.value, "commit": commit,
                      "error": error})
    return found, warnings


def _explain_daemon(loaded: LoadedConfig) -> dict[str, Any]:
    """Phases, probes, the schedule and the server, as ``check`` and ``serve`` will use them (no secrets)."""
    from ..health.probes import probe_configs

    config = loaded.config
    phases = {name: {"processors": list(phase.processors),
                     "freshness": phase.freshness.model_dump() if phase.freshness else None,
                     "on_complete": mask(phase.on_complete) if phase.on_complete else None}
              for name, phase in config.phases.items()}
    probes = [{"name": p.name, "url": mask(p.url) if p.url else None,
               "command": mask(p.command) if p.command else None, "timeout_seconds": p.timeout}
              for p in probe_configs(loaded)]
    schedule = config.schedule
    return {"phases": phases, "probes": probes,
            "schedule": {"timezone": schedule.timezone, "jobs": schedule.jobs(), "timeout_seconds": schedule.timeout,
                         "heartbeat": schedule.heartbeat is not None},
            "server": {"listen": config.server.listen, "token": config.server.token is not None,
                       "protect_reads": config.server.protect_reads}}


def _print_daemon(daemon: dict[str, Any]) -> None:
    out = console()
    if daemon["phases"]:
        out.print(styled("\nphases", "bold"))
        for name, phase in daemon["phases"].items():
            fresh = phase["freshness"]
            line = f"  {name}: {plural(len(phase['processors']), 'processor')} ({', '.join(phase['processors'])})"
            if fresh:
                line += f"; fresh when max({fresh['column']}) of {fresh['table']} is within " \
                        f"{format_duration(fresh['within'])}"
            if phase["on_complete"]:
                line += f"; then: {phase['on_complete']}"
            out.print(line, markup=False, soft_wrap=True)
    if daemon["probes"]:
        out.print(styled("\nprobes", "bold"))
        for probe in daemon["probes"]:
            out.print(f"  {probe['name']}: {probe['url'] or probe['command']} (timeout "
                      f"{format_duration(probe['timeout_seconds'])})", markup=False, soft_wrap=True)
    jobs = daemon["schedule"]["jobs"]
    if jobs:
        out.print(styled("\nschedule", "bold"))
        for job, cron in jobs.items():
            out.print(f"  {job}: {cron} ({daemon['schedule']['timezone']})", markup=False)
        server = daemon["server"]
        out.print(f"  serve listens on {server['listen']}; writes "
                  f"{'need the token' if server['token'] else 'are disabled (no token)'}; reads "
                  f"{'need the token' if server['protect_reads'] else 'are open'}", markup=False)


def _explain_alerts(loaded: LoadedConfig) -> list[dict[str, Any]]:
    """Each sink: its name, type, where it sends (host only: never a secret) and its routing."""
    return [{"name": name, "type": sink.type, "target": sink.target(),
             "match": sink.match.model_dump(exclude_none=True) if sink.match else {},
             "repeat_interval_seconds": sink.repeat_interval, "send_resolved": sink.send_resolved,
             "resolve_after": sink.resolve_after} for name, sink in loaded.config.alerts.sinks()]


def _explain_checks(loaded: LoadedConfig, *, now: datetime, run_date: date | None) -> dict[str, Any]:
    """The warehouse, the store, each check with the statement that computes it, and each gate's checks."""
    from ..checks.runner import compile_checks, store_url
    from ..checks.selection import select_checks
    from ..checks.warehouse import Warehouse
    from ..store.urls import display_url

    config = loaded.config
    plan, run_date = compile_checks(loaded, config.checks, now=now, run_date=run_date)
    with Warehouse(config.warehouse.url, base_dir=loaded.base_dir, read_only=config.warehouse.read_only,
                   concurrency=1) as warehouse:
        shown_url = warehouse.shown
    checks = [{"name": c.config.name, "phase": c.config.phase, "table": c.config.table, "measure": c.config.measure,
               "unit": c.unit, "group_by": list(c.config.group_columns) or None, "warn": c.config.warn,
               "critical": c.config.critical, "anomaly": c.config.anomaly is not None, "statement": c.scan.id}
              for c in plan.checks]
    gates = {name: [c.name for c in select_checks(config.checks, patterns=gate.checks)]
             for name, gate in config.gates.items()}
    return {"warehouse": {"url": mask(shown_url), "dialect": plan.dialect,
                          "timeout_seconds": config.warehouse.timeout, "concurrency": config.warehouse.concurrency,
                          "timezone": config.warehouse.timezone},
            "store": display_url(store_url(loaded)), "run_date": run_date.isoformat(),
            "statements": len(plan.scans), "checks": checks, "gates": gates}


def _print_checks(data: dict[str, Any]) -> None:
    out = console()
    warehouse = data["warehouse"]
    out.print(styled(f"\nwarehouse {warehouse['url']} ({warehouse['dialect']}), store {data['store']}", "bold"),
              markup=False)
    out.print(f"  {plural(len(data['checks']), 'check')} in {plural(data['statements'], 'statement')} "
              f"(templates for {data['run_date']}; statement timeout {format_duration(warehouse['timeout_seconds'])},"
              f" {warehouse['concurrency']} at a time)", markup=False)
    for check in data["checks"]:
        bands = ", ".join(p for p in (f"warn {check['warn']}" if check["warn"] else "",
                                      f"critical {check['critical']}" if check["critical"] else "",
                                      "anomaly" if check["anomaly"] else "") if p) or "no thresholds: recorded only"
        where = check["table"] or "custom query"
        group = f" per {', '.join(check['group_by'])}" if check["group_by"] else ""
        out.print(f"  {check['name']}: {check['measure']} on {where}{group} [{check['statement']}] — {bands}",
                  markup=False)
    for name, members in data["gates"].items():
        out.print(f"  gate {name}: {', '.join(members)}", markup=False)


def _rule(commits: int | None, after: int | None) -> str:
    parts = []
    if commits:
        parts.append(f"≥ {plural(commits, 'relevant commit')} behind")
    if after:
        parts.append(f"oldest relevant commit waiting > {format_duration(after)}")
    return " or ".join(parts) if parts else "off"
