"""The demo's stored past: three weeks of drift runs and deploy ledger entries, written in one transaction.

A drift run every two hours (on the even hours of the schedule's time zone, as ``[schedule] drift`` says) for
:data:`~deploywatch.demo.ledger.LEDGER_DAYS` days, each what ``deploywatch drift`` would have stored then: the tip
of ``main`` at that moment, each service on the commit its last succeeded ledger entry shipped, and the drift
engine's own judgement (:func:`~deploywatch.drift.engine.judge`). The figures are computed from the planned
history (no git call per run, so the demo stays fast); tests/demo/past_test.py checks sampled runs against
:func:`~deploywatch.drift.engine.measure_drift` on the repository.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from random import Random
from zoneinfo import ZoneInfo

from ..core.status import Status
from ..drift.engine import (
    DriftReport,
    RelevantCommit,
    ServiceDrift,
    ServiceSpec,
    State,
    fill_deploy_command,
    judge,
    missing_reason,
)
from ..store.records import FindingRecord, RunRecord, finding_records
from .ledger import LEDGER_DAYS, Ancestry, PlannedDeploy, bits, ledger_records, plan_ledger, service_masks
from .scenario import SEED, Plan

__all__ = ["record_past", "run_times"]

MAX_LISTED = 20  # the engine's DEFAULT_MAX_COMMITS


def run_times(now: dt.datetime, timezone: str, days: int = LEDGER_DAYS) -> list[int]:
    """The drift schedule's moments (every even hour, minute 0, in ``timezone``) in the ``days`` before ``now``."""
    zone = ZoneInfo(timezone)
    end = int(now.timestamp())
    moment = end - end % 3600
    times = []
    while moment > end - days * 86400:
        local = dt.datetime.fromtimestamp(moment, zone)
        if local.hour % 2 == 0 and local.minute == 0 and moment < end:
            times.append(moment)
        moment -= 3600
    return times[::-1]


def record_past(config_path: Path, the_plan: Plan, marks: dict[int, str], now: dt.datetime, vanished: str) -> None:
    """Store the demo's ledger and its past drift runs (oldest first) in the config's store."""
    from ..checks.runner import open_store
    from ..checks.validate import load_config

    loaded = load_config(config_path)
    ancestry = Ancestry(the_plan.history, the_plan.tip)
    entries = plan_ledger(the_plan, ancestry, int(now.timestamp()))
    services = loaded.config.services
    specs = [ServiceSpec(n, loaded.service_paths(n), loaded.thresholds(n), services[n].group, services[n].deploy)
             for n in services]
    runs = past_runs(the_plan, ancestry, entries, specs, marks, vanished,
                     run_times(now, loaded.config.schedule.timezone), loaded.config.repo.branch)
    with open_store(loaded) as store:
        store.import_history(runs, ledger_records(entries, marks, vanished, marks[the_plan.broken]))


def past_runs(the_plan: Plan, ancestry: Ancestry, entries: list[PlannedDeploy], specs: list[ServiceSpec],
              marks: dict[int, str], vanished: str, times: list[int],
              branch: str) -> list[tuple[RunRecord, list[FindingRecord]]]:
    """One stored drift run (with a finding per service) for each of ``times``."""
    rng = Random(f"{SEED}-past-runs")
    masks = {s.name: service_masks(the_plan.history, s.paths) for s in specs}
    succeeded = {s.name: sorted((e.finished, e.to_mark) for e in entries
                                if e.service == s.name and e.status == "succeeded") for s in specs}
    result = []
    for when in times:
        tip = ancestry.tip_at(when)
        drifts = []
        for spec in specs:
            deployed = [to for finished, to in succeeded[spec.name] if finished <= when]
            assert deployed, f"{spec.name} has no deploy before {when}"
            drifts.append(fill_deploy_command(
                _drift(the_plan, ancestry, spec, deployed[-1], tip, when, masks[spec.name], marks, vanished, branch),
                marks[tip]))
        at = dt.datetime.fromtimestamp(when, dt.UTC)
        report = DriftReport(branch, marks[tip], at, tuple(drifts))
        status = report.status
        run = RunRecord(id=uuid.UUID(int=rng.getrandbits(128), version=4).hex, command="drift", started_at=at,
                        finished_at=at + dt.timedelta(milliseconds=rng.randint(300, 1500)), run_date=None,
                        status=str(status), exit_code=status.exit_code, score=None,
                        details={"branch": branch, "tip": marks[tip], "services": len(drifts)})
        result.append((run, finding_records(run.id, [d.finding(marks[tip]) for d in drifts])))
    return result


def _drift(the_plan: Plan, ancestry: Ancestry, spec: ServiceSpec, deployed: int | None, tip: int, when: int,
           masks: tuple[int, int], marks: dict[int, str], vanished: str, branch: str) -> ServiceDrift:
    """What the engine says of ``spec`` running ``deployed`` (None: the vanished commit) when ``tip`` is main's tip."""
    source = f"file deployed/{spec.name}.sha"
    if deployed is None:
        return ServiceDrift(spec.name, spec.group, Status.UNKNOWN, State.MISSING, missing_reason(vanished, False),
                            source, reported=vanished, deploy=spec.deploy)
    behind = ancestry.between(deployed, tip)
    order = ancestry.topo_order(tip)
    relevant = sorted(bits(behind & masks[0]), key=order.__getitem__)  # the order the engine's walk lists them
    oldest = min((ancestry.on_branch[m] for m in relevant), default=None)
    age = max(0, when - oldest) if oldest is not None else None
    state = State.CURRENT if deployed == tip else State.BEHIND
    status, reason = judge(state, len(relevant), behind.bit_count(), 0, age, spec.thresholds, branch)
    listed = []
    for mark in relevant[:MAX_LISTED]:
        commit = the_plan.history.get(mark)
        listed.append(RelevantCommit(marks[mark], commit.subject, commit.author.name, ancestry.on_branch[mark],
                                     tuple(c.path for c in commit.changes if spec.paths.owns(c.path))))
    return ServiceDrift(spec.name, spec.group, status, state, reason, source, marks[deployed], marks[deployed],
                        behind.bit_count(), len(relevant), (behind & masks[1]).bit_count(), 0, oldest, age,
                        tuple(listed), spec.deploy)
