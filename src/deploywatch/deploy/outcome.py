"""What a guarded deploy or rollback did, per service, and its JSON (``deploywatch.deploy/v1``) and findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core.durations import format_timestamp
from ..core.findings import Finding
from ..core.redact import mask
from ..core.render import short
from ..core.status import Status
from ..core.text import plural
from .verify import Step

__all__ = ["DEPLOY_SCHEMA", "DeployReport", "ServiceOutcome"]

DEPLOY_SCHEMA = "deploywatch.deploy/v1"
# How each outcome counts: blocked could not start (3); failed, rolled back or paused failed (2).
_FAILED = ("failed", "rolled_back", "paused", "abandoned")


@dataclass
class ServiceOutcome:
    """One service's deploy (or rollback): the ledger entry, every step, and how it ended.

    ``status``: ``planned`` (a dry run), ``blocked`` (it could not start: nothing ran, nothing was written),
    ``skipped`` (an earlier service of the run failed), or the ledger entry's status."""

    service: str
    how: str  # deploy or rollback
    to_commit: str
    from_commit: str | None
    status: str = "planned"
    entry_id: int | None = None
    step: str | None = None  # where it failed
    reason: str | None = None
    by: str | None = None
    runbook: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    relevant_commits: tuple[str, ...] = ()
    steps: list[Step] = field(default_factory=list)
    output_tail: str | None = None
    rollback: ServiceOutcome | None = None  # the automatic rollback after a failure
    plan: list[dict[str, Any]] = field(default_factory=list)  # a dry run: what would run, in order

    @property
    def warnings(self) -> bool:
        """It succeeded, but a step warned."""
        return self.status == "succeeded" and any(s.status is Status.WARNING for s in self.steps)

    @property
    def exit_code(self) -> int:
        """0 succeeded (or planned), 1 with warnings, 2 failed, 3 could not start."""
        if self.status == "blocked":
            return 3
        if self.status in _FAILED:
            return 2
        return 1 if self.warnings else 0

    @property
    def duration_seconds(self) -> float | None:
        """From started to finished, once finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> str:
        """One line for people and alerts: service, from → to, the result, where and why."""
        move = f"{short(self.from_commit) if self.from_commit else 'unknown'} → {short(self.to_commit)}"
        result = {"succeeded": "succeeded with warnings" if self.warnings else "succeeded",
                  "rolled_back": "failed and was rolled back"}.get(self.status, self.status.replace("_", " "))
        where = f" at {self.step}" if self.step and self.status != "succeeded" else ""
        why = f": {self.reason}" if self.reason and self.status != "succeeded" else ""
        took = f" in {self.duration_seconds:.1f}s" if self.duration_seconds is not None else ""
        shipped = f", {plural(len(self.relevant_commits), 'relevant commit')}" if self.how == "deploy" else ""
        return mask(f"{self.service} {self.how} {move} {result}{where}{took}{shipped}{why}")

    def as_json(self) -> dict[str, Any]:
        """The ``deploys[]`` entry of ``deploywatch.deploy/v1``."""
        def stamp(value: datetime | None) -> str | None:
            return format_timestamp(value) if value is not None else None

        return {"service": self.service, "how": self.how, "id": self.entry_id, "status": self.status,
                "exit_code": self.exit_code, "warnings": self.warnings, "from_commit": self.from_commit,
                "to_commit": self.to_commit, "step": self.step, "reason": mask(self.reason) if self.reason else None,
                "by": mask(self.by) if self.by else None, "runbook": mask(self.runbook) if self.runbook else None,
                "started_at": stamp(self.started_at), "finished_at": stamp(self.finished_at),
                "duration_seconds": self.duration_seconds, "relevant_commits": list(self.relevant_commits),
                "steps": [s.as_json() for s in self.steps], "output_tail": self.output_tail,
                "rollback": self.rollback.as_json() if self.rollback else None,
                **({"plan": [{k: mask(v) for k, v in step.items()} for step in self.plan]}
                   if self.status == "planned" else {})}

    def finding(self) -> Finding:
        """The deploy as a finding (kind ``deploy``, subject the service): failed, rolled back or paused is
        critical, a success with warnings a warning; a success resolves what an earlier failure fired."""
        status = (Status.CRITICAL if self.status in _FAILED else Status.WARNING if self.warnings else Status.OK)
        details = {"service": self.service, "how": self.how, "id": self.entry_id, "result": self.status,
                   "from_commit": self.from_commit, "to_commit": self.to_commit,
                   "relevant_commits": len(self.relevant_commits), "step": self.step, "reason": self.reason,
                   "duration_seconds": self.duration_seconds, "by": self.by, "runbook": self.runbook}
        return Finding("deploy", self.service, status, self.summary(), details, {"service": self.service})


@dataclass
class DeployReport:
    """A whole ``deploywatch deploy`` (or ``rollback``): the services in order and why it stopped, if it did."""

    generated_at: datetime
    revision: str
    commit: str
    outcomes: list[ServiceOutcome]
    dry_run: bool = False
    group: str | None = None
    forced: str | None = None  # the --reason of --force
    blocked: list[str] = field(default_factory=list)  # why it could not start

    @property
    def exit_code(self) -> int:
        """3 could not start, 2 a service failed, 1 warnings, 0 ok."""
        if self.blocked:
            return 3
        return max((o.exit_code for o in self.outcomes), default=0)

    @property
    def status(self) -> str:
        """``blocked``, ``failed``, ``succeeded_with_warnings``, ``succeeded`` or ``planned``."""
        code = self.exit_code
        if code == 3:
            return "blocked"
        if code == 2:
            return "failed"
        if self.dry_run:
            return "planned"
        return "succeeded_with_warnings" if code == 1 else "succeeded"

    def as_json(self) -> dict[str, Any]:
        """The ``deploywatch.deploy/v1`` document."""
        return {"schema": DEPLOY_SCHEMA, "generated_at": format_timestamp(self.generated_at),
                "status": self.status, "exit_code": self.exit_code, "dry_run": self.dry_run, "group": self.group,
                "target": {"revision": self.revision, "commit": self.commit},
                "forced": mask(self.forced) if self.forced else None,
                "blocked": [mask(b) for b in self.blocked], "deploys": [o.as_json() for o in self.outcomes]}


def findings(outcomes: Sequence[ServiceOutcome]) -> list[Finding]:
    """The findings of the outcomes that ran (a rollback's own outcome is part of its deploy's)."""
    return [o.finding() for o in outcomes if o.status not in ("planned", "blocked", "skipped")]
