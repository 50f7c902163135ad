"""The router: which notifications each sink is due, given this run's findings and what the sink was told before.

Per sink and finding (its fingerprint), Alertmanager-style:

- a finding *fires* for a sink when its status is not ok and the sink's ``match.status`` (if any) lists it;
- due when it starts firing, when its status changes while firing, when it has fired unchanged for the
  sink's ``repeat_interval`` (Alertmanager sinks: on every run), and when it resolves — after
  ``resolve_after`` consecutive runs that do not fire, sent once (when ``send_resolved``) and only if the
  sink had been told it fired;
- a silenced finding is not sent: its state is left as it was, so that once the silence ends a finding
  that is still bad fires (a new one, or a repeat that is due), and one that was fixed meanwhile resolves;
- findings absent from a run (another command's, or a service not selected) are left untouched.

The router is pure: it reads states and silences, and returns new states and messages; the caller writes
them in the run's transaction.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ..config.alerts import AlertmanagerSinkConfig, AlertMatch, GitHubSinkConfig, SinkConfig
from ..core.findings import Finding
from ..core.status import Status
from ..store.alerts import AlertStateRecord, OutboxRecord, SilenceRecord
from .matchers import Matcher, finding_labels, matcher_from_json, matches_all
from .model import Event, Notification

__all__ = ["Routed", "outbox_rows", "route", "tracks"]


@dataclass
class Routed:
    """What routing decided for one run."""

    states: list[AlertStateRecord] = field(default_factory=list)  # new or changed states to save
    messages: list[OutboxRecord] = field(default_factory=list)  # outbox rows to add
    notifications: dict[str, list[Notification]] = field(default_factory=dict)  # by sink, for display
    silenced: list[tuple[str, Finding, str]] = field(default_factory=list)  # (sink, finding, silence id)


def tracks(match: AlertMatch | None, finding: Finding) -> bool:
    """Whether a sink with ``match`` follows ``finding`` at all (kind, subject and labels; not status)."""
    if match is None:
        return True
    if match.kind is not None and finding.kind not in match.kind:
        return False
    if match.subject is not None and not any(fnmatch.fnmatchcase(finding.subject, p) for p in match.subject):
        return False
    if match.labels is not None:
        labels = finding_labels(finding.kind, finding.subject, finding.labels)
        if any(labels.get(k) != v for k, v in match.labels.items()):
            return False
    return True


def fires(match: AlertMatch | None, status: Status) -> bool:
    """Whether ``status`` counts as firing for a sink with ``match``."""
    if status is Status.OK:
        return False
    return match is None or match.status is None or status.value in match.status


def _silence_for(finding: Finding, silences: Sequence[tuple[str, list[Matcher]]]) -> str | None:
    labels = finding_labels(finding.kind, finding.subject, finding.labels)
    return next((silence for silence, matchers in silences if matches_all(matchers, labels)), None)


def route(findings: Sequence[Finding], sinks: Sequence[tuple[str, SinkConfig]],
          states: Mapping[tuple[str, str], AlertStateRecord], silences: Sequence[SilenceRecord], *,
          now: datetime, run_id: str | None) -> Routed:
    """Decide what is due for every sink; see the module docstring for the rules."""
    routed = Routed()
    parsed = [(s.id, [matcher_from_json(m) for m in s.matchers]) for s in silences]
    silenced_by = {f.fingerprint: _silence_for(f, parsed) for f in findings}
    for name, sink in sinks:
        due: list[Notification] = []
        for finding in findings:
            if not tracks(sink.match, finding):
                continue
            silence = silenced_by[finding.fingerprint]
            previous = states.get((name, finding.fingerprint))
            notification, state = _step(name, sink, finding, previous, now=now, silenced=silence is not None)
            if silence is not None and fires(sink.match, finding.status):
                routed.silenced.append((name, finding, silence))
            if state is not None:
                routed.states.append(state)
            if notification is not None:
                due.append(notification)
        if due:
            routed.notifications[name] = due
            routed.messages += outbox_rows(name, sink, due, run_id=run_id)
    return routed


def _step(name: str, sink: SinkConfig, finding: Finding, previous: AlertStateRecord | None, *, now: datetime,
          silenced: bool) -> tuple[Notification | None, AlertStateRecord | None]:
    status = finding.status
    firing = fires(sink.match, status)
    base = previous or AlertStateRecord(sink=name, fingerprint=finding.fingerprint, kind=finding.kind,
                                        subject=finding.subject, status=status.value, firing=False,
                                        firing_since=None, notified_status=None, last_notified_at=None,
                                        ok_streak=0, updated_at=now)
    observed = replace(base, kind=finding.kind, subject=finding.subject, status=status.value, updated_at=now)

    def notify(event: Event, since: datetime | None, previous_status: str | None) -> Notification:
        return Notification(fingerprint=finding.fingerprint, kind=finding.kind, subject=finding.subject,
                            event=event, status=status,
                            previous_status=Status(previous_status) if previous_status else None,
                            summary=finding.summary, at=now, firing_since=since, details=dict(finding.details),
                            labels=finding_labels(finding.kind, finding.subject, finding.labels))

    if firing:
        if silenced:
            return None, None  # untouched: it fires (or repeats) once the silence is over
        if not base.firing or base.notified_status is None:
            since = base.firing_since if base.firing and base.firing_since else now
            state = replace(observed, firing=True, firing_since=since, notified_status=status.value,
                            last_notified_at=now, ok_streak=0)
            return notify(Event.FIRING, since, None), state
        if base.notified_status != status.value:
            state = replace(observed, notified_status=status.value, last_notified_at=now, ok_streak=0)
            return notify(Event.CHANGED, base.firing_since, base.notified_status), state
        repeat = 0 if isinstance(sink, AlertmanagerSinkConfig) else sink.repeat_interval
        last = base.last_notified_at
        if last is None or now - last >= timedelta(seconds=repeat):
            state = replace(observed, last_notified_at=now, ok_streak=0)
            return notify(Event.REPEAT, base.firing_since, base.notified_status), state
        return None, replace(observed, ok_streak=0)
    if not base.firing:
        return None, (observed if previous is not None else None)
    if silenced:
        return None, None  # untouched: the resolve is sent once the silence is over
    streak = base.ok_streak + 1
    if streak < sink.resolve_after:
        return None, replace(observed, ok_streak=streak)
    resolved = replace(observed, firing=False, firing_since=None, notified_status=None, ok_streak=0,
                       last_notified_at=now if base.notified_status else base.last_notified_at)
    if not sink.send_resolved or base.notified_status is None:
        return None, resolved
    return notify(Event.RESOLVED, base.firing_since, base.notified_status), resolved


def outbox_rows(name: str, sink: SinkConfig, due: Sequence[Notification], *,
                run_id: str | None) -> list[OutboxRecord]:
    """Outbox rows: one per run for grouped sinks, one per finding for GitHub, one per URL for Alertmanager."""
    batches = [[n] for n in due] if isinstance(sink, GitHubSinkConfig) else [list(due)]
    targets = range(len(sink.urls)) if isinstance(sink, AlertmanagerSinkConfig) else range(1)
    # The outbox keeps wall-clock time (delivery, backoff and leases run on it), whatever the run's --now.
    created = datetime.now(UTC)
    rows = []
    for batch in batches:
        for target in targets:
            rows.append(OutboxRecord(id=uuid.uuid4().hex, sink=name, target=target, created_at=created,
                                     summary=describe(batch), payload={"notifications": [n.to_json() for n in batch]},
                                     run_id=run_id, next_attempt_at=created))
    return rows


def describe(notifications: Sequence[Notification]) -> str:
    """One line for a message: ``2 firing (prediction-worker critical, …), 1 resolved``."""
    firing = [n for n in notifications if n.firing]
    resolved = [n for n in notifications if not n.firing]
    parts = []
    if firing:
        names = ", ".join(f"{n.subject} {n.status}" for n in firing[:3]) + (", …" if len(firing) > 3 else "")
        parts.append(f"{len(firing)} firing ({names})")
    if resolved:
        names = ", ".join(n.subject for n in resolved[:3]) + (", …" if len(resolved) > 3 else "")
        parts.append(f"{len(resolved)} resolved ({names})")
    return "; ".join(parts) or "empty"
