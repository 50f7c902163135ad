"""A progressive rollout's steps: set the weight, soak, measure, decide; weight 0 when it fails.

The deploy (or ``rollout resume``) runs this under its deploy lock once the new revision is deployed with no
traffic and verified. Each step sets the new revision's weight with the ``traffic`` command, soaks ``interval``,
then measures every analysis until :func:`.rollout_core.decide` says advance, pause or fail. Before anything acts
the lock is confirmed: once an ``abort``, a forced rollback or a forced deploy took it over, this process stops
and writes nothing over theirs. A ``promote`` asked meanwhile is honoured before the next step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from ..config.rollout import rollout_values
from ..config.services import command_values, fill_command
from ..core.durations import format_age, format_timestamp
from ..core.errors import UsageError
from ..core.render import short
from ..core.status import Status
from ..core.text import plural
from .outcome import ServiceOutcome
from .rollout_baseline import StepSamples
from .rollout_core import Measurement, decide
from .rollout_measure import measure
from .shell import command_env, run_streamed
from .verify import Step

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..config.rollout import RolloutConfig
    from ..store.rollouts import RolloutRecord
    from .steps import Context, Lease

__all__ = ["ACTIVE_STATES", "OPEN_STATES", "RolloutEnd", "active_rollout", "check_rollout", "deployed_rollout",
           "end_rollout",
           "rollout_outcome", "rollout_plan", "run_rollout", "set_weight", "weight_zero"]

ACTIVE_STATES = ("started", "paused")  # ledger statuses of a rollout that runs or waits for a human
# …and of one whose process died mid-rollout (reaped when its lease ran out): its canary may still have traffic
OPEN_STATES = (*ACTIVE_STATES, "abandoned")


@dataclass
class RolloutEnd:
    """How the steps ended: ``succeeded`` (100%), ``promoted``, ``failed`` (weight set back to 0), ``paused``
    (inconclusive: the weight stays), or ``lost`` (the lock was taken over: nothing more was done)."""

    state: Literal["succeeded", "promoted", "failed", "paused", "lost"]
    reason: str
    steps: list[Step] = field(default_factory=list)


def check_rollout(loaded: LoadedConfig, service: str) -> None:
    """A UsageError naming the key when an analysis's ``checks`` or ``probes`` name nothing configured."""
    from ..checks.selection import matches
    from ..health.probes import probe_configs

    rollout = loaded.config.services[service].rollout
    if rollout is None:
        return
    probes = {p.name for p in probe_configs(loaded)}
    for number, analysis in enumerate(rollout.analysis):
        key = f"services.{service}.rollout.analysis[{number}]"
        for pattern in analysis.checks:
            if not any(matches(pattern, c) for c in loaded.config.checks):
                raise UsageError(f"{key}.checks: {pattern!r} matches no check name or phase in "
                                 f"{loaded.shown or loaded.path}")
        for name in analysis.probes:
            if name not in probes:
                raise UsageError(f"{key}.probes: no probe is named {name!r} (probes: {', '.join(probes) or 'none'})"
                                 f" in {loaded.shown or loaded.path}")


def rollout_plan(loaded: LoadedConfig, service: str, values: dict[str, str]) -> list[dict[str, str]]:
    """What a dry run says the rollout would do (nothing when the service has none)."""
    rollout = loaded.config.services[service].rollout
    if rollout is None:
        return []
    soak = format_age(rollout.interval) if rollout.interval else "0s"
    names = ", ".join(a.title + (" (shadow)" if a.shadow else "") for a in rollout.analysis) or "none"
    first = fill_command(rollout.traffic, rollout_values(values, weight=rollout.steps[0], step=1))
    return [{"step": "rollout", "detail": f"weights {', '.join(f'{w}%' for w in rollout.steps)}, each set by the "
                                          f"traffic command ({first}), soaked {soak} and judged by: {names}; "
                                          "failure: weight 0 and rollback; inconclusive: pause"}]


def _base(outcome: ServiceOutcome) -> dict[str, str]:
    return command_values(outcome.service, outcome.to_commit, outcome.from_commit, str(outcome.entry_id))


def set_weight(context: Context, rollout: RolloutConfig, outcome: ServiceOutcome, weight: int, index: int,
               tick: Callable[[], None]) -> Step:
    """Run the traffic command for ``weight``; a ``traffic`` step (critical when it did not exit 0)."""
    values = rollout_values(_base(outcome), weight=weight, step=index + 1)
    command = fill_command(rollout.traffic, values)
    service = outcome.service
    context.progress.begin(service, "traffic", command)
    run = run_streamed(command, cwd=context.workspace.repo.path, env=command_env(values),
                       timeout=float(rollout.traffic_timeout),
                       on_output=lambda chunk: context.progress.output(service, chunk), tick=tick)
    if run.ok:
        step = Step("traffic", Status.OK, f"weight {weight}%: exited 0 after {run.seconds:.1f}s", run.seconds,
                    {"rollout": {"weight": weight}})
    else:
        last = f": {run.tail.splitlines()[-1]}" if run.tail else ""
        step = Step("traffic", Status.CRITICAL, f"weight {weight}%: {run.why()} after {run.seconds:.1f}s{last}",
                    run.seconds, {"rollout": {"weight": weight}})
    context.progress.end(service, step)
    if run.ok:
        context.store.set_rollout_weight(outcome.entry_id or 0, context.clock(), weight)
    return step


def run_rollout(context: Context, lease: Lease, outcome: ServiceOutcome, *, start: int = 0,
                may_pause: bool = True) -> RolloutEnd:
    """Run the rollout's steps from ``start`` (see the module); without ``may_pause`` (a group member: a pause would
    leave the group split) an inconclusive step fails the rollout instead."""
    service, store = outcome.service, context.store
    loaded = context.workspace.loaded
    rollout = loaded.config.services[service].rollout
    assert rollout is not None and outcome.entry_id is not None
    entry_id = outcome.entry_id
    end = RolloutEnd("succeeded", f"{len(rollout.steps)} steps to 100%")
    for index in range(start, len(rollout.steps)):
        weight = rollout.steps[index]
        record = store.latest_rollout(service)
        if record is not None and record.entry.id == entry_id and record.request == "promote":
            return _promote(context, lease, rollout, outcome, index, record.request_reason or "", end)
        if not lease.confirm():
            return RolloutEnd("lost", "the lock was taken over", end.steps)
        traffic = set_weight(context, rollout, outcome, weight, index, lease.tick)
        end.steps.append(traffic)
        if not lease.confirm():  # taken over while the weight was being set: take back what this process gave
            end.steps.append(set_weight(context, rollout, outcome, 0, index, lambda: None))
            return RolloutEnd("lost", "the lock was taken over while the weight was set; set back to 0", end.steps)
        store.rollout_event(entry_id, context.clock(), {"event": "weight", "step": index + 1, "weight": weight,
                                                         "ok": not traffic.failed, "detail": traffic.detail},
                            step_index=index, weight=weight)
        if traffic.failed:
            return _fail(context, lease, rollout, outcome, end, f"step {index + 1} ({weight}%): {traffic.detail}",
                         index)
        since = context.clock()
        started = record.entry.started_at if record is not None and record.entry.id == entry_id else None
        step = StepSamples(store, started or outcome.started_at or since, since)
        decision_step, action = _analyse(context, lease, rollout, outcome, index, step)
        end.steps.append(decision_step)
        if lease.lost:
            return RolloutEnd("lost", "the lock was taken over during the analysis", end.steps)
        if action == "fail":
            return _fail(context, lease, rollout, outcome, end, decision_step.detail, index)
        if action == "pause" and not may_pause:
            why = f"{decision_step.detail}; a group member cannot pause (the group would be left split): it fails"
            end.steps[-1] = replace(decision_step, detail=why)
            return _fail(context, lease, rollout, outcome, end, why, index)
        if action == "pause":
            store.rollout_event(entry_id, context.clock(), {"event": "paused", "step": index + 1, "weight": weight,
                                                             "why": decision_step.detail})
            return RolloutEnd("paused", decision_step.detail, end.steps)
    return end


def _analyse(context: Context, lease: Lease, rollout: RolloutConfig, outcome: ServiceOutcome, index: int,
             samples: StepSamples) -> tuple[Step, str]:
    """Soak, then measure until the decision is not ``remeasure``: the step's ``rollout`` Step and the action."""
    service, weight = outcome.service, rollout.steps[index]
    started = time.monotonic()
    label = f"step {index + 1}/{len(rollout.steps)} ({weight}%)"
    soak = format_age(rollout.interval) if rollout.interval else "0s"
    context.progress.begin(service, "rollout", f"{label}: soak {soak}, then "
                                              f"{plural(len(rollout.analysis), 'analysis', 'analyses')}")
    if rollout.interval:
        context.progress.wait(f"rollout {label}: soaking", float(rollout.interval), lease.tick)
    if not rollout.analysis:
        step = Step("rollout", Status.WARNING, f"{label}: no analysis configured, nothing judged this step",
                    time.monotonic() - started, {"rollout": {"step": index + 1, "weight": weight, "rounds": 0}})
        context.progress.end(service, step)
        return step, "advance"
    limits = {a.title: a.consecutive_failures for a in rollout.analysis}
    failures: dict[str, int] = {}
    rounds = 0
    base, since = _base(outcome), samples.step_began
    values = rollout_values(base, weight=weight, step=index + 1, since=format_timestamp(since), target="canary",
                            revision=outcome.to_commit)
    baseline = rollout_values(base, weight=weight, step=index + 1, since=format_timestamp(since), target="baseline",
                              revision=outcome.from_commit or "")
    while True:
        rounds += 1
        measured: list[Measurement] = [
            measure(context.workspace.loaded, a, cwd=context.workspace.repo.path, values=values,
                    baseline_values=baseline, now=context.clock(), tick=lease.tick, step=samples)
            for a in rollout.analysis]
        decision = decide(measured, limits, failures)
        failures = decision.failures
        context.store.rollout_event(outcome.entry_id or 0, context.clock(), {
            "event": "analysis", "step": index + 1, "weight": weight, "round": rounds, "action": decision.action,
            "why": decision.why, "measurements": [m.as_json() for m in measured]})
        if decision.action != "remeasure" or lease.lost:
            break
        pause = min((a.interval if a.interval is not None else rollout.interval) for a in rollout.analysis)
        if pause:
            context.progress.wait(f"rollout {label}: measuring again", float(pause), lease.tick)
    status = {"advance": Status.OK, "pause": Status.UNKNOWN, "fail": Status.CRITICAL}.get(decision.action,
                                                                                         Status.CRITICAL)
    step = Step("rollout", status, f"{label}: {decision.action}: {decision.why}", time.monotonic() - started,
                {"rollout": {"step": index + 1, "weight": weight, "rounds": rounds, "action": decision.action,
                             "measurements": [m.as_json() for m in measured]}})
    context.progress.end(service, step)
    return step, decision.action


def _fail(context: Context, lease: Lease, rollout: RolloutConfig, outcome: ServiceOutcome, end: RolloutEnd,
          why: str, index: int) -> RolloutEnd:
    """Send every request back to the stable revision (weight 0), unless the lock was taken over meanwhile."""
    if not lease.confirm():
        return RolloutEnd("lost", "the lock was taken over", end.steps)
    back = set_weight(context, rollout, outcome, 0, index, lease.tick)
    end.steps.append(back)
    context.store.rollout_event(outcome.entry_id or 0, context.clock(), {
        "event": "failed", "step": index + 1, "why": why, "weight": 0 if not back.failed else None,
        "detail": back.detail})
    return RolloutEnd("failed", why if not back.failed else f"{why}; setting weight 0 failed: {back.detail}",
                      end.steps)


def _promote(context: Context, lease: Lease, rollout: RolloutConfig, outcome: ServiceOutcome, index: int,
             reason: str, end: RolloutEnd) -> RolloutEnd:
    """Skip the remaining steps: weight 100 now, recorded with the reason it was given."""
    skipped = ", ".join(f"{w}%" for w in rollout.steps[index:])
    if not lease.confirm():
        return RolloutEnd("lost", "the lock was taken over", end.steps)
    step = set_weight(context, rollout, outcome, 100, len(rollout.steps) - 1, lease.tick)
    end.steps.append(step)
    why = f"promoted (skipped {skipped}): {reason}"
    context.store.rollout_event(outcome.entry_id or 0, context.clock(), {
        "event": "promoted", "skipped": skipped, "reason": reason, "ok": not step.failed}, clear_request=True,
        step_index=len(rollout.steps) - 1, weight=100)
    if step.failed:
        return _fail(context, lease, rollout, outcome, end, f"promotion: {step.detail}", len(rollout.steps) - 1)
    return RolloutEnd("promoted", why, end.steps)


def active_rollout(context: Context, service: str) -> RolloutRecord | None:
    """The service's rollout that runs or is paused, or whose process died with traffic on the canary, if any."""
    record = context.store.latest_rollout(service)
    if record is None or record.entry.status not in OPEN_STATES:
        return None
    return None if record.entry.status == "abandoned" and record.weight == 0 else record


def rollout_outcome(context: Context, record: RolloutRecord) -> ServiceOutcome:
    """The rollout's deploy as an outcome that goes on (resume, promote) or whose weight is set back to 0."""
    entry = record.entry
    config = context.workspace.loaded.config.services[entry.service]
    return ServiceOutcome(entry.service, "deploy", entry.to_commit, entry.from_commit, status="started",
                          entry_id=entry.id, by=context.by, runbook=config.runbook, started_at=context.clock(),
                          relevant_commits=entry.relevant_commits)


def deployed_rollout(context: Context, outcome: ServiceOutcome) -> RolloutRecord | None:
    """The rollout that ``outcome``'s deploy ran (a group member's, before the group rolls it back), if any."""
    if context.workspace.loaded.config.services[outcome.service].rollout is None or outcome.entry_id is None:
        return None
    record = context.store.latest_rollout(outcome.service)
    return record if record is not None and record.entry.id == outcome.entry_id else None


def weight_zero(context: Context, record: RolloutRecord) -> Callable[[Lease], Step]:
    """What a rollback runs first once it holds the lock: the traffic command with weight 0."""
    rollout = context.workspace.loaded.config.services[record.entry.service].rollout
    assert rollout is not None

    def first(lease: Lease) -> Step:
        return set_weight(context, rollout, rollout_outcome(context, record), 0, max(0, record.step_index), lease.tick)

    return first


def end_rollout(context: Context, record: RolloutRecord, back: ServiceOutcome, *, what: str,
                reason: str | None) -> str:
    """Make the rollout's ledger entry final after a rollback took its lock over (``rolled_back``, or ``failed``
    when the rollback or the weight 0 failed); why, as recorded."""
    weight_failed = next((s for s in back.steps if s.name == "traffic" and s.failed), None)
    ok = back.status == "succeeded" and weight_failed is None
    why = f"rollout {what} by {context.by}" + (f": {reason}" if reason else "")
    if back.status == "succeeded":
        why += f"; rolled back to {short(back.to_commit)} (entry #{back.entry_id})"
    else:
        why += f"; rollback failed: {back.reason}"
    if weight_failed is not None:
        why += f"; setting weight 0 failed: {weight_failed.detail}"
    now = context.clock()
    context.store.finish_deployment(record.entry, status="rolled_back" if ok else "failed", now=now,
                                    holder=record.holder, step="rollout", reason=why,
                                    expect=("failed", *OPEN_STATES), release=False)
    context.store.rollout_event(record.entry.id, now, {"event": what, "by": context.by, "reason": reason,
                                                        "rollback": back.status, "rollback_entry": back.entry_id,
                                                        "weight": None if weight_failed else 0})
    return why
