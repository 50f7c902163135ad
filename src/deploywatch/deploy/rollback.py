"""``rollback``: return a service to an earlier commit as its own ledger entry, verified, with no soak or preflight.

The commit is the one that ran before the current one (per the ledger) unless ``--to`` names one; nothing but
another rollback's lock can stop it from running.

A paused deploy's lock is always taken over (the paused entry is ended, saying by which rollback); a deploy still
running is taken over only with ``--force``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..config.services import command_values
from ..core.errors import UsageError
from ..drift import resolve_readings
from ..store.deployments import DeploymentRecord
from .outcome import DeployReport, ServiceOutcome
from .rollout import active_rollout, end_rollout, weight_zero
from .steps import Context, Lease, new_holder, run_and_verify
from .verify import Step

__all__ = ["roll_back_failed", "roll_back_to", "rollback", "rollback_target"]


def rollback_target(context: Context, service: str, current: str | None) -> str:
    """What ran before ``current``: the ``from`` of the newest entry that moved the service to ``current`` (a
    deploy that succeeded, failed or is paused), else the newest succeeded entry's commit that is not ``current``;
    a UsageError when the ledger knows neither."""
    entries = context.store.deployments([service], limit=1000)
    for entry in entries:
        if current is not None and entry.to_commit == current and entry.from_commit not in (None, current):
            assert entry.from_commit is not None
            return entry.from_commit
    for entry in entries:
        if entry.status == "succeeded" and entry.to_commit != current:
            return entry.to_commit
    raise UsageError(f"no earlier succeeded deploy of {service} in the ledger to return to; name one with --to REV")


def rollback(context: Context, service: str, *, to: str | None, reason: str | None, force: bool,
             now: datetime) -> DeployReport:
    """Roll ``service`` back (see the module); the report has one outcome, or says why it could not start."""
    workspace = context.workspace
    workspace.select([service])
    config = workspace.loaded.config.services[service]
    if config.deploy is None:
        raise UsageError(f"services.{service}.deploy is not set: no command can roll {service} back")
    found = resolve_readings(workspace.repo, workspace.read_sources([service]))[service]
    current = found.commit
    if to is not None:
        target = workspace.repo.resolve(to)
        if target is None:
            raise UsageError(f"--to {to!r} does not name a commit in {workspace.repo.path}; run git fetch?")
    elif current is None:
        raise UsageError(f"the commit {service} runs cannot be read ({found.reason or 'no reading'}), so the one "
                         "before it is not known; name the commit to return to with --to REV")
    else:
        target = rollback_target(context, service, current)
    report = DeployReport(now, to or "previous", target, [], forced=reason if force else None)
    paused = any(e.status == "paused" for e in context.store.deployments([service], limit=50))
    for lock in context.store.deploy_locks([service]):
        if lock.live(context.clock()) and not (paused or force):
            report.blocked.append(f"{service} is being deployed by {lock.holder} since "
                                  f"{lock.acquired_at:%Y-%m-%d %H:%M} UTC; take it over with --force")
    if report.blocked:
        report.outcomes.append(ServiceOutcome(service, "rollback", target, current, status="blocked",
                                              by=context.by, runbook=config.runbook))
        return report
    active = active_rollout(context, service)
    first = weight_zero(context, active) if active is not None else None
    outcome = roll_back_to(context, service, target, current=current, reason=reason, take_over=True, first=first)
    report.outcomes.append(outcome)
    if active is not None:
        end_rollout(context, active, outcome, what="rolled back", reason=reason)
    return report


def roll_back_to(context: Context, service: str, target: str | None, *, current: str | None,
                 reason: str | None, take_over: bool = False,
                 first: Callable[[Lease], Step] | None = None) -> ServiceOutcome:
    """One rollback entry: lock, ``started``, ``first`` (a rollout's weight 0) once the lock is held, the rollback
    command, verify, ``succeeded`` or ``failed`` (also when ``first`` failed: someone must look)."""
    store, workspace = context.store, context.workspace
    config = workspace.loaded.config.services[service]
    outcome = ServiceOutcome(service, "rollback", target or "", current, by=context.by, runbook=config.runbook,
                             reason=reason)
    if not target:
        outcome.status, outcome.step = "failed", "rollback"
        outcome.reason = "no earlier commit is known to return to"
        return outcome
    holder = new_holder()
    record = DeploymentRecord(service=service, to_commit=target, status="started", how="rollback", by=context.by,
                              started_at=context.clock(), from_commit=current, reason=reason)
    begun = store.begin_deployment(record, holder=holder, lease=context.lease, now=context.clock(),
                                   take_over=take_over)
    if begun.entry is None:
        assert begun.held_by is not None
        outcome.status, outcome.step = "blocked", "lock"
        outcome.reason = f"locked by {begun.held_by.holder}"
        return outcome
    entry = begun.entry
    outcome.entry_id, outcome.started_at, outcome.status = entry.id, entry.started_at, "started"
    template = config.rollback or config.deploy
    assert template is not None
    values = command_values(service, target, current, str(entry.id))
    lease = Lease(context, service, holder)
    before = [first(lease)] if first is not None else []
    steps, tail = run_and_verify(context, lease, step="rollback", template=template, values=values,
                                 timeout=float(config.deploy_timeout), expected=target)
    steps = before + steps
    outcome.steps, outcome.output_tail, outcome.finished_at = steps, tail, context.clock()
    bad = next((s for s in steps if s.failed), None)
    if bad is None:
        outcome.status = "succeeded"
        store.finish_deployment(entry, status="succeeded", now=outcome.finished_at, holder=holder, output_tail=tail)
    else:
        outcome.status, outcome.step = "failed", bad.name
        outcome.reason = f"{bad.detail}" + (f" (rollback: {reason})" if reason else "")
        store.finish_deployment(entry, status="failed", now=outcome.finished_at, holder=holder, step=bad.name,
                                reason=outcome.reason, output_tail=tail)
    if lease.lost:
        outcome.reason = (outcome.reason or "") + f"; the lock of {service} was taken over meanwhile"
    return outcome


def roll_back_failed(context: Context, outcome: ServiceOutcome, lease: Lease, holder: str) -> ServiceOutcome:
    """Return the service to the commit that ran before, under the deploy's own lock, and verify it."""
    name = outcome.service
    config = context.workspace.loaded.config.services[name]
    back = ServiceOutcome(name, "rollback", outcome.from_commit or "", outcome.to_commit, by=context.by,
                          started_at=context.clock())
    if not outcome.from_commit:
        back.status, back.step, back.reason = "failed", "rollback", "no earlier commit is known to return to"
        return back
    template = config.rollback or config.deploy
    assert template is not None
    steps, tail = run_and_verify(context, lease, step="rollback", template=template,
                                 values=command_values(name, outcome.from_commit, outcome.to_commit,
                                                str(outcome.entry_id)),
                                 timeout=float(config.deploy_timeout), expected=outcome.from_commit)
    back.steps, back.output_tail, back.finished_at = steps, tail, context.clock()
    bad = next((s for s in steps if s.failed), None)
    back.status = "failed" if bad else "succeeded"
    if bad:
        back.step, back.reason = bad.name, bad.detail
    return back
