"""What a remediation run decided and did, for people and as ``deploywatch.remediate/v1``; its findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core.durations import format_timestamp
from ..core.findings import Finding
from ..core.redact import mask
from ..core.render import short
from ..deploy.outcome import DeployReport
from .decide import Decision

__all__ = ["REMEDIATE_SCHEMA", "Action", "RemediationReport"]

REMEDIATE_SCHEMA = "deploywatch.remediate/v1"


@dataclass
class Action:
    """A decision and what came of it: ``outcome`` is ``succeeded`` or ``failed`` once it ran (None otherwise);
    a guardrail found while acting (preflight, a breaker tripped in this run) overrides the decision's."""

    decision: Decision
    outcome: str | None = None
    detail: str | None = None
    guardrail: str | None = None
    stopped_because: str | None = None
    output_tail: str | None = None
    deploy: DeployReport | None = None

    @property
    def result(self) -> str:
        """``would_act`` (a dry run), ``skipped``, ``succeeded`` or ``failed``."""
        if self.outcome is not None:
            return self.outcome
        if not self.decision.act or self.guardrail is not None:
            return "skipped"
        return "would_act"

    def to_json(self) -> dict[str, Any]:
        """One ``decisions[]`` item."""
        return {**self.decision.to_json(), "result": self.result,
                "guardrail": self.guardrail or self.decision.guardrail,
                "stopped_because": mask(self.stopped_because or self.decision.stopped_because or "") or None,
                "detail": mask(self.detail) if self.detail else None, "output_tail": self.output_tail,
                "deploy": self.deploy.as_json() if self.deploy is not None else None}

    def line(self) -> str:
        """One line for people."""
        d = self.decision
        what = (f"redeploy {d.subject} {short(d.from_commit) if d.from_commit else '?'} → {short(d.to_commit or '')}"
                if d.kind == "redeploy" else f"rule {d.subject!r}: {d.command}")
        guardrail = self.guardrail or d.guardrail
        if guardrail is not None:
            return f"skip {what}\n  why: {d.why}\n  stopped by {guardrail}: {self.stopped_because or d.stopped_because}"
        verb = {"would_act": "would", "succeeded": "done:", "failed": "FAILED:"}[self.result]
        tail = f"\n  result: {self.detail}" if self.detail else ""
        return f"{verb} {what}\n  why: {d.why}{tail}"

    def finding(self) -> Finding:
        """This decision as a ``remediate`` finding: failed critical, skipped warning, succeeded ok."""
        from ..core.status import Status

        d = self.decision
        status = {"failed": Status.CRITICAL, "skipped": Status.WARNING}.get(self.result, Status.OK)
        summary = mask(self.line().replace("\n  ", "; "))
        details = self.to_json()
        details.pop("deploy")
        labels = {"service": d.subject} if d.kind == "redeploy" else {"rule": d.subject}
        return Finding("remediate", f"{d.kind}:{d.subject}", status, summary, details, labels)


@dataclass
class RemediationReport:
    """One run: the fleet's switches, why it was refused (if it was), the breaker, every decision."""

    generated_at: datetime
    dry_run: bool
    fleet: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    refused: str | None = None
    refused_all: bool = False  # refused: every service matched, or another run holds the lock (not merely idle)
    trips: str | None = None
    unhealthy: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """2 the breaker tripped (or would), 3 refused (every service matched without --all, or another run is
        acting), 2 a remediation failed, 1 a guardrail skipped something, else 0."""
        if self.trips:
            return 2
        if self.refused_all and not self.actions:
            return 3
        if any(a.result == "failed" for a in self.actions):
            return 2
        if any(a.result == "skipped" for a in self.actions):
            return 1
        return 0

    def findings(self) -> list[Finding]:
        """Every decision's finding, the breaker's when it trips, and the deploys' own findings."""
        from ..core.status import Status
        from ..deploy.outcome import findings

        found = [a.finding() for a in self.actions]
        if self.trips:
            found.insert(0, Finding("remediate", "breaker", Status.CRITICAL,
                                    f"remediation breaker tripped: {self.trips}; deploywatch remediate reset "
                                    "ends it", {"reason": self.trips}))
        for action in self.actions:
            if action.deploy is not None:
                found += findings(action.deploy.outcomes)
        return found

    def as_json(self) -> dict[str, Any]:
        """The ``deploywatch.remediate/v1`` document."""
        breaker = self.fleet.get("breaker")
        return {"schema": REMEDIATE_SCHEMA, "generated_at": format_timestamp(self.generated_at),
                "dry_run": self.dry_run, "exit_code": self.exit_code, "enabled": self.enabled,
                "paused": bool(self.fleet.get("paused")), "breaker": breaker if isinstance(breaker, dict) else None,
                "trips": self.trips, "refused": self.refused, "unhealthy": self.unhealthy,
                "decisions": [a.to_json() for a in self.actions]}

    def markdown(self) -> str:
        """The run as GitHub-flavoured Markdown: the verdict, then one row per decision."""
        from ..core.render import markdown_table, markdown_text

        title = "dry run" if self.dry_run else "applied"
        lines = [f"### deploywatch remediate ({title}): exit {self.exit_code}", ""]
        tripped = "would trip" if self.dry_run else "tripped"
        lines += [f"- {markdown_text(note)}" for note in (self.trips and f"breaker {tripped}: {self.trips}",
                                                            self.refused and f"refused: {self.refused}") if note]
        rows = [[a.decision.kind, a.decision.subject, short(a.decision.from_commit) if a.decision.from_commit else "-",
                 short(a.decision.to_commit) if a.decision.to_commit else "-", a.result,
                 a.guardrail or a.decision.guardrail or "-", markdown_text(a.decision.why)] for a in self.actions]
        if rows:
            lines += [""] * (len(lines) > 2) + [markdown_table(["Kind", "Subject", "From", "To", "Result",
                                                                "Guardrail", "Why"], rows)]
        return mask("\n".join(lines))

    def text(self) -> str:
        """The run for people."""
        lines = []
        if not self.enabled:
            lines.append("remediation is disabled ([remediate] enabled = false)")
        if self.fleet.get("paused"):
            lines.append(f"remediation is paused by {self.fleet.get('paused_by')} (deploywatch remediate resume)")
        if self.trips:
            lines.append(f"BREAKER WOULD TRIP: {self.trips}" if self.dry_run
                         else f"BREAKER TRIPPED: {self.trips} (deploywatch remediate reset)")
        if self.refused:
            lines.append(f"refused: {self.refused}")
        lines += [a.line() for a in self.actions]
        if not self.actions and not self.refused:
            lines.append("nothing to remediate")
        lines.append(f"{'dry run (nothing changed; --apply acts)' if self.dry_run else 'applied'} "
                     f"(exit {self.exit_code})")
        return mask("\n".join(lines))
