"""What remediation decides from: drifted services, unhealthy ones, matched rules, and the store's state.

A service is *unhealthy* when its deployed commit cannot be known (drift status ``unknown``: the source could not
be read or names no commit here) or its newest ledger entry ended badly (``failed``, ``paused``, ``abandoned``).
Drift alone is what remediation fixes, so it does not count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..config.remediate import RuleConfig
from ..config.services import fill_command
from ..core.status import Status
from ..drift.engine import DriftReport
from .decide import RuleMatch, Target

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["drifted_targets", "fires_on", "match_rules", "recent_outcomes", "unhealthy_services"]

_GROUPED = re.compile(r"^(?P<name>.*)\[(?P<group>[^\]]*)\]$")
_BAD_ENDINGS = ("failed", "paused", "abandoned")
# How many stored runs back a rule's for_runs looks (runs of every command: checks, probes, completion).
_RUNS_LOOKED_AT = 500


def drifted_targets(report: DriftReport, min_status: str) -> list[Target]:
    """The services whose drift status is at least ``min_status`` and whose deployed commit is known, worst first
    (config order among equals); ``unknown`` is never a target: there is no from-commit to reason about."""
    floor = Status(min_status).severity
    found = [s for s in report.services
             if s.status is not Status.UNKNOWN and s.status.severity >= floor and s.deployed_commit]
    found.sort(key=lambda s: -s.status.severity)
    return [Target(s.name, s.status, s.deployed_commit, report.tip, s.commits[0].sha if s.commits else None,
                   f"drift {s.status}: " + (f"{s.composition}; " if s.composition else "") + s.reason)
            for s in found]


def unhealthy_services(report: DriftReport, store: Store) -> list[str]:
    """The services (of the report) that are unhealthy, see the module."""
    # each service's own newest entry: a window over every service's entries would lose a quiet service's
    # failure behind a busy one's successes, and a failure nobody sees is not health
    newest = {s.name: entries[0].status for s in report.services if (entries := store.deployments([s.name], limit=1))}
    return [s.name for s in report.services
            if s.status is Status.UNKNOWN or newest.get(s.name) in _BAD_ENDINGS]


def recent_outcomes(store: Store, limit: int) -> list[str]:
    """The outcomes of the last ``limit`` remediations (redeploys and rules), newest first."""
    rows = store.audit_log(decisions=("succeeded", "failed"), limit=limit)
    return [row.decision for row in reversed(rows) if row.kind in ("redeploy", "rule")]


def fires_on(wanted: str, status: Status) -> bool:
    """Whether a finding of ``status`` holds a rule's ``status``: at least it, and ``unknown`` only when the
    rule names ``unknown`` (then only ``unknown``)."""
    if wanted == "unknown":
        return status is Status.UNKNOWN
    return status is not Status.UNKNOWN and status.severity >= Status(wanted).severity


def _subjects(store: Store, rule: RuleConfig) -> list[str]:
    """The watched subject, and its per-group variants (``check[group]``) seen in the newest runs."""
    name = rule.when.subject
    seen = {f.subject for f in store.latest_findings(rule.when.kind)}
    grouped = sorted(s for s in seen if (m := _GROUPED.match(s)) and m.group("name") == name)
    return grouped or [name]


def match_rules(rules: Sequence[RuleConfig], store: Store, now: datetime) -> list[RuleMatch]:
    """Every rule whose ``when`` held in its last ``for_runs`` stored runs with a finding about the subject."""
    if not rules:
        return []
    runs = store.runs(limit=_RUNS_LOOKED_AT)
    order = [run.id for run in runs]
    dates = {run.id: run.run_date for run in runs}
    found: list[RuleMatch] = []
    for rule in rules:
        fired = len(store.audit_log(since=now - timedelta(days=1), kind="rule", subject=rule.name,
                                    decisions=("acted",)))
        for subject in _subjects(store, rule):
            by_run = store.subject_findings(order, rule.when.kind, subject)
            newest = [(run_id, by_run[run_id]) for run_id in order if run_id in by_run][:rule.when.for_runs]
            if len(newest) < rule.when.for_runs:
                continue
            statuses = [Status(f.status) for _, f in newest]
            if not all(fires_on(rule.when.status, s) for s in statuses):
                continue
            run_id, finding = newest[0]
            grouped = _GROUPED.match(subject)
            run_date = dates.get(run_id)
            values = {"date": (run_date or now.date()).isoformat(), "group": grouped.group("group") if grouped else "",
                      "subject": subject, "status": str(statuses[0]), "rule": rule.name}
            why = (f"{rule.when.kind} {subject} {statuses[0]} in the last {rule.when.for_runs} run(s): "
                   f"{finding.summary}")
            found.append(RuleMatch(rule.name, subject, statuses[0], fill_command(rule.run, values),
                                   float(rule.timeout), fired, rule.max_per_day, why,
                                   f"{rule.when.kind} {subject} of {values['date']}", run_id))
    return found
