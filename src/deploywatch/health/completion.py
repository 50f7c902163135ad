"""Phase completion: processors report a phase finished for a date; the last one triggers ``on_complete``.

The phase is complete when every expected processor has reported, and its ``on_complete`` action then runs exactly once.

The completion records alone do not say whether the phase's data exists: a processor that forgot to report
looks like a failure, one that reports without writing looks like success. :func:`phase_statuses` reconciles
the records with the freshness of the phase's table, and is never ok without both.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..config.health import ACTION_TEMPLATE
from ..core.durations import format_age
from ..core.errors import DeploywatchError, UsageError
from ..core.findings import Finding
from ..core.procs import run_shell, signal_name
from ..core.redact import clip, mask
from ..core.status import Status

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..config.health import PhaseConfig
    from ..store import Store

__all__ = ["PhaseStatus", "Recorded", "default_run_date", "phase_statuses", "record_completion", "render_action",
           "run_action"]

_DETAIL_CHARS = 500


def default_run_date(loaded: LoadedConfig, now: datetime) -> date:
    """Today in the ``[warehouse] timezone`` (the date ``--date`` defaults to)."""
    return now.astimezone(ZoneInfo(loaded.config.warehouse.timezone)).date()


def _phase(loaded: LoadedConfig, name: str) -> PhaseConfig:
    phases = loaded.config.phases
    if name not in phases:
        known = ", ".join(phases) if phases else "none configured ([phases.NAME])"
        raise UsageError(f"unknown phase {name!r}; phases: {known}")
    return phases[name]


# ---------------------------------------------------------------- reporting


@dataclass(frozen=True)
class Recorded:
    """The outcome of one report."""

    phase: str
    processor: str
    run_date: date
    duplicate: bool  # the processor had already reported this phase and date
    complete: bool  # every expected processor has now reported
    recorded: int
    expected: int
    triggered: bool  # this report completed the phase and on_complete fired (exactly once ever per phase and date)
    trigger_outcome: str | None  # "ok", "failed: <reason>", "queued" (the daemon runs it later), None: nothing ran

    def as_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {"phase": self.phase, "processor": self.processor, "date": self.run_date.isoformat(),
                "duplicate": self.duplicate, "complete": self.complete, "recorded": self.recorded,
                "expected": self.expected, "triggered": self.triggered, "trigger_outcome": self.trigger_outcome}


def record_completion(loaded: LoadedConfig, store: Store, phase: str, processor: str, run_date: date, *,
                      source: str = "cli", now: datetime,
                      defer: Callable[[Callable[[], object]], None] | None = None) -> Recorded:
    """Record that ``processor`` finished ``phase`` for ``run_date``; run ``on_complete`` if this report
    completed the phase and no report before it did (across processes: see :meth:`Store.record_completion`).

    ``defer``: hand the action to it instead of running it here (the daemon queues it off the request path); the
    outcome is then ``"queued"`` and the action records its own outcome when it ends.
    Raises :class:`UsageError` for an unknown phase or processor. A failing action is recorded, not raised.
    """
    config = _phase(loaded, phase)
    if processor not in config.processors:
        raise UsageError(f"unknown processor {processor!r} for phase {phase!r}; processors: "
                         f"{', '.join(config.processors)}")
    action = render_action(config.on_complete, phase, run_date) if config.on_complete else None
    duplicate, recorded, fire = store.record_completion(
        phase, processor, run_date, expected=config.processors, source=source, now=now,
        action=mask(action) if action is not None else None)
    expected = len(config.processors)
    outcome: str | None = None
    if fire and action is not None:
        run = partial(_run_trigger, loaded, store, config, phase, run_date, action, now, time.monotonic())
        if defer is not None:
            defer(run)
            outcome = "queued"
        else:
            outcome = run()
    return Recorded(phase, processor, run_date, duplicate, recorded >= expected, recorded, expected, fire, outcome)


def _run_trigger(loaded: LoadedConfig, store: Store, config: PhaseConfig, phase: str, run_date: date, action: str,
                 fired: datetime, fired_clock: float) -> str:
    """Run a fired ``on_complete`` and record its outcome on the trigger row; return ``"ok"`` or ``"failed: …"``.
    (``fired_clock``: ``time.monotonic()`` when it fired, so a queued action's finish time counts the wait.)"""
    try:
        ok, detail = run_action(loaded, config, phase, run_date, action)
    except Exception as exc:  # the trigger row must get an outcome: it never fires again
        ok, detail = False, _clip(f"internal error: {type(exc).__name__}: {exc}")
    finished = fired + timedelta(seconds=time.monotonic() - fired_clock)
    store.finish_trigger(phase, run_date, "ok" if ok else "failed", detail, finished)
    return "ok" if ok else f"failed: {detail}"


def render_action(text: str, phase: str, run_date: date) -> str:
    """``text`` with ``{{ date }}`` (also ``{{ run_date }}``, YYYY-MM-DD) and ``{{ phase }}`` replaced (the config
    allows no other name)."""
    values = {"date": run_date.isoformat(), "run_date": run_date.isoformat(), "phase": phase}
    return ACTION_TEMPLATE.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def run_action(loaded: LoadedConfig, config: PhaseConfig, phase: str, run_date: date, action: str) -> tuple[bool, str]:
    """Run a rendered ``on_complete``: POST to an http(s) URL, else a shell command in the config's directory.
    Returns (ok, a display-safe detail); never raises for the action's own failures."""
    timeout = float(config.on_complete_timeout)
    if re.match(r"(?i)https?://", action.strip()):
        return _post(action.strip(), timeout, phase, run_date, config.processors)
    return _command(loaded, action, timeout, phase, run_date)


def _post(url: str, timeout: float, phase: str, run_date: date, processors: Sequence[str]) -> tuple[bool, str]:
    from ..notify.http import SendFailed, new_client, request
    from .probes import display_url

    shown = display_url(url)
    body = {"phase": phase, "date": run_date.isoformat(), "processors": list(processors)}
    try:
        with new_client() as client:
            response = request(client, "POST", url, timeout=timeout, json=body)
    except SendFailed as exc:
        return False, _clip(f"POST {shown}: {exc}")
    if 200 <= response.status_code < 300:
        return True, f"POST {shown}: HTTP {response.status_code}"
    return False, f"POST {shown}: HTTP {response.status_code}"


def _command(loaded: LoadedConfig, command: str, timeout: float, phase: str, run_date: date) -> tuple[bool, str]:
    from .probes import plugin_text

    env = {"DEPLOYWATCH_PHASE": phase, "DEPLOYWATCH_DATE": run_date.isoformat()}
    outcome = run_shell(command, timeout=timeout, cwd=loaded.base_dir, env=env)
    code = outcome.returncode
    if code is None:  # it did not start, or ran past the timeout
        return False, outcome.problem or "did not run"
    if code == 0:
        said = plugin_text(outcome.stdout)
        return True, _clip(f"exit 0: {said}" if said else "exit 0")
    said = outcome.stderr_tail() or plugin_text(outcome.stdout)
    why = f"killed by {signal_name(-code)}" if code < 0 else f"exit {code}"
    return False, _clip(f"{why}: {said}" if said else why)


def _clip(text: str) -> str:
    return clip(text, _DETAIL_CHARS)


# ---------------------------------------------------------------- reconciling with the data


@dataclass(frozen=True)
class PhaseStatus:
    """One phase on one date: who reported, how fresh its data is, and what that adds up to."""

    phase: str
    run_date: date
    expected: tuple[str, ...]
    recorded: tuple[str, ...]
    missing: tuple[str, ...]
    fresh: bool | None  # None: no freshness configured, or it could not be measured
    age_seconds: float | None
    freshness_error: str | None
    within_seconds: int | None
    status: Status
    summary: str
    weight: float
    trigger: dict[str, Any] | None  # the phase_triggers row as JSON, if on_complete fired

    @property
    def complete(self) -> bool:
        """Every expected processor reported."""
        return not self.missing

    def as_json(self) -> dict[str, Any]:
        """The ``phases[]`` entry of ``deploywatch.phases/v1``."""
        return {"phase": self.phase, "date": self.run_date.isoformat(), "expected": list(self.expected),
                "recorded": list(self.recorded), "missing": list(self.missing), "complete": self.complete,
                "fresh": self.fresh,
                "age_seconds": None if self.age_seconds is None else round(self.age_seconds, 3),
                "within_seconds": self.within_seconds, "freshness_error": self.freshness_error,
                "status": str(self.status), "summary": self.summary, "weight": self.weight, "trigger": self.trigger}

    def finding(self) -> Finding:
        """This phase as a finding (kind ``completion``)."""
        return Finding("completion", self.phase, self.status, f"{self.phase} {self.status}: {self.summary}",
                       self.as_json(), {"phase": self.phase})


def phase_statuses(loaded: LoadedConfig, store: Store, run_date: date, *, now: datetime) -> list[PhaseStatus]:
    """Every configured phase on ``run_date``, reconciled with the freshness of its table at ``now``."""
    phases = loaded.config.phases
    if not phases:
        return []
    reports: dict[str, set[str]] = {}
    for row in store.completions(run_date):
        reports.setdefault(row.phase, set()).add(row.processor)
    triggers = {t.phase: t.as_json() for t in store.phase_triggers(run_date)}
    ages = _freshness(loaded, run_date, now)
    statuses = []
    for name, config in phases.items():
        done = reports.get(name, set())
        recorded = tuple(p for p in config.processors if p in done)
        missing = tuple(p for p in config.processors if p not in done)
        age, error = ages.get(name, (None, None))
        within = config.freshness.within if config.freshness is not None else None
        status, summary = reconcile(len(recorded), len(config.processors), missing, age, error, within)
        trigger = triggers.get(name)
        if trigger is not None and trigger["outcome"] == "failed":
            summary += f"; on_complete failed: {trigger['detail']}"
            if status.severity < Status.WARNING.severity:
                status = Status.WARNING
        elif trigger is not None and trigger["outcome"] is None:
            summary += f"; on_complete fired at {trigger['fired_at']} and has not finished"
        fresh = None if age is None or within is None else age <= within
        statuses.append(PhaseStatus(name, run_date, tuple(config.processors), recorded, missing, fresh, age, error,
                                    within, status, summary, config.weight, trigger))
    return statuses


def reconcile(recorded: int, expected: int, missing: Sequence[str], age: float | None, error: str | None,
              within: int | None) -> tuple[Status, str]:
    """The status and summary of a phase with ``recorded`` of ``expected`` reports and data ``age`` seconds old
    (``error`` when the age could not be measured; ``within`` None when no freshness is configured)."""
    counted = f"{recorded}/{expected}"
    gone = ", ".join(missing)
    complete = recorded >= expected and not missing
    if within is None:  # nothing to reconcile with: the records alone
        if complete:
            return Status.OK, f"{counted} processors reported"
        return Status.CRITICAL, f"{counted} processors reported; missing: {gone}"
    if age is None:  # freshness is configured but could not be measured: no evidence the data exists
        why = error or "no value"
        if complete:
            return Status.UNKNOWN, f"{counted} processors reported but freshness could not be measured: {why}"
        return Status.CRITICAL, f"{counted} recorded (missing: {gone}) and freshness could not be measured: {why}"
    old, limit = format_age(age), format_age(within)
    if age <= within:
        if complete:
            return Status.OK, f"{counted} processors reported; data fresh ({old} old)"
        return Status.WARNING, f"tracking gap: {counted} recorded but data is fresh ({old} old); missing: {gone}"
    if complete:
        return Status.CRITICAL, f"{counted} reported but data is stale: {old} old (limit {limit})"
    return Status.CRITICAL, f"{counted} recorded (missing: {gone}) and data is stale: {old} old (limit {limit})"


def _freshness(loaded: LoadedConfig, run_date: date, now: datetime) -> dict[str, tuple[float | None, str | None]]:
    """Per phase with ``freshness``: (age in seconds, None) or (None, why it could not be measured)."""
    from ..checks.runner import compile_checks, run_checks
    from ..config.checks import CheckConfig

    found: dict[str, tuple[float | None, str | None]] = {}
    checks: dict[str, tuple[str, CheckConfig]] = {}
    for name, config in loaded.config.phases.items():
        if config.freshness is None:
            continue
        spec = config.freshness
        try:
            check = CheckConfig(name=f"{name}.freshness", table=spec.table, metric=f"freshness({spec.column})")
            compile_checks(loaded, [check], now=now, run_date=run_date)  # a bad table or column fails this phase only
        except (DeploywatchError, ValueError) as exc:
            found[name] = (None, _clip(f"cannot measure freshness of {spec.table}.{spec.column}: {exc}"))
            continue
        checks[check.name] = (name, check)
    if not checks:
        return found
    try:
        report = run_checks(loaded, [c for _, c in checks.values()], now=now, run_date=run_date, record=False)
    except DeploywatchError as exc:
        for name, _ in checks.values():
            found[name] = (None, _clip(str(exc)))
        return found
    for result in report.results:
        if result.name not in checks:
            continue
        name = checks[result.name][0]
        if result.value is None:
            found[name] = (None, _clip(result.reason or "no value"))
        else:
            found[name] = (float(result.value), None)
    for name, _ in checks.values():
        found.setdefault(name, (None, "the warehouse returned no result"))
    return found
