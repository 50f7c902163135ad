"""Compiled plans kept between runs, so that a repeated canary starts its first statement at once.

Most of a short ``deploywatch canary`` run used to go before its first statement: importing pydantic
and sqlglot, validating the config and compiling every check. None of that changes while the config
file, the environment variables it names, the selection (phases, globs, gate), the template dates its
checks use and deploywatch itself stay the same. So the plan compiled once is kept in the user's cache
(``$DEPLOYWATCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/deploywatch/plans``, else ``~/.cache/deploywatch/plans``;
nothing is written beside the config) and run again while every one of those is equal:

* the key hashes the config's path and text, the value of every ``${VAR}`` it names, the selection,
  the Python version and the size and modification time of every deploywatch module and of sqlglot;
* the entry records the template dates its checks use (``{{ yesterday }}`` …) and is used only on
  a run where they come out the same (otherwise it is compiled again and replaced).

A plan is kept only when nothing secret would be written: no alert sinks are configured (routing needs
the full config) and the entry shows no registered secret and nothing credential-shaped. Any problem
reading an entry means compiling afresh; any problem writing one is ignored. ``DEPLOYWATCH_PLAN_CACHE=0``
turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.file import find_config, read_config_text, variable_references
from ..core.caches import CACHE_DIR, cache_folder, switched_off
from ..core.errors import DeploywatchError
from ..core.redact import mask, register_secret
from .plan import AnomalySpec, CheckSpec, Plan, PlannedCheck, Scan
from .runner import RunTarget, WarehouseSpec
from .template import template_names, template_variables

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..config.checks import CheckConfig

__all__ = ["CACHE_DIR", "ENV_SWITCH", "Entry", "Kept", "Selector", "cache_dir", "compile_selected", "enabled",
           "entry_for", "lookup", "plan_for", "save"]

# Picks a command's checks from the loaded config, with what the command keeps beside the plan (a gate's
# min_score); raises the command's own error (an unknown gate, a phase no check has).
Selector = Callable[["LoadedConfig"], tuple["Sequence[CheckConfig]", dict[str, Any]]]

FORMAT = 1
ENV_SWITCH = "DEPLOYWATCH_PLAN_CACHE"
KEEP = 64  # entries in the cache folder; the least recently written go first


def cache_dir() -> Path:
    """Where plans are kept: ``$DEPLOYWATCH_CACHE_DIR``, else ``deploywatch/plans`` in the XDG cache folder."""
    return cache_folder("plans")


def enabled() -> bool:
    """False when ``DEPLOYWATCH_PLAN_CACHE`` is ``0``, ``false``, ``no`` or ``off``."""
    return not switched_off(ENV_SWITCH)


@dataclass(frozen=True)
class Entry:
    """Where the plan for one config text, environment and selection is kept."""

    config: Path  # the config file, resolved
    text: str  # its text when the key was made
    key: str
    file: Path


@dataclass(frozen=True)
class Kept:
    """A plan ready to run (kept, or just compiled): the plan, where it runs, the run date, and what the command
    keeps with it."""

    plan: Plan
    target: RunTarget
    day: date
    extra: dict[str, Any]


def entry_for(config_path: Path | str | None, selection: Sequence[object]) -> Entry | None:
    """The cache entry of the config at ``config_path`` (found as the CLI finds it when None) for ``selection``;
    None when plans are not kept, or the config cannot be found or read (loading it then says why)."""
    if not enabled():
        return None
    try:
        path = Path(config_path).expanduser() if config_path is not None else find_config()
        text = read_config_text(path)  # refuses a FIFO or /dev/zero (loading the config then says so)
        resolved = path.resolve()
        folder = cache_dir()
    except (OSError, ValueError, RuntimeError, DeploywatchError):  # RuntimeError: no home folder
        return None
    digest = hashlib.sha256()
    for part in (str(FORMAT), sys.version, _code_version(), str(resolved), text,
                 *(f"{name}={os.environ.get(name)!r}" for name in sorted(variable_references(text))),
                 json.dumps(list(selection))):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    key = digest.hexdigest()
    return Entry(resolved, text, key, folder / f"plan-{key[:40]}.json")


def lookup(entry: Entry, *, now: datetime, run_date: date | None,
           recompile: Callable[[], Plan]) -> Kept | None:
    """The plan kept for ``entry``, if it is there and its template dates are this run's; else None.

    ``recompile`` compiles the same plan from the config; it is called only when a statement fails and
    its metrics are run one by one (a kept plan has no SQL trees to build those statements from).
    """
    if not enabled():
        return None
    try:
        document = json.loads(entry.file.read_text(encoding="utf-8"))
        if document.get("format") != FORMAT or document.get("key") != entry.key:
            return None
        variables = template_variables(now, run_date, document["timezone"])
        if any(variables.get(name) != value for name, value in document["variables"].items()):
            return None
        plan, target = _decode(document, recompile)
        extra = dict(document.get("extra") or {})
    except Exception:  # a damaged, foreign or older entry: compile afresh
        return None
    for name in variable_references(entry.text):  # as reading the config would have
        value = os.environ.get(name)
        if value:
            register_secret(value)
    return Kept(plan, target, date.fromisoformat(variables["run_date"]), extra)


def save(entry: Entry, loaded: LoadedConfig, plan: Plan, target: RunTarget, *, now: datetime,
         run_date: date | None, extra: dict[str, Any] | None = None) -> bool:
    """Keep ``plan`` (compiled from ``loaded`` for ``now`` and ``run_date``) for ``entry``; False when it may not
    or could not be kept."""
    if not enabled() or target.alerts is not None or loaded.text != entry.text:
        return False
    used = sorted(template_names(entry.text))
    variables = template_variables(now, run_date, target.warehouse.timezone)
    document = {"format": FORMAT, "key": entry.key, "timezone": target.warehouse.timezone,
                "variables": {name: variables[name] for name in used}, **_encode(plan, target),
                "extra": extra or {}}
    text = json.dumps(document, indent=1, sort_keys=True)
    if mask(text) != text:  # a secret or something like one would be written to disk
        return False
    partial = entry.file.with_name(f".{entry.file.name}.{os.getpid()}.tmp")
    try:
        entry.file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # plans are SQL this user will run
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, entry.file)
        _prune(entry.file.parent)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()
        return False
    return True


def plan_for(config_path: Path | None, selection: Sequence[object], select: Selector, *, now: datetime,
             run_date: date | None) -> Kept:
    """The plan of the checks ``select`` picks from the config at ``config_path`` for ``selection`` (the
    command and its arguments): the one kept by an earlier run when it still holds, else compiled afresh
    and kept for the next run."""
    entry = entry_for(config_path, selection)
    if entry is not None:
        config = entry.config
        kept = lookup(entry, now=now, run_date=run_date,
                      recompile=lambda: compile_selected(config, select, now=now, run_date=run_date)[1])
        if kept is not None:
            return kept
    loaded, plan, day, extra = compile_selected(config_path, select, now=now, run_date=run_date)
    target = RunTarget.of(loaded)
    if entry is not None:
        save(entry, loaded, plan, target, now=now, run_date=run_date, extra=extra)
    return Kept(plan, target, day, extra)


def compile_selected(config_path: Path | None, select: Selector, *, now: datetime,
                     run_date: date | None) -> tuple[LoadedConfig, Plan, date, dict[str, Any]]:
    """Load the config, pick the checks with ``select`` and compile them: the loaded config, the plan, its
    run date and what ``select`` keeps beside it."""
    from ..config import COMMAND_SECTIONS
    from .runner import compile_checks
    from .validate import load_config

    loaded = load_config(config_path, sections=COMMAND_SECTIONS)
    checks, extra = select(loaded)
    plan, day = compile_checks(loaded, checks, now=now, run_date=run_date)
    return loaded, plan, day, extra


# ---------------------------------------------------------------- encoding


def _encode(plan: Plan, target: RunTarget) -> dict[str, Any]:
    index = {scan.id: i for i, scan in enumerate(plan.scans)}
    return {
        "dialect": plan.dialect,
        "target": {"base_dir": str(target.base_dir), "store_url": target.store_url,
                   "warehouse": asdict(target.warehouse)},
        "scans": [{"id": s.id, "kind": s.kind, "table": s.table, "where": s.where, "group_by": list(s.group_by),
                   "statement": s.statement, "aliases": list(s.aliases), "timeout": s.timeout} for s in plan.scans],
        "checks": [{"scan": index[c.scan.id], "alias": c.alias, "unit": c.unit, "freshness": c.freshness,
                    "spec": asdict(c.config)} for c in plan.checks],
    }


def _decode(document: dict[str, Any], recompile: Callable[[], Plan]) -> tuple[Plan, RunTarget]:
    compiled: list[Plan] = []

    def scan_at(position: int) -> Callable[[], Scan]:
        def rebuild() -> Scan:
            if not compiled:
                compiled.append(recompile())
            return compiled[0].scans[position]
        return rebuild

    scans = [Scan(s["id"], s["kind"], s["table"], s["where"], tuple(s["group_by"]), statement=s["statement"],
                  aliases=list(s["aliases"]), timeout=float(s["timeout"]), recompile=scan_at(i))
             for i, s in enumerate(document["scans"])]
    checks = []
    for c in document["checks"]:
        spec = dict(c["spec"])
        anomaly = AnomalySpec(**spec.pop("anomaly")) if spec.get("anomaly") is not None else None
        expect = spec.pop("expect_groups")
        check = CheckSpec(**{**spec, "group_columns": tuple(spec["group_columns"]), "anomaly": anomaly,
                             "expect_groups": tuple(expect) if expect is not None else None})
        scan = scans[c["scan"]]
        planned = PlannedCheck(check, scan, c["alias"], c["unit"], bool(c["freshness"]))
        scan.checks.append(planned)
        checks.append(planned)
    saved = document["target"]
    target = RunTarget(Path(saved["base_dir"]), WarehouseSpec(**saved["warehouse"]), saved["store_url"])
    return Plan(scans, checks, document["dialect"]), target


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("plan-*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for stale in entries[KEEP:]:
        with contextlib.suppress(OSError):
            stale.unlink()


_code: list[str] = []


def _code_version() -> str:
    """Size and modification time of every deploywatch module and of sqlglot's: an edit or an upgrade of
    either makes every kept plan stale."""
    if _code:
        return _code[0]
    package = Path(__file__).resolve().parent.parent
    parts = []
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                stat = os.stat(path)
                parts.append(f"{os.path.relpath(path, package)}:{stat.st_mtime_ns}:{stat.st_size}")
    spec = importlib.util.find_spec("sqlglot")
    if spec is not None and spec.origin:
        stat = os.stat(spec.origin)
        parts.append(f"sqlglot:{spec.origin}:{stat.st_mtime_ns}:{stat.st_size}")
    _code.append(hashlib.sha256("\n".join(parts).encode()).hexdigest())
    return _code[0]
