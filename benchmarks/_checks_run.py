"""Running one contender once: the command line, its measurement, and its answer turned into values.

Every contender is a fresh subprocess measured by ``_measure.run`` (wall time, CPU, peak RSS). A run
that exits badly, times out or prints something unusable raises ``ContenderFailed``; the race drops
that contender and the report says why.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _checks_peers as peers
import _checks_spec as spec
from _measure import Measured, Timeout, run

HERE = Path(__file__).resolve().parent
FLOOR_SCRIPT = HERE / "_checks_floor.py"
GX_SCRIPT = HERE / "_checks_gx.py"
SCHEMA = "deploywatch.canary/v1"
TIMEOUTS = {"deploywatch": 900.0, "floor": 600.0, "naive": 1800.0, "soda": 1800.0, "gx": 3600.0}


class ContenderFailed(Exception):
    """A contender exited badly or printed something unusable; it is dropped from later rounds."""


@dataclass
class Outcome:
    """One run of one contender: its cost, the values it reported and the statuses it gave."""

    wall: float
    cpu: float
    max_rss_kib: int
    values: peers.Values
    statuses: dict[str, str] | None = None
    query_seconds: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Contender:
    """Something timed: how to run it once, and everything its runs produced."""

    key: str
    label: str
    engine: str
    floor: str | None  # the key of the floor measured with the same engine version
    run: Callable[[], Outcome]
    timed: list[Outcome] = field(default_factory=list)
    error: str | None = None
    checked: bool = True  # False: reports no values (a diagnostic row)
    startup_s: float | None = None  # a long-lived contender's start-up (a Spark session), not timed


def race(contenders: dict[str, Contender], runs: int, log: Callable[[str], None]) -> None:
    """One warm-up run each, then ``runs`` rounds, the order rotated every round so that noise (other
    processes, CPU frequency, page cache) falls on all contenders alike. A failing contender is dropped."""
    for name in [k for k in contenders if k != "floor"]:  # the floor was warmed by the oracle run
        log(f"  warm-up {name} …")
        _attempt(contenders[name], log)
    order = list(contenders)
    for round_no in range(runs):
        shift = round_no % len(order)
        for name in order[shift:] + order[:shift]:
            if contenders[name].error is None:
                outcome = _attempt(contenders[name], log)
                if outcome is not None:
                    contenders[name].timed.append(outcome)
        log(f"  round {round_no + 1}/{runs}: " + ", ".join(
            f"{k} {c.timed[-1].wall:.2f}s" for k, c in contenders.items() if c.timed and c.error is None))


def _attempt(contender: Contender, log: Callable[[str], None]) -> Outcome | None:
    try:
        return contender.run()
    except ContenderFailed as exc:
        contender.error = str(exc)
        log(f"  {contender.key} failed: {exc}")
        return None


def _measured(m: Measured) -> tuple[float, float, int]:
    return m.wall, m.cpu, m.max_rss_kib


def _run(cmd: list[str], kind: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Measured:
    try:
        return run(cmd, timeout=TIMEOUTS[kind], env=env, cwd=cwd)
    except Timeout as exc:
        raise ContenderFailed(str(exc)) from exc


def _tail(m: Measured, limit: int = 1200) -> str:
    return m.stderr.decode(errors="replace").strip()[-limit:]


def run_floor(python: Path, plan: Path, kind: str = "floor") -> Outcome:
    """``python _checks_floor.py PLAN``: the statements of the plan, values as JSON."""
    m = _run([str(python), str(FLOOR_SCRIPT), str(plan)], kind)
    if m.returncode != 0:
        raise ContenderFailed(f"exit {m.returncode}: {_tail(m)}")
    out = json.loads(m.stdout)
    return Outcome(*_measured(m), out["values"], query_seconds=out["query_seconds"])


def run_deploywatch(script: Path, config: Path, *, keep_plan: bool = True) -> Outcome:
    """``deploywatch canary --config … --format json --now …`` with the console script, as users run it;
    with ``keep_plan`` false, without its kept plan (``DEPLOYWATCH_PLAN_CACHE=0``: validated and compiled
    afresh, as the first run after any change to the config is)."""
    env = None if keep_plan else {**os.environ, "DEPLOYWATCH_PLAN_CACHE": "0"}
    m = _run([str(script), "canary", "--config", str(config), "--format", "json", "--now", spec.NOW_ISO],
             "deploywatch", env=env, cwd=config.parent)
    try:
        doc = json.loads(m.stdout)
    except ValueError:
        doc = None
    if m.returncode not in (0, 1, 2, 3) or not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ContenderFailed(f"exit {m.returncode}; stdout starts {m.stdout[:300]!r}; stderr ends {_tail(m)!r}")
    values, statuses = peers.deploywatch_values(doc)
    return Outcome(*_measured(m), values, statuses)


def run_deploywatch_explain(script: Path, config: Path) -> Outcome:
    """``deploywatch canary --explain``: start-up, config and compilation without a query (a diagnostic)."""
    m = _run([str(script), "canary", "--config", str(config), "--explain", "--now", spec.NOW_ISO],
             "deploywatch", cwd=config.parent)
    if m.returncode != 0:
        raise ContenderFailed(f"exit {m.returncode}: {_tail(m)}")
    return Outcome(*_measured(m), {})


def run_soda(soda: Path, home: Path, scenario: spec.Scenario, config: Path, checks: Path) -> Outcome:
    """``soda scan`` with telemetry off (a private HOME whose ~/.soda/config.yml says so)."""
    results = checks.with_suffix(".results.json")
    results.unlink(missing_ok=True)
    cmd = [str(soda), "scan", "-d", scenario.name, "-c", str(config), "-v", f"NOW={spec.NOW.isoformat()}",
           "-srf", str(results), str(checks)]
    m = _run(cmd, "soda", env={**os.environ, "HOME": str(home)}, cwd=checks.parent)
    if m.returncode not in (0, 1, 2) or not results.is_file():
        raise ContenderFailed(f"soda scan exit {m.returncode}: {m.stdout.decode(errors='replace')[-1500:]}")
    doc = json.loads(results.read_text())
    values, statuses = peers.soda_values(scenario, doc)
    notes = [f"{len(doc.get('queries', []))} queries"]
    return Outcome(*_measured(m), values, statuses, notes=notes)


def run_gx(python: Path, scenario: spec.Scenario, plan_path: Path, plan: dict[str, Any]) -> Outcome:
    """``_checks_gx.py PLAN`` in the GX venv: an ephemeral context validating every asset."""
    m = _run([str(python), str(GX_SCRIPT), str(plan_path)], "gx")
    try:
        out = json.loads(m.stdout)
    except ValueError:
        out = {"error": f"exit {m.returncode}: {_tail(m)}"}
    if m.returncode != 0 or "error" in out:
        raise ContenderFailed(str(out.get("error") or f"exit {m.returncode}: {_tail(m)}"))
    values, statuses, errors = peers.gx_values(scenario, plan, out)
    return Outcome(*_measured(m), values, statuses, notes=errors)


def deploywatch_missing(script: Path) -> str | None:
    """None when ``deploywatch canary`` exists, else why not."""
    if not script.is_file():
        return f"{script} does not exist"
    try:
        m = run([str(script), "canary", "--help"], timeout=60)
    except Timeout as exc:
        return str(exc)
    if m.returncode == 0:
        return None
    lines = _tail(m).splitlines()
    return lines[-1] if lines else f"exit code {m.returncode}"
