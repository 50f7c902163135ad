"""``remediate``: measure, decide (:mod:`.decide`), then act through the guarded deploy or a rule's command.

A dry run (the default) measures and decides, asks the guarded deploy for its own dry run (preflight: the
guardrail that would stop a deploy), and writes nothing: no ledger entry, no state, no audit row, no alert.
With ``apply`` every decision is appended to the audit log (an ``acted`` row before acting, then ``succeeded``
or ``failed``), the guardrails' state is updated and every decision is routed to the alert sinks as a
``remediate`` finding of one run (with the deploys' own ``deploy`` findings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..core.errors import UsageError
from ..core.redact import mask
from ..deploy.engine import DeployRequest, deploy
from ..deploy.shell import run_streamed
from ..deploy.steps import Context, new_holder
from ..store.remediation import LOCK, AuditRecord
from .decide import Situation, after_outcome, after_rule_outcome, breaker_reason, decide, select_targets
from .lease import RunLease, abandoned_records
from .measure import drifted_targets, match_rules, recent_outcomes, unhealthy_services
from .report import Action, RemediationReport

__all__ = ["FLEET", "RemediateRequest", "remediate"]

FLEET = "fleet"


@dataclass(frozen=True)
class RemediateRequest:
    """What ``deploywatch remediate`` was asked: which services (or ``--all``), and whether to act."""

    services: tuple[str, ...] = ()
    all: bool = False
    apply: bool = False


@dataclass
class _Run:
    """The state a run changes, written with its audit rows."""

    context: Context
    now: datetime
    dry_run: bool
    states: dict[str, dict[str, Any]]
    lease: RunLease | None = None  # the run lock (``apply`` only)
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)

    def audit(self, *records: AuditRecord) -> None:
        if self.dry_run:
            return
        self.context.store.record_remediation(records, self.changed, self.now)
        self.changed = {}

    def record(self, kind: str, subject: str, decision: str, reason: str, **extra: Any) -> AuditRecord:
        if self.lease is not None:  # which run wrote it: a run whose lock lapsed is found by it
            extra["details"] = {**extra.get("details", {}), "run": self.lease.holder}
        return AuditRecord(at=self.now, kind=kind, subject=subject, decision=decision, reason=reason,
                           actor=self.context.by, dry_run=self.dry_run, **extra)

    def set_state(self, subject: str, state: dict[str, Any]) -> None:
        self.states[subject] = state
        self.changed[subject] = state


def remediate(context: Context, request: RemediateRequest, *, now: datetime) -> RemediationReport:
    """Measure, decide and (with ``apply``) act, under the run lock: a lease of ``context.lease`` seconds renewed
    while the run works (one remediation acts at a time; a dry run takes none; see :mod:`.lease`)."""
    if not request.apply:
        return _remediate(context, request, now=now)
    with RunLease(context.store, new_holder(), context.lease, context.clock) as lease:
        claim = lease.claim
        if claim.held_by is not None:
            lapses = f", its lock lapses at {claim.until:%Y-%m-%d %H:%M:%S} UTC unless renewed" if claim.until else ""
            return RemediationReport(now, False, refused=f"another remediation is running ({claim.held_by}{lapses}); "
                                     "try later", refused_all=True)
        if claim.lapsed is not None:
            context.store.record_remediation(abandoned_records(context.store, claim.lapsed, at=now, actor=context.by),
                                             {}, now)
        return _remediate(context, request, now=now, lease=lease)


def _remediate(context: Context, request: RemediateRequest, *, now: datetime,
               lease: RunLease | None = None) -> RemediationReport:
    loaded = context.workspace.loaded
    settings = loaded.config.remediate
    # only a service with a deploy command can be remediated; "every service" means every one of those
    configured = [name for name, service in loaded.config.services.items() if service.deploy]
    if request.services and request.all:
        raise UsageError("name services with --service or give --all, not both")
    context.workspace.select(list(request.services))  # an unknown name is a usage error
    undeployable = [name for name in request.services if name not in configured]
    if undeployable:  # a selector naming only what cannot be redeployed would select nothing, silently
        raise UsageError(f"--service {undeployable[0]}: services.{undeployable[0]} has no deploy command, so "
                         "remediate cannot redeploy it")
    states = context.store.remediation_states()
    states.pop(LOCK, None)
    run = _Run(context, now, not request.apply, states, lease)
    fleet = dict(run.states.get(FLEET, {}))
    drift = context.workspace.drift(now=now)
    report = RemediationReport(now, run.dry_run, fleet=fleet, enabled=settings.enabled)
    drifted = [t for t in drifted_targets(drift, settings.min_status) if t.service in configured]
    targets, refused = select_targets(drifted, configured=configured,
                                      names=request.services, explicit_all=request.all)
    rules = match_rules(settings.rules, context.store, now)
    if refused is not None:
        report.refused = refused
        report.refused_all = "every configured service" in refused
        if report.refused_all:  # nothing drifted is no decision to record
            run.audit(run.record("redeploy", FLEET, "refused", refused))
    # the breaker is decided on every run, with or without targets: a fleet too unhealthy to remediate says so
    from ..deploy.windows import open_window

    window = open_window(loaded.config.deploy.deny, loaded.config.schedule.timezone, now)
    unhealthy = unhealthy_services(drift, context.store)
    report.unhealthy = unhealthy
    service_states = {k.removeprefix("service:"): v for k, v in run.states.items() if k.startswith("service:")}
    rule_states = {k.removeprefix("rule:"): v for k, v in run.states.items() if k.startswith("rule:")}
    plan = decide(Situation(now, settings, fleet, service_states, targets, len(drift.services), unhealthy,
                            recent_outcomes(context.store, settings.max_failures),
                            window.describe() if window else None, rules, rule_states))
    if plan.trips is not None:
        _trip(run, report, plan.trips)
    for decision in plan.decisions:
        action = Action(decision)
        report.actions.append(action)
        if not decision.act:
            run.audit(run.record(decision.kind, decision.subject, "skipped", decision.stopped_because or "",
                                 guardrail=decision.guardrail, from_commit=decision.from_commit,
                                 to_commit=decision.to_commit))
            continue
        if run.lease is not None and run.lease.lost:
            _stop(run, action, "run_lock", "the run lock lapsed (it could not be renewed in time) and another run "
                                           "took it: nothing more acts in this run")
            continue
        tripped = run.states.get(FLEET, {}).get("breaker")
        if tripped:
            _stop(run, action, "breaker", f"the breaker tripped in this run: {tripped['reason']}")
            continue
        if decision.kind == "redeploy":
            _redeploy(run, action)
        else:
            _run_rule(run, action)
        if action.outcome == "failed" and not run.dry_run:
            reason = breaker_reason(settings, unhealthy=(), services_total=0,
                                    recent_outcomes=recent_outcomes(context.store, settings.max_failures))
            if reason is not None:
                _trip(run, report, reason)
    return report


def _trip(run: _Run, report: RemediationReport, reason: str) -> None:
    fleet = {**run.states.get(FLEET, {}), "breaker": {"reason": reason, "tripped_at": run.now.isoformat()}}
    report.trips = reason
    if run.dry_run:
        return
    run.set_state(FLEET, fleet)
    report.fleet = fleet
    run.audit(run.record("breaker", FLEET, "tripped", reason))


def _stop(run: _Run, action: Action, guardrail: str, reason: str) -> None:
    decision = action.decision
    action.guardrail, action.stopped_because = guardrail, reason
    run.audit(run.record(decision.kind, decision.subject, "skipped", reason, guardrail=guardrail,
                         from_commit=decision.from_commit, to_commit=decision.to_commit))


def _redeploy(run: _Run, action: Action) -> None:
    decision = action.decision
    request = DeployRequest(services=(decision.subject,), revision=decision.to_commit, yes=True,
                            dry_run=run.dry_run, reason=f"remediate: {decision.why}")
    if not run.dry_run:
        run.audit(run.record("redeploy", decision.subject, "acted", decision.why, from_commit=decision.from_commit,
                             to_commit=decision.to_commit))
    deployed = deploy(run.context, request, now=run.now)
    action.deploy = deployed
    if deployed.blocked:
        _stop(run, action, "preflight", "; ".join(deployed.blocked))
        return
    if run.dry_run:
        return
    (outcome,) = deployed.outcomes
    succeeded = outcome.status == "succeeded"
    action.outcome = "succeeded" if succeeded else "failed"
    action.detail = f"deploy {outcome.status}" + (f" at {outcome.step}: {outcome.reason}" if outcome.reason else "")
    subject = f"service:{decision.subject}"
    run.set_state(subject, after_outcome(run.states.get(subject, {}), decision, succeeded=succeeded, now=run.now))
    run.audit(run.record("redeploy", decision.subject, action.outcome, action.detail,
                         from_commit=decision.from_commit, to_commit=decision.to_commit,
                         details={"ledger_id": outcome.entry_id}))


def _run_rule(run: _Run, action: Action) -> None:
    decision = action.decision
    if run.dry_run:
        return
    assert decision.command is not None
    run.audit(run.record("rule", decision.subject, "acted", decision.why, details={"command": decision.command}))
    loaded = run.context.workspace.loaded
    ran = run_streamed(decision.command, cwd=loaded.base_dir, env={}, timeout=decision.timeout)
    action.outcome = "succeeded" if ran.ok else "failed"
    action.detail = (f"exited 0 after {ran.seconds:.1f}s" if ran.ok else f"{ran.why()} after {ran.seconds:.1f}s")
    action.output_tail = mask(ran.tail) if ran.tail else None
    subject = f"rule:{decision.subject}"
    # long past any backoff, and past a day's max_per_day: the evidence a success acted on is kept a week
    forget_after = max(timedelta(seconds=2 * run.context.workspace.loaded.config.remediate.max_backoff),
                       timedelta(days=7))
    run.set_state(subject, after_rule_outcome(run.states.get(subject, {}), decision, succeeded=ran.ok, now=run.now,
                                              forget_after=forget_after))
    run.audit(run.record("rule", decision.subject, action.outcome, action.detail,
                         details={"command": decision.command, "finding": decision.finding,
                                  "output_tail": action.output_tail}))

