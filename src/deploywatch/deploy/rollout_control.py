"""``deploywatch rollout status|resume|abort|promote``: a rollout's state, and the ways a person steers it.

``resume`` takes a paused rollout's lock over and continues at the step it paused on. ``promote`` skips the
remaining steps (weight 100), recorded with its reason: a paused rollout is promoted here, a running one is asked
to promote before its next step. ``abort`` works whatever the analysis is doing: it takes the lock over, sets the
weight to 0, rolls back to the commit that ran before, ends the ledger entry and releases the lock, so nothing is
left to clean up by hand. A ``deploywatch rollback`` of a service in a rollout does the same (weight 0 first).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..core.durations import format_timestamp
from ..core.errors import UsageError
from ..core.render import short
from ..store.rollouts import RolloutRecord
from .ledger import lock_json
from .outcome import DeployReport, ServiceOutcome
from .rollback import roll_back_failed, roll_back_to
from .rollout import OPEN_STATES, active_rollout, end_rollout, rollout_outcome, run_rollout, weight_zero
from .steps import Context, Lease, new_holder
from .verify import plan_post_deploy, run_post_deploy

if TYPE_CHECKING:
    from ..store.database import Store

__all__ = ["ROLLOUT_SCHEMA", "abort", "promote", "resume", "rollout_document", "rollout_status"]

ROLLOUT_SCHEMA = "deploywatch.rollout/v1"



def _configured(context: Context, service: str) -> None:
    context.workspace.select([service])
    if context.workspace.loaded.config.services[service].rollout is None:
        raise UsageError(f"services.{service}.rollout is not set: {service} deploys without a rollout")


def abort(context: Context, service: str, *, reason: str | None, now: datetime) -> DeployReport:
    """Abort the service's rollout (see the module); a UsageError when none runs or is paused."""
    _configured(context, service)
    record = active_rollout(context, service)
    if record is None:
        raise UsageError(f"no rollout of {service} is running or paused; see deploywatch rollout status {service}")
    if record.entry.status == "abandoned":
        reason = f"{reason}; its process had died" if reason else "its process had died"
    entry = record.entry
    report = DeployReport(now, "abort", entry.from_commit or "", [], forced=reason)
    if entry.from_commit is None:
        report.outcomes.append(_abort_in_place(context, record, reason))
        return report
    back = roll_back_to(context, service, entry.from_commit, current=entry.to_commit,
                        reason=f"rollout #{entry.id} aborted" + (f": {reason}" if reason else ""), take_over=True,
                        first=weight_zero(context, record))
    why = end_rollout(context, record, back, what="aborted", reason=reason)
    if back.status == "succeeded" and "weight 0 failed" in why:
        back.status, back.reason = "failed", why
    report.outcomes.append(back)
    return report


def _abort_in_place(context: Context, record: RolloutRecord, reason: str | None) -> ServiceOutcome:
    """No earlier commit to return to (a first deploy): weight 0, the entry ``failed``, the lock released."""
    entry = record.entry
    outcome = rollout_outcome(context, record)
    lease = Lease(context, entry.service, record.holder)
    step = weight_zero(context, record)(lease)
    outcome.steps.append(step)
    why = f"rollout aborted by {context.by}" + (f": {reason}" if reason else "") + "; no earlier commit to return " \
          "to" + (f"; setting weight 0 failed: {step.detail}" if step.failed else "; weight 0")
    context.store.finish_deployment(entry, status="failed", now=context.clock(), holder=record.holder,
                                    step="rollout", reason=why, expect=OPEN_STATES)
    context.store.rollout_event(entry.id, context.clock(), {"event": "aborted", "by": context.by, "reason": reason,
                                                            "weight": None if step.failed else 0})
    outcome.status, outcome.step, outcome.reason, outcome.finished_at = "failed", "rollout", why, context.clock()
    return outcome


def resume(context: Context, service: str, *, now: datetime) -> DeployReport:
    """Continue a paused rollout at the step it paused on (weight set again, soak, measure)."""
    _configured(context, service)
    record = context.store.latest_rollout(service)
    if record is None or record.entry.status != "paused":
        state = f"#{record.entry.id} is {record.entry.status}" if record else "there is none"
        raise UsageError(f"no paused rollout of {service} to resume ({state})")
    return _continue(context, record, now=now, what="resumed")


def promote(context: Context, service: str, *, reason: str, now: datetime) -> tuple[DeployReport | None, str]:
    """Skip the remaining steps of the service's rollout; (the report when it was promoted here, what happened)."""
    if not reason.strip():
        raise UsageError("rollout promote needs --reason TEXT (it is recorded in the ledger)")
    _configured(context, service)
    record = active_rollout(context, service)
    if record is None:
        raise UsageError(f"no rollout of {service} is running or paused; see deploywatch rollout status {service}")
    if record.entry.status == "abandoned":
        raise UsageError(f"rollout #{record.entry.id} of {service} was abandoned (its process died): abort it, "
                         "or deploy again")
    context.store.request_rollout(record.entry.id, "promote", reason, context.clock())
    if record.entry.status == "started":
        return None, (f"asked the running rollout #{record.entry.id} ({record.holder}) to promote before its next "
                      "step")
    report = _continue(context, record, now=now, what="promoted")
    return report, f"rollout #{record.entry.id} promoted"


def _continue(context: Context, record: RolloutRecord, *, now: datetime, what: str) -> DeployReport:
    """Take the paused rollout over and run its remaining steps, then post-deploy; fail: weight 0 and rollback."""
    entry, store = record.entry, context.store
    holder = new_holder()
    if not store.resume_rollout(entry, old_holder=record.holder, holder=holder, lease=context.lease,
                                now=context.clock()):
        raise UsageError(f"rollout #{entry.id} of {entry.service} changed meanwhile; see deploywatch rollout status")
    store.rollout_event(entry.id, context.clock(), {"event": what, "by": context.by, "step": record.step_index + 1})
    outcome = rollout_outcome(context, record)
    report = DeployReport(now, what, entry.to_commit, [outcome])
    lease = Lease(context, entry.service, holder)
    ended = run_rollout(context, lease, outcome, start=max(0, record.step_index))
    outcome.steps += ended.steps
    if ended.state == "promoted":
        outcome.reason = ended.reason
    if ended.state in ("succeeded", "promoted") and not lease.lost:
        post = plan_post_deploy(context.workspace.loaded, entry.service)
        checked = run_post_deploy(context.workspace.loaded, post, now=context.clock,
                                  wait=lambda w, seconds: context.progress.wait(w, seconds, lease.tick))
        outcome.steps.append(checked)
    failed = next((s for s in outcome.steps if s.failed), None)
    outcome.finished_at = context.clock()
    if lease.lost or ended.state == "lost":
        outcome.status, outcome.step = "failed", "lock"
        outcome.reason = "the lock was taken over by an abort, a rollback or a forced deploy; it ended this entry"
    elif ended.state == "paused":
        outcome.status, outcome.step, outcome.reason = "paused", "rollout", ended.reason
        store.finish_deployment(entry, status="paused", now=outcome.finished_at, holder=holder, step="rollout",
                                reason=ended.reason, release=False)
    elif failed is None:
        outcome.status = "succeeded"
        store.finish_deployment(entry, status="succeeded", now=outcome.finished_at, holder=holder,
                                reason=outcome.reason)
    else:
        outcome.status, outcome.step, outcome.reason = "failed", failed.name, ended.reason or failed.detail
        store.finish_deployment(entry, status="failed", now=outcome.finished_at, holder=holder, step=failed.name,
                                reason=outcome.reason, release=False)
        back = roll_back_failed(context, outcome, lease, holder)
        outcome.rollback = back
        ok = back.status == "succeeded"
        outcome.status = "rolled_back" if ok else "failed"
        outcome.reason = (f"{outcome.reason}; rolled back to {short(outcome.from_commit)}" if ok
                          else f"{outcome.reason}; rollback failed: {back.reason}")
        store.finish_deployment(entry, status=outcome.status, now=context.clock(), holder=holder, expect=("failed",),
                                reason=outcome.reason)
    return report


def rollout_status(context: Context, service: str) -> dict[str, Any]:
    """The ``deploywatch.rollout/v1`` document of the service (see :func:`rollout_document`)."""
    _configured(context, service)
    rollout = context.workspace.loaded.config.services[service].rollout
    assert rollout is not None
    return rollout_document(context.store, service, list(rollout.steps), context.clock())


def rollout_document(store: Store, service: str, steps: list[int], now: datetime) -> dict[str, Any]:
    """The ``deploywatch.rollout/v1`` document: the service's newest rollout (its state is its ledger entry's
    status), the configured ``steps``, the live deploy lock, and every event; also what ``GET /api/rollouts``
    answers."""
    record = store.latest_rollout(service)
    locks = [lock_json(lock) for lock in store.deploy_locks([service]) if lock.live(now)]
    document: dict[str, Any] = {"schema": ROLLOUT_SCHEMA, "service": service, "steps": steps,
                                "lock": locks[0] if locks else None, "rollout": None}
    if record is not None:
        entry = record.entry
        document["rollout"] = {
            "entry_id": entry.id, "state": entry.status, "step": record.step_index + 1 or None,
            "weight": record.weight, "from_commit": entry.from_commit, "to_commit": entry.to_commit,
            "holder": record.holder, "request": record.request, "request_reason": record.request_reason,
            "reason": entry.reason, "started_at": format_timestamp(entry.started_at),
            "updated_at": format_timestamp(record.updated_at), "events": list(record.events)}
    return document
