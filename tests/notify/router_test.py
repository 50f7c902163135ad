"""The router's rules, run by run: fire, stay quiet, repeat, change, resolve, damp flapping, silence, match."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from deploywatch.config.alerts import (
    AlertmanagerSinkConfig,
    AlertMatch,
    GitHubSinkConfig,
    SinkConfig,
    SlackSinkConfig,
    WebhookSinkConfig,
)
from deploywatch.core.findings import Finding
from deploywatch.core.status import Status
from deploywatch.notify.matchers import parse_matcher
from deploywatch.notify.model import Event, Notification
from deploywatch.notify.router import route
from deploywatch.store.alerts import AlertStateRecord, SilenceRecord

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
SLACK = SlackSinkConfig(webhook="https://hooks.example.com/services/T/B/x", repeat_interval=2 * 3600)


def drift(service: str, status: Status, group: str | None = None) -> Finding:
    labels = {"service": service, **({"group": group} if group else {})}
    return Finding("drift", service, status, f"{service} {status}", {"service": service}, labels)


class Sinks:
    """Runs the router again and again, keeping the state between runs as the store would."""

    def __init__(self, *sinks: tuple[str, SinkConfig]) -> None:
        self.sinks = list(sinks)
        self.states: dict[tuple[str, str], AlertStateRecord] = {}
        self.silences: list[SilenceRecord] = []
        self.rows = 0

    def run(self, at: dt.datetime, *findings: Finding) -> dict[str, list[Notification]]:
        routed = route(findings, self.sinks, self.states, self.silences, now=at, run_id="r")
        for state in routed.states:
            self.states[(state.sink, state.fingerprint)] = state
        self.rows = len(routed.messages)
        for row in routed.messages:
            assert [n["fingerprint"] for n in row.payload["notifications"]] == [
                n.fingerprint for n in routed.notifications[row.sink]
                if n.fingerprint in {m["fingerprint"] for m in row.payload["notifications"]}]
        return routed.notifications


def events(notified: dict[str, list[Notification]], sink: str = "slack") -> list[tuple[str, str]]:
    return [(n.subject, n.event.value) for n in notified.get(sink, [])]


def test_fire_stay_quiet_repeat_change_resolve() -> None:
    sinks = Sinks(("slack", SLACK))
    assert events(sinks.run(T0, drift("worker", Status.WARNING))) == [("worker", "firing")]
    assert events(sinks.run(T0 + HOUR, drift("worker", Status.WARNING))) == []  # unchanged, within 2h
    repeat = sinks.run(T0 + 2 * HOUR, drift("worker", Status.WARNING))["slack"]
    assert [(n.event, n.previous_status, n.firing_since) for n in repeat] == [(Event.REPEAT, Status.WARNING, T0)]
    assert events(sinks.run(T0 + 3 * HOUR, drift("worker", Status.WARNING))) == []  # the repeat reset the clock
    changed = sinks.run(T0 + 3 * HOUR, drift("worker", Status.CRITICAL))["slack"]
    assert [(n.event, n.previous_status, n.status) for n in changed] == [
        (Event.CHANGED, Status.WARNING, Status.CRITICAL)]
    resolved = sinks.run(T0 + 5 * HOUR, drift("worker", Status.OK))["slack"]
    assert [(n.event, n.status, n.previous_status) for n in resolved] == [
        (Event.RESOLVED, Status.OK, Status.CRITICAL)]
    assert resolved[0].duration_seconds == 5 * 3600  # fired from T0 to the resolving run
    assert events(sinks.run(T0 + 6 * HOUR, drift("worker", Status.OK))) == []  # resolved once
    again = sinks.run(T0 + 7 * HOUR, drift("worker", Status.UNKNOWN))["slack"]
    assert [(n.event, n.firing_since) for n in again] == [(Event.FIRING, T0 + 7 * HOUR)]


def test_one_message_per_run_and_sink_holds_every_due_finding() -> None:
    sinks = Sinks(("slack", SLACK))
    found = [drift(f"s{i}", Status.CRITICAL) for i in range(5)] + [drift("fine", Status.OK)]
    notified = sinks.run(T0, *found)
    assert [n.subject for n in notified["slack"]] == [f"s{i}" for i in range(5)]
    assert sinks.rows == 1


def test_resolve_after_damps_flapping() -> None:
    sinks = Sinks(("slack", SLACK.model_copy(update={"resolve_after": 2})))
    sinks.run(T0, drift("worker", Status.CRITICAL))
    assert events(sinks.run(T0 + HOUR, drift("worker", Status.OK))) == []  # one ok run is not enough
    assert events(sinks.run(T0 + HOUR, drift("worker", Status.CRITICAL))) == []  # back: not a new firing
    assert events(sinks.run(T0 + HOUR, drift("worker", Status.OK))) == []  # the streak starts over
    assert events(sinks.run(T0 + HOUR, drift("worker", Status.OK))) == [("worker", "resolved")]


def test_send_resolved_false_resolves_silently_and_the_next_firing_is_new() -> None:
    sinks = Sinks(("slack", SLACK.model_copy(update={"send_resolved": False})))
    sinks.run(T0, drift("worker", Status.CRITICAL))
    assert events(sinks.run(T0 + HOUR, drift("worker", Status.OK))) == []
    assert events(sinks.run(T0 + HOUR, drift("worker", Status.CRITICAL))) == [("worker", "firing")]


def test_findings_absent_from_a_run_are_left_alone() -> None:
    sinks = Sinks(("slack", SLACK))
    sinks.run(T0, drift("worker", Status.CRITICAL), drift("web", Status.WARNING))
    assert events(sinks.run(T0 + 5 * HOUR, drift("web", Status.OK))) == [("web", "resolved")]
    # worker was not looked at: neither repeated nor resolved; it repeats when next seen
    assert events(sinks.run(T0 + 5 * HOUR, drift("worker", Status.CRITICAL))) == [("worker", "repeat")]


def test_match_kind_subject_labels_and_status() -> None:
    critical_only = SLACK.model_copy(update={"match": AlertMatch(kind=["drift"], status=["critical"])})
    predictions = WebhookSinkConfig(url="https://hooks.example.com/x",
                                    match=AlertMatch(labels={"group": "predictions"}, subject=["pred*"]))
    sinks = Sinks(("crit", critical_only), ("pred", predictions))
    check = Finding("check", "rows", Status.CRITICAL, "rows critical", {}, {"check": "rows"})
    notified = sinks.run(T0, drift("prediction-worker", Status.WARNING, "predictions"),
                         drift("web", Status.CRITICAL), drift("predictor", Status.CRITICAL, "other"), check)
    assert events(notified, "crit") == [("web", "firing"), ("predictor", "firing")]
    assert events(notified, "pred") == [("prediction-worker", "firing")]
    # warning -> critical: now it fires for the critical-only sink; critical -> warning: it stops firing there
    notified = sinks.run(T0 + HOUR, drift("prediction-worker", Status.CRITICAL, "predictions"),
                         drift("web", Status.WARNING))
    assert events(notified, "crit") == [("prediction-worker", "firing"), ("web", "resolved")]
    assert events(notified, "pred") == [("prediction-worker", "changed")]


def silence(*matchers: str, until: dt.datetime) -> SilenceRecord:
    return SilenceRecord(id="s1", matchers=[parse_matcher(m).as_json() for m in matchers], comment="rollout",
                         created_by="me", created_at=T0, starts_at=T0, ends_at=until)


def test_a_silenced_finding_is_not_sent_and_fires_after_the_silence() -> None:
    sinks = Sinks(("slack", SLACK))
    sinks.silences = [silence("service=worker", until=T0 + HOUR)]
    routed = route([drift("worker", Status.CRITICAL), drift("web", Status.CRITICAL)], sinks.sinks, sinks.states,
                   sinks.silences, now=T0, run_id="r")
    assert [n.subject for n in routed.notifications["slack"]] == ["web"]
    assert [(s, f.subject, sid) for s, f, sid in routed.silenced] == [("slack", "worker", "s1")]
    for state in routed.states:
        sinks.states[(state.sink, state.fingerprint)] = state
    sinks.silences = []  # expired
    assert events(sinks.run(T0 + HOUR, drift("worker", Status.CRITICAL), drift("web", Status.CRITICAL))) == [
        ("worker", "firing")]


def test_a_silence_keeps_an_already_notified_finding_quiet_until_it_ends() -> None:
    sinks = Sinks(("slack", SLACK))
    sinks.run(T0, drift("worker", Status.WARNING))
    sinks.silences = [silence("kind=drift", "subject=~work.*", until=T0 + 5 * HOUR)]
    assert events(sinks.run(T0 + 3 * HOUR, drift("worker", Status.CRITICAL))) == []
    sinks.silences = []
    assert events(sinks.run(T0 + 6 * HOUR, drift("worker", Status.CRITICAL))) == [("worker", "changed")]


def test_alertmanager_gets_every_firing_alert_on_every_run_one_row_per_url() -> None:
    am = AlertmanagerSinkConfig(urls=["http://am-0:9093", "http://am-1:9093"])
    sinks = Sinks(("am", am))
    for hours in range(3):
        assert events(sinks.run(T0 + hours * HOUR, drift("worker", Status.CRITICAL)), "am") == [
            ("worker", "firing" if hours == 0 else "repeat")]
        assert sinks.rows == 2
    assert events(sinks.run(T0 + 3 * HOUR, drift("worker", Status.OK)), "am") == [("worker", "resolved")]


def test_github_gets_one_row_per_finding() -> None:
    gh = GitHubSinkConfig(repo="acme/platform", token="t0ken-value")
    sinks = Sinks(("gh", gh))
    sinks.run(T0, *[drift(f"s{i}", Status.CRITICAL) for i in range(3)])
    assert sinks.rows == 3


@pytest.mark.parametrize(("matchers", "labels", "expected"), [
    (["service=worker"], {"service": "worker"}, True),
    (["service!=worker"], {"service": "worker"}, False),
    (["service=~work.*"], {"service": "worker"}, True),
    (["service=~work"], {"service": "worker"}, False),  # anchored, as in Alertmanager
    (["service!~web|api"], {"service": "worker"}, True),
    (["group=predictions", "service=worker"], {"service": "worker"}, False),  # a missing label is ""
    (["group="], {"service": "worker"}, True),
])
def test_matchers(matchers: Sequence[str], labels: dict[str, str], expected: bool) -> None:
    parsed = [parse_matcher(m) for m in matchers]
    assert all(m.matches(labels) for m in parsed) is expected
