"""``deploy``: preflight, lock, command, verify, post-deploy, and a verified rollback when one fails.

The ledger's entry goes ``started`` → ``succeeded``, or ``failed`` and then, per ``on_failure``, a verified
rollback (``rolled_back``), an alert, or a pause (``paused``).

A group deploys its members at one commit in ``deploy_order``; when one fails, the members already deployed are
rolled back (newest first), so the group never ends split: a member that rolled out gets weight 0 before its
rollback, and a member's rollout that is inconclusive fails instead of pausing. Every ledger transition is one
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..config.services import command_values
from ..core.errors import UsageError
from ..core.render import short
from ..core.status import Status
from ..store.deployments import DeploymentRecord
from .outcome import DeployReport, ServiceOutcome
from .preflight import PreflightReport, run_preflight
from .rollback import roll_back_failed, roll_back_to
from .rollout import check_rollout, deployed_rollout, rollout_plan, run_rollout, weight_zero
from .steps import Context, Lease, new_holder, run_and_verify
from .verify import PostDeployPlan, Step, plan_post_deploy, run_post_deploy
from .windows import open_window

__all__ = ["DeployRequest", "deploy"]


@dataclass(frozen=True)
class DeployRequest:
    """What ``deploywatch deploy`` was asked: services (or a group), the commit, and the overrides."""

    services: tuple[str, ...] = ()
    group: str | None = None
    revision: str | None = None
    yes: bool = False
    dry_run: bool = False
    no_rollback: bool = False
    force: bool = False
    reason: str | None = None
    allow_downgrade: bool = False


def _members(context: Context, request: DeployRequest) -> list[str]:
    loaded = context.workspace.loaded
    if request.group is not None:
        if request.services:
            raise UsageError("give services or --group, not both")
        members = loaded.group_members(request.group)
        if not members:
            groups = sorted({s.group for s in loaded.config.services.values() if s.group})
            raise UsageError(f"unknown group {request.group!r}; groups: {', '.join(groups) or 'none are set'}")
        return members
    if not request.services:
        raise UsageError("name the services to deploy, or --group GROUP")
    if len(set(request.services)) != len(request.services):
        raise UsageError("a service is named twice")
    return context.workspace.select(list(request.services))


def deploy(context: Context, request: DeployRequest, *, now: datetime) -> DeployReport:
    """Deploy (or, with ``dry_run``, plan) the request; see the module."""
    if request.force and not (request.reason and request.reason.strip()):
        raise UsageError("--force needs --reason TEXT (it is recorded in the ledger)")
    workspace, loaded = context.workspace, context.workspace.loaded
    members = _members(context, request)
    for name in members:
        if loaded.config.services[name].deploy is None:
            raise UsageError(f"services.{name}.deploy is not set: no command deploys {name} "
                             f"(in {loaded.shown or loaded.path})")
    plans = {name: plan_post_deploy(loaded, name) for name in members}
    for name in members:
        check_rollout(loaded, name)
    workspace.fetch()
    revision = request.revision or "HEAD"
    target = workspace.repo.resolve(revision)
    if target is None:
        raise UsageError(f"--commit {revision!r} does not name a commit in {workspace.repo.path}; run git fetch?")
    report = DeployReport(now, revision, target, [], dry_run=request.dry_run, group=request.group,
                          forced=request.reason if request.force else None)
    window = open_window(loaded.config.deploy.deny, loaded.config.schedule.timezone, now)
    if window is not None and not request.force:
        report.blocked.append(f"{window.describe()}; deploy anyway with --force --reason TEXT")
    preflights: dict[str, PreflightReport] = {}
    for name in members:
        context.progress.begin(name, "preflight", f"{short(target)} ({revision})")
        checked = run_preflight(workspace, name, revision=target, allow_downgrade=request.allow_downgrade, now=now)
        preflights[name] = checked
        context.progress.end(name, _preflight_step(checked))
        why = _blocking(checked, request)
        if why:
            report.blocked.append(f"{name}: {why}")
    for lock in context.store.deploy_locks(members):
        if lock.live(context.clock()) and not request.force:
            report.blocked.append(f"{lock.service} is locked by {lock.holder} since {lock.acquired_at:%Y-%m-%d %H:%M} "
                                  "UTC (a deploy in progress or paused); end it with deploywatch rollback, or "
                                  "--force --reason TEXT")
    outcomes = [_outcome(context, name, target, preflights[name]) for name in members]
    report.outcomes = outcomes
    if request.dry_run or report.blocked:
        for outcome in outcomes:
            outcome.status = "planned" if request.dry_run else "blocked"
            outcome.plan = _plan(context, outcome, plans[outcome.service], request)
        return report
    done: list[ServiceOutcome] = []
    for outcome in outcomes:
        if done and done[-1].status != "succeeded":
            outcome.status = "skipped"
            outcome.reason = f"not deployed: {done[-1].service} failed first"
            continue
        _deploy_one(context, outcome, plans[outcome.service], request, in_group=request.group is not None)
        done.append(outcome)
    failed = done[-1] if done and done[-1].status != "succeeded" else None
    if failed is not None and request.group is not None and not request.no_rollback:
        why = f"group {request.group}: {failed.service} failed at {failed.step}"
        for earlier in reversed(done[:-1]):
            back = earlier.rollback = _roll_back_member(context, earlier, why)
            earlier.status = "rolled_back" if back.status == "succeeded" else "failed"
            earlier.step = "group"
            earlier.reason = why + ("; rolled back" if back.status == "succeeded"
                                    else f"; rollback failed: {back.reason}")
    return report


def _roll_back_member(context: Context, member: ServiceOutcome, why: str) -> ServiceOutcome:
    """Roll a group member back to the commit it ran before; a member that rolled out gets weight 0 first, as a
    rollback of one service in a rollout does, and its rollout records it."""
    record = deployed_rollout(context, member)
    first = weight_zero(context, record) if record is not None else None
    back = roll_back_to(context, member.service, member.from_commit, current=member.to_commit, reason=why,
                        first=first)
    if record is not None:
        weight_failed = next((s for s in back.steps if s.name == "traffic" and s.failed), None)
        context.store.rollout_event(record.entry.id, context.clock(), {
            "event": "rolled back", "by": context.by, "reason": why, "rollback": back.status,
            "rollback_entry": back.entry_id, "weight": None if weight_failed or back.status == "blocked" else 0})
    return back


def _preflight_step(checked: PreflightReport) -> Step:
    bad = [f"{i.title.lower()} {i.status}" for i in checked.items if i.status is not Status.OK]
    detail = "all 8 checks ok" if not bad else "; ".join(bad)
    return Step("preflight", checked.status, detail, 0.0, {"checks": [i.to_json() for i in checked.items]})


def _blocking(checked: PreflightReport, request: DeployRequest) -> str | None:
    """Why preflight stops this deploy: a critical item (unless forced), a warning or unknown item (unless --yes).
    Bad current health needs only --yes: deploying is often how an unhealthy service is fixed."""
    critical = [i for i in checked.items if i.status is Status.CRITICAL and i.name != "health"]
    other = [i for i in checked.items if i.status is not Status.OK and i not in critical]
    if critical and not request.force:
        return "preflight is critical: " + "; ".join(f"{i.title}: {i.reason}" for i in critical)
    if other and not (request.yes or request.force):
        return ("preflight needs --yes: " + "; ".join(f"{i.title} {i.status}: {i.reason}" for i in other))
    return None


def _outcome(context: Context, name: str, target: str, checked: PreflightReport) -> ServiceOutcome:
    workspace = context.workspace
    config = workspace.loaded.config.services[name]
    shipped = tuple(c.sha for c in checked.shipped) if checked.deployed_commit else ()
    outcome = ServiceOutcome(name, "deploy", target, checked.deployed_commit, by=context.by, runbook=config.runbook,
                             relevant_commits=shipped)
    outcome.steps.append(_preflight_step(checked))
    return outcome


def _plan(context: Context, outcome: ServiceOutcome, post: PostDeployPlan,
          request: DeployRequest) -> list[dict[str, str]]:
    """What would run, in order (a dry run changes nothing)."""
    from ..config.services import fill_command

    config = context.workspace.loaded.config.services[outcome.service]
    assert config.deploy is not None
    values = command_values(outcome.service, outcome.to_commit, outcome.from_commit, "DEPLOY_ID")
    steps = [{"step": "lock", "detail": f"take the deploy lock of {outcome.service}; ledger entry 'started'"},
             {"step": "deploy", "detail": fill_command(config.deploy, values)},
             {"step": "verify", "detail": f"read the {config.deployed.kind} source until it reports "
                                          f"{short(outcome.to_commit)} (timeout {config.verify.timeout}s, "
                                          f"every {config.verify.interval}s)"},
             *rollout_plan(context.workspace.loaded, outcome.service, values),
             {"step": "post_deploy", "detail": _post_text(post)}]
    on_failure = _on_failure(config.post_deploy.on_failure, request, in_group=request.group is not None)
    if on_failure == "rollback" and outcome.from_commit:
        template = config.rollback or config.deploy
        back = command_values(outcome.service, outcome.from_commit, outcome.to_commit, "DEPLOY_ID")
        steps.append({"step": "on failure: rollback", "detail": fill_command(template, back)})
    elif on_failure == "rollback":
        steps.append({"step": "on failure: alert", "detail": "no earlier commit is known to roll back to: leave "
                                                             "it and notify"})
    elif on_failure == "pause":
        steps.append({"step": "on failure: pause", "detail": "keep the lock until deploywatch rollback or a "
                                                             "forced deploy"})
    else:
        steps.append({"step": "on failure: alert", "detail": "leave it and notify"})
    return steps


def _on_failure(configured: str, request: DeployRequest, *, in_group: bool) -> str:
    """``--no-rollback`` makes it ``alert``; in a group every failure rolls back (anything else leaves it split)."""
    if request.no_rollback:
        return "alert"
    return "rollback" if in_group else configured


def _post_text(post: PostDeployPlan) -> str:
    if post.empty:
        return "nothing configured"
    names = [p.name for p in post.probes] + [c.name for c in post.checks]
    return f"soak {int(post.wait)}s, then {', '.join(names)}"


def _deploy_one(context: Context, outcome: ServiceOutcome, post: PostDeployPlan, request: DeployRequest, *,
                in_group: bool) -> None:
    workspace, store = context.workspace, context.store
    name = outcome.service
    config = workspace.loaded.config.services[name]
    assert config.deploy is not None
    holder = new_holder()
    forced = f"forced: {request.reason}" if request.force else request.reason
    record = DeploymentRecord(service=name, to_commit=outcome.to_commit, status="started", how="deploy",
                              by=context.by, started_at=context.clock(), from_commit=outcome.from_commit,
                              reason=forced, relevant_commits=outcome.relevant_commits)
    begun = store.begin_deployment(record, holder=holder, lease=context.lease, now=context.clock(),
                                   take_over=request.force)
    if begun.entry is None:
        assert begun.held_by is not None
        outcome.status, outcome.step = "blocked", "lock"
        outcome.reason = f"locked by {begun.held_by.holder} (taken meanwhile)"
        return
    entry = begun.entry
    outcome.entry_id, outcome.started_at, outcome.status = entry.id, entry.started_at, "started"
    lease = Lease(context, name, holder)
    steps, tail = run_and_verify(context, lease, step="deploy", template=config.deploy,
                                 values=command_values(name, outcome.to_commit, outcome.from_commit, str(entry.id)),
                                 timeout=float(config.deploy_timeout), expected=outcome.to_commit)
    outcome.steps += steps
    outcome.output_tail = tail
    if not any(s.failed for s in steps) and config.rollout is not None \
            and _roll_out(context, outcome, lease, entry, holder, in_group=in_group):
        return
    if not any(s.failed for s in outcome.steps[1:]) and not lease.lost:
        context.progress.begin(name, "post_deploy", _post_text(post))
        checked = run_post_deploy(workspace.loaded, post, now=context.clock,
                                  wait=lambda what, seconds: context.progress.wait(what, seconds, lease.tick))
        context.progress.end(name, checked)
        outcome.steps.append(checked)
    failed = next((s for s in outcome.steps[1:] if s.failed), None)
    if failed is None and config.deployed.kind == "ledger" and post.empty:
        outcome.steps.append(Step("evidence", Status.WARNING, "nothing confirmed the deploy: a ledger source and no "
                                                               "post-deploy checks"))
    outcome.finished_at = context.clock()
    if lease.lost:
        outcome.status, outcome.step = "failed", (failed.name if failed else "lock")
        outcome.reason = "the lock was taken over by a forced deploy or rollback; this entry was ended by it"
        return
    if failed is None:
        store.finish_deployment(entry, status="succeeded", now=outcome.finished_at, holder=holder, output_tail=tail,
                                reason=outcome.reason)
        outcome.status = "succeeded"
        return
    outcome.status, outcome.step, outcome.reason = "failed", failed.name, failed.detail
    on_failure = _on_failure(config.post_deploy.on_failure, request, in_group=in_group)
    keep = on_failure in ("rollback", "pause")
    store.finish_deployment(entry, status="failed", now=outcome.finished_at, holder=holder, step=failed.name,
                            reason=failed.detail, output_tail=tail, release=not keep)
    if on_failure == "pause":
        store.finish_deployment(entry, status="paused", now=outcome.finished_at, holder=holder,
                                expect=("failed",), release=False)
        outcome.status = "paused"
        return
    if on_failure != "rollback":
        return
    back = roll_back_failed(context, outcome, lease, holder)
    outcome.rollback = back
    outcome.finished_at = context.clock()
    if back.status == "succeeded":
        outcome.status = "rolled_back"
        store.finish_deployment(entry, status="rolled_back", now=outcome.finished_at, holder=holder,
                                expect=("failed",), reason=f"{failed.detail}; rolled back to "
                                                           f"{short(outcome.from_commit)}")
    else:
        outcome.reason = f"{failed.detail}; rollback failed: {back.reason}"
        store.finish_deployment(entry, status="failed", now=outcome.finished_at, holder=holder,
                                expect=("failed",), reason=outcome.reason)


def _roll_out(context: Context, outcome: ServiceOutcome, lease: Lease, entry: DeploymentRecord,
              holder: str, *, in_group: bool) -> bool:
    """The rollout's steps (``deploy/rollout.py``); True when it paused (the entry is then ``paused``, its lock
    kept until ``rollout resume``, ``abort``, ``promote`` or a rollback)."""
    rollout = context.workspace.loaded.config.services[outcome.service].rollout
    assert rollout is not None
    context.store.start_rollout(entry, holder, context.clock(), {
        "event": "started", "steps": list(rollout.steps), "from_commit": outcome.from_commit,
        "to_commit": outcome.to_commit, "by": context.by})
    ended = run_rollout(context, lease, outcome, may_pause=not in_group)
    outcome.steps += ended.steps
    if ended.state == "promoted":
        outcome.reason = ended.reason
    if ended.state != "paused" or lease.lost:
        return False
    outcome.finished_at = context.clock()
    outcome.status, outcome.step, outcome.reason = "paused", "rollout", ended.reason
    context.store.finish_deployment(entry, status="paused", now=outcome.finished_at, holder=holder, step="rollout",
                                    reason=ended.reason, output_tail=outcome.output_tail, release=False)
    return True
