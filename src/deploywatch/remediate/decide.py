"""The pure decision core of remediation: from the situation (state, measurements, guardrails) to decisions.

Nothing here reads a clock, the store, git or a process: :func:`select_targets` picks the drifted services,
:func:`decide` applies the guardrails in a fixed order and :func:`after_outcome` is a service's state after a
remediation ended. The runner (:mod:`.run`) does the measuring, the acting and the recording around them.

The guardrails, in the order they are applied (the first that holds names the decision's ``guardrail``):

1. ``kill_switch``: ``[remediate] enabled = false`` or ``deploywatch remediate pause``: nothing acts.
2. ``breaker``: tripped earlier and not reset, or tripping now (more than ``max_unhealthy`` percent of services
   unhealthy, or the last ``max_failures`` remediations all failed): nothing acts until ``remediate reset``.
3. ``deny_window`` (redeploys only): a ``[[deploy.deny]]`` window is open.
4. ``failed_commit`` (redeploys): the newest relevant commit is the one whose remediation failed; only a new
   relevant commit is tried again. ``backoff``: after ``n`` failures in a row, wait ``backoff * 2^(n-1)``
   (at most ``max_backoff``) since the last one; a success resets it.
   ``backoff`` (rules): the rule's command failed for this very finding (the check, probe or phase with its
   group, and the run date) ``n`` times in a row: the same wait since the last failure; a success resets it, and
   another finding (a new run date, another group) is not held back. ``same_finding`` (rules): the command
   succeeded for this finding on the same evidence (the newest stored run that has it); only a newer run that
   still has the finding runs it again.
5. ``min_interval`` (redeploys): the service was remediated less than ``min_interval`` ago.
6. ``max_per_run`` (redeploys) and ``max_per_day`` (rules): the counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..config.remediate import RemediateSettings
from ..core.redact import mask_values
from ..core.status import Status

__all__ = ["Decision", "Plan", "RuleMatch", "Situation", "Target", "after_outcome", "after_rule_outcome",
           "breaker_reason", "decide", "select_targets"]


@dataclass(frozen=True)
class Target:
    """A service drifted enough to be remediated: where it runs, where it would go, and why."""

    service: str
    status: Status
    from_commit: str | None
    to_commit: str
    newest_relevant: str | None  # the newest relevant commit it lacks: "the same failed commit" is this one
    why: str


@dataclass(frozen=True)
class RuleMatch:
    """A rule whose ``when`` holds for one finding: the command it would run, how often it ran in the last day."""

    rule: str
    subject: str
    status: Status
    command: str
    timeout: float
    fired_last_day: int
    max_per_day: int
    why: str
    finding: str = ""  # what the rule's memory is about: kind, subject (with its group) and the run's date
    evidence: str = ""  # the id of the newest stored run with the finding


@dataclass(frozen=True)
class Situation:
    """Everything a decision reads; the runner measures it."""

    now: datetime
    settings: RemediateSettings
    fleet: Mapping[str, Any]  # paused (bool), paused_by, breaker ({"reason", "tripped_at"} or absent)
    service_states: Mapping[str, Mapping[str, Any]]  # by service: failures, failed_relevant, last_*_at (ISO)
    targets: Sequence[Target]
    services_total: int
    unhealthy: Sequence[str]
    recent_outcomes: Sequence[str]  # the last remediations' outcomes, newest first: succeeded | failed
    window: str | None = None  # an open deny window, described
    rules: Sequence[RuleMatch] = ()
    rule_states: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # by rule: {"findings": {…}}


@dataclass(frozen=True)
class Decision:
    """One decision: act, or skip and the guardrail that stopped it."""

    kind: str  # redeploy | rule
    subject: str  # the service, or the rule
    act: bool
    why: str  # why it is a candidate
    guardrail: str | None = None
    stopped_because: str | None = None
    from_commit: str | None = None
    to_commit: str | None = None
    newest_relevant: str | None = None
    command: str | None = None
    timeout: float = 0.0
    finding: str | None = None  # a rule's finding (its memory's key)
    evidence: str | None = None  # the newest stored run with it

    def to_json(self) -> dict[str, Any]:
        """The decision's fields for ``deploywatch.remediate/v1``, masked (a rule's command holds what its
        ``${VAR}`` gave it)."""
        fields = {"kind": self.kind, "subject": self.subject, "act": self.act, "why": self.why,
                  "guardrail": self.guardrail, "stopped_because": self.stopped_because,
                  "from_commit": self.from_commit, "to_commit": self.to_commit, "command": self.command,
                  "finding": self.finding}
        masked: dict[str, Any] = mask_values(fields)
        return masked


@dataclass(frozen=True)
class Plan:
    """The decisions of one run, and the breaker's reason when it trips with this run."""

    decisions: list[Decision] = field(default_factory=list)
    trips: str | None = None


def _iso(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def select_targets(drifted: Sequence[Target], *, configured: Sequence[str], names: Sequence[str],
                   explicit_all: bool) -> tuple[list[Target], str | None]:
    """The targets among ``drifted`` (services at least ``min_status``) for the services ``names`` (every one
    with ``explicit_all``); with the reason it is refused instead: an empty target set, or one that holds every
    configured service, without ``explicit_all``."""
    if names and explicit_all:
        return [], "name services or give --all, not both"
    wanted = set(names) if names else set(configured)
    targets = [t for t in drifted if t.service in wanted]
    if not targets:
        return [], "no service to remediate: none of the selected services is drifted enough"
    if not explicit_all and {t.service for t in targets} >= set(configured):
        return [], (f"every configured service ({len(configured)}) would be remediated at once; "
                    "give --all to allow it")
    return targets, None


def breaker_reason(settings: RemediateSettings, *, unhealthy: Sequence[str], services_total: int,
                   recent_outcomes: Sequence[str]) -> str | None:
    """Why the fleet breaker trips, or None: more than ``max_unhealthy`` percent unhealthy, or the last
    ``max_failures`` remediations all failed."""
    if services_total and len(unhealthy) * 100 > settings.max_unhealthy * services_total:
        share = round(len(unhealthy) * 100 / services_total)
        return (f"{len(unhealthy)} of {services_total} services unhealthy ({share}% > max_unhealthy "
                f"{settings.max_unhealthy}%): {', '.join(unhealthy)}")
    last = list(recent_outcomes[:settings.max_failures])
    if len(last) == settings.max_failures and all(outcome == "failed" for outcome in last):
        return f"the last {settings.max_failures} remediations failed (max_failures {settings.max_failures})"
    return None


def _backoff(settings: RemediateSettings, state: Mapping[str, Any], now: datetime) -> tuple[int, datetime] | None:
    """The failures in a row and the time the backoff ends, while it has not ended."""
    failures = int(state.get("failures", 0))
    last_failed = _iso(state.get("last_failed_at"))
    if not failures or last_failed is None:
        return None
    until = last_failed + timedelta(seconds=min(settings.backoff * 2 ** (failures - 1), settings.max_backoff))
    return (failures, until) if now < until else None


def _service_guard(situation: Situation, target: Target) -> tuple[str, str] | None:
    settings, now = situation.settings, situation.now
    state = situation.service_states.get(target.service, {})
    failures = int(state.get("failures", 0))
    failed = state.get("failed_relevant")
    if failures and failed is not None and failed == target.newest_relevant:
        return "failed_commit", (f"remediating to {str(failed)[:12]} failed before; waiting for a new relevant "
                                 "commit")
    backing_off = _backoff(settings, state, now)
    if backing_off is not None:
        failures, until = backing_off
        return "backoff", f"{failures} failure(s) in a row: backing off until {until:%Y-%m-%d %H:%M} UTC"
    last = _iso(state.get("last_attempt_at"))
    if last is not None and now < last + timedelta(seconds=settings.min_interval):
        return "min_interval", (f"remediated at {last:%Y-%m-%d %H:%M} UTC, less than min_interval "
                                f"{settings.min_interval}s ago")
    return None


def decide(situation: Situation) -> Plan:
    """The decisions for every target and matched rule, the guardrails applied in the module's order."""
    settings, fleet = situation.settings, situation.fleet
    fleet_guard: tuple[str, str] | None = None
    trips: str | None = None
    if not settings.enabled:
        fleet_guard = ("kill_switch", "[remediate] enabled = false")
    elif fleet.get("paused"):
        fleet_guard = ("kill_switch", f"paused by {fleet.get('paused_by') or 'someone'} "
                                      f"(deploywatch remediate resume ends it)")
    elif isinstance(fleet.get("breaker"), Mapping):
        fleet_guard = ("breaker", f"the breaker tripped: {fleet['breaker'].get('reason')} "
                                  "(deploywatch remediate reset ends it)")
    else:
        trips = breaker_reason(settings, unhealthy=situation.unhealthy, services_total=situation.services_total,
                               recent_outcomes=situation.recent_outcomes)
        if trips is not None:
            fleet_guard = ("breaker", f"the breaker trips: {trips}")
    decisions: list[Decision] = []
    acting = 0
    for target in situation.targets:
        guard = fleet_guard
        if guard is None and situation.window is not None:
            guard = ("deny_window", situation.window)
        if guard is None:
            guard = _service_guard(situation, target)
        if guard is None and acting >= settings.max_per_run:
            guard = ("max_per_run", f"max_per_run {settings.max_per_run} reached in this run")
        if guard is None:
            acting += 1
        decisions.append(Decision("redeploy", target.service, guard is None, target.why,
                                  guard[0] if guard else None, guard[1] if guard else None,
                                  target.from_commit, target.to_commit, target.newest_relevant))
    for match in situation.rules:
        guard = fleet_guard
        state = situation.rule_states.get(match.rule, {})
        done = state.get("done", {}).get(match.finding, {})
        if guard is None and match.evidence and done.get("run") == match.evidence:
            guard = ("same_finding", f"the command succeeded for {match.finding} at {done.get('at')} and no newer "
                                     "run has the finding yet")
        backing_off = _backoff(settings, state.get("findings", {}).get(match.finding, {}), situation.now)
        if guard is None and backing_off is not None:
            failures, until = backing_off
            guard = ("backoff", f"the command failed for {match.finding} {failures} time(s) in a row: not run "
                                f"for it again until {until:%Y-%m-%d %H:%M} UTC")
        if guard is None and match.fired_last_day >= match.max_per_day:
            guard = ("max_per_day", f"ran {match.fired_last_day} time(s) in the last 24h (max_per_day "
                                    f"{match.max_per_day})")
        decisions.append(Decision("rule", match.rule, guard is None, match.why, guard[0] if guard else None,
                                  guard[1] if guard else None, command=match.command, timeout=match.timeout,
                                  finding=match.finding, evidence=match.evidence))
    return Plan(decisions, trips)


def after_outcome(state: Mapping[str, Any], decision: Decision, *, succeeded: bool, now: datetime) -> dict[str, Any]:
    """A service's state after its remediation ended: a success resets the failures, a failure counts one and
    remembers the relevant commit that failed."""
    if succeeded:
        return {"last_attempt_at": now.isoformat(), "failures": 0}
    return {"last_attempt_at": now.isoformat(), "last_failed_at": now.isoformat(),
            "failures": int(state.get("failures", 0)) + 1,
            "failed_relevant": decision.newest_relevant or decision.to_commit}


def after_rule_outcome(state: Mapping[str, Any], decision: Decision, *, succeeded: bool, now: datetime,
                       forget_after: timedelta) -> dict[str, Any]:
    """A rule's state after its command ended: a failure counts one for the decision's finding, a success forgets
    its failures and remembers the evidence it acted on; what is older than ``forget_after`` is forgotten."""
    findings = {key: value for key, value in dict(state.get("findings", {})).items()
                if (at := _iso(value.get("last_failed_at"))) is not None and now - at < forget_after}
    done = {key: value for key, value in dict(state.get("done", {})).items()
            if (at := _iso(value.get("at"))) is not None and now - at < forget_after}
    key = decision.finding or decision.subject
    if succeeded:
        findings.pop(key, None)
        done[key] = {"run": decision.evidence, "at": now.isoformat()}
    else:
        findings[key] = {"failures": int(findings.get(key, {}).get("failures", 0)) + 1,
                         "last_failed_at": now.isoformat()}
    return {**state, "last_attempt_at": now.isoformat(), "findings": findings, "done": done}
