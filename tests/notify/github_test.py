"""The GitHub sink against a stateful fake of GitHub's issues API on 127.0.0.1, with real httpx clients."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from deploywatch.config.alerts import GitHubSinkConfig
from deploywatch.core.findings import fingerprint
from deploywatch.core.status import Status
from deploywatch.notify.github import GitHubSink, marker
from deploywatch.notify.model import Delivery, Event, Message, Notification
from notify.samples import drift_details
from testing import github_api as fake
from testing.github_api import DEFAULT_TOKEN, GitHubAPI

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
LABELS = ["deploywatch", "drift-alerts"]
DRIFT_FP = fingerprint("drift", "prediction-worker")
_ids = itertools.count(1)


def drift(event: Event = Event.FIRING, status: Status = Status.CRITICAL, previous: Status | None = None, *,
          at: datetime = T0, since: datetime | None = T0, subject: str = "prediction-worker",
          summary: str = "3 relevant commits behind for 26h", reason: str = "3 relevant commits behind",
          commits: list[dict[str, str]] | None = None, **details: Any) -> Notification:
    """A drift notification with the details the drift collector reports (three commits listed)."""
    if commits is None:
        commits = [{"sha": f"{i:040x}", "subject": f"predictions: change {i}", "author": "Ada Lovelace",
                    "on_branch_at": "2026-05-03T06:00:00Z"} for i in range(1, 4)]
    base = drift_details(subject, status, reason=reason, commits=commits, **details)
    return Notification(fingerprint=fingerprint("drift", subject), kind="drift", subject=subject, event=event,
                        status=status, previous_status=previous, summary=summary, at=at, firing_since=since,
                        details=base, labels={"group": "predictions"})


def message(*notifications: Notification, id: str | None = None) -> Message:
    """A per-finding message with a fresh outbox id (or ``id``, for a retry of the same message)."""
    return Message(id=id or f"msg-{next(_ids)}", sink="github", created_at=T0, notifications=notifications,
                   run_id="run-42")


def make_sink(api: GitHubAPI, *, token: str = DEFAULT_TOKEN, repo: str | None = None, timeout: float = 2,
              labels: list[str] | None = None) -> GitHubSink:
    config = GitHubSinkConfig(repo=repo or api.repo, token=token, api_url=api.url, labels=labels or LABELS,
                              timeout=2)
    if timeout != 2:  # the config takes whole seconds; the tests want shorter deadlines
        config = config.model_copy(update={"timeout": timeout})
    return GitHubSink("github", config)


@pytest.fixture
def sink(github_api: GitHubAPI) -> GitHubSink:
    return make_sink(github_api)


@pytest.fixture
def send(sink: GitHubSink, client: httpx.Client) -> Callable[..., Delivery]:
    def deliver(*notifications: Notification, id: str | None = None) -> Delivery:
        return sink.deliver(message(*notifications, id=id), client)

    return deliver


def only_issue(api: GitHubAPI, fp: str = DRIFT_FP) -> fake.FakeIssue:
    found = api.with_marker(marker(fp))
    assert len(found) == 1, [i.number for i in found]
    return found[0]


# -- the life of an issue -------------------------------------------------------------------------------


def test_firing_creates_an_issue_with_the_marker_labels_and_details(github_api: GitHubAPI,
                                                                    send: Callable[..., Delivery]) -> None:
    result = send(drift())

    assert result.ok and dict(result.detail) == {"issue": 1, "action": "created"}
    issue = only_issue(github_api)
    assert issue.title == "[deploywatch] drift: prediction-worker is critical"
    assert issue.labels == LABELS and issue.state == "open"
    body = issue.body or ""
    assert body.startswith(marker(DRIFT_FP))
    assert "> 3 relevant commits behind for 26h" in body
    assert "**Deployed commit:** <code>a1b2c3d4e5f6</code>" in body
    assert "**Commits behind:** 14 (3 relevant)" in body
    assert "**Drifting for:** 26h" in body
    assert "<code>kubectl rollout restart deploy/prediction-worker</code>" in body
    assert "#### Relevant commits not deployed (3)" in body
    assert "| predictions: change 2 | Ada Lovelace |" in body
    assert "**Labels:** group=predictions" in body
    assert github_api.labels.keys() == {"deploywatch", "drift-alerts"}  # created implicitly
    assert github_api.comments(1) == []

    listing, create = github_api.requests
    assert listing.method == "GET" and listing.path == "/repos/octo-org/alerts/issues"
    assert listing.query == {"labels": "deploywatch,drift-alerts", "state": "all", "sort": "updated",
                             "direction": "desc", "per_page": "100"}
    assert create.method == "POST" and create.json["labels"] == LABELS
    for seen in github_api.requests:
        assert seen.headers["authorization"] == f"Bearer {DEFAULT_TOKEN}"
        assert seen.headers["accept"] == "application/vnd.github+json"
        assert seen.headers["x-github-api-version"] == "2022-11-28"


def test_repeat_updates_and_comments_on_the_same_issue(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    send(drift())
    result = send(drift(Event.REPEAT, previous=Status.CRITICAL, at=T0 + timedelta(hours=6),
                        summary="5 relevant commits behind for 32h", relevant_commits_behind=5))

    assert result.ok and dict(result.detail) == {"issue": 1, "action": "updated"}
    issue = only_issue(github_api)
    assert len(github_api.issues) == 1
    assert "> 5 relevant commits behind for 32h" in (issue.body or "")
    assert "**Commits behind:** 14 (5 relevant)" in (issue.body or "")
    (comment,) = github_api.comments(1)
    assert comment.startswith("🔴 Still firing for 6h: **critical**.")
    assert "> 5 relevant commits behind for 32h" in comment
    assert "run <code>run-42</code>" in comment


def test_a_status_change_retitles_and_says_what_changed(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    send(drift(status=Status.WARNING))
    assert github_api.issues[1].title.endswith("is warning")

    result = send(drift(Event.CHANGED, Status.CRITICAL, Status.WARNING, at=T0 + timedelta(hours=1)))

    assert dict(result.detail) == {"issue": 1, "action": "updated"}
    issue = only_issue(github_api)
    assert issue.title == "[deploywatch] drift: prediction-worker is critical"
    assert "**Status:** **critical** (was warning)" in (issue.body or "")
    assert github_api.comments(1)[0].startswith("🔴 Status changed: **warning → critical**.")


def test_resolved_comments_and_closes_as_completed(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    send(drift())
    at = T0 + timedelta(hours=3, minutes=12)
    result = send(drift(Event.RESOLVED, Status.OK, Status.CRITICAL, at=at, summary="up to date"))

    assert result.ok and dict(result.detail) == {"issue": 1, "action": "closed"}
    issue = only_issue(github_api)
    assert (issue.state, issue.state_reason) == ("closed", "completed")
    assert issue.title.endswith("is critical")  # the list of closed issues still says what it was
    assert "**Status:** **ok** — resolved" in (issue.body or "")
    (comment,) = github_api.comments(1)
    assert comment.startswith("✅ Resolved after 3h 12m.")
    patch = github_api.calls("PATCH")[-1]
    assert patch.json["state"] == "closed" and patch.json["state_reason"] == "completed"


def test_resolved_without_an_issue_does_nothing(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    result = send(drift(Event.RESOLVED, Status.OK, Status.CRITICAL))

    assert result.ok and dict(result.detail) == {"issue": None, "action": "none"}
    assert github_api.issues == {}
    assert [r.method for r in github_api.requests] == ["GET"]


def test_a_recurrence_reopens_the_same_issue(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    send(drift())
    send(drift(Event.RESOLVED, Status.OK, Status.CRITICAL, at=T0 + timedelta(hours=1)))
    result = send(drift(Event.FIRING, Status.WARNING, at=T0 + timedelta(days=2), since=T0 + timedelta(days=2)))

    assert result.ok and dict(result.detail) == {"issue": 1, "action": "reopened"}
    issue = only_issue(github_api)
    assert len(github_api.issues) == 1
    assert (issue.state, issue.state_reason, issue.closed_at) == ("open", "reopened", None)
    assert issue.title.endswith("is warning")
    assert github_api.comments(1)[-1].startswith("🟡 Fired again: **warning**.")

    # and it closes and reopens again the next time round
    send(drift(Event.RESOLVED, Status.OK, Status.WARNING, at=T0 + timedelta(days=3)))
    assert dict(send(drift(at=T0 + timedelta(days=4))).detail) == {"issue": 1, "action": "reopened"}
    assert len(github_api.issues) == 1


def test_a_resolved_issue_already_closed_by_hand_is_left_alone(github_api: GitHubAPI,
                                                               send: Callable[..., Delivery]) -> None:
    github_api.create_issue("old", f"{marker(DRIFT_FP)}\n", LABELS, state="closed", state_reason="not_planned")

    result = send(drift(Event.RESOLVED, Status.OK, Status.CRITICAL))

    assert dict(result.detail) == {"issue": 1, "action": "none"}
    assert github_api.issues[1].state_reason == "not_planned" and github_api.comments(1) == []


def test_a_test_notification_comments_as_a_test(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    send(drift())
    result = send(drift(Event.TEST))

    assert dict(result.detail) == {"issue": 1, "action": "updated"}
    assert github_api.comments(1)[0].startswith("🧪 Test notification from deploywatch")


def test_a_check_renders_its_details(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    details = {"name": "orders_fresh", "phase": "post-load", "table": "analytics.orders", "group": {"region": "eu"},
               "metric": "freshness", "value": 93600, "unit": "seconds", "status": "critical", "warn": "> 2h",
               "critical": "> 24h", "reason": "newest row is 26h old",
               "anomaly": {"mean": 3600.0, "stddev": 600.0, "z": 150.0}}
    note = Notification(fingerprint=fingerprint("check", "orders_fresh[region=eu]"), kind="check",
                        subject="orders_fresh[region=eu]", event=Event.FIRING, status=Status.CRITICAL,
                        previous_status=None, summary="orders_fresh[region=eu] critical: newest row is 26h old",
                        at=T0, details=details)

    assert send(note).ok
    issue = only_issue(github_api, note.fingerprint)
    body = issue.body or ""
    assert issue.title == "[deploywatch] check: orders_fresh[region=eu] is critical"
    assert "**Check:** orders\\_fresh" in body
    assert "**Group:** region=eu" in body
    assert "**Value:** 26h" in body
    assert "**Thresholds:** warn <code>&gt; 2h</code>, critical <code>&gt; 24h</code>" in body
    assert "**Anomaly:** z = 150 (mean 3,600, stddev 600)" in body


def test_each_notification_of_a_grouped_message_gets_its_issue(github_api: GitHubAPI,
                                                               send: Callable[..., Delivery]) -> None:
    result = send(drift(), drift(subject="billing-api"))

    assert result.ok
    assert [dict(d) for d in result.detail["issues"]] == [{"issue": 1, "action": "created"},
                                                          {"issue": 2, "action": "created"}]
    assert only_issue(github_api, fingerprint("drift", "billing-api")).number == 2


# -- finding the issue ----------------------------------------------------------------------------------


def test_the_marker_is_found_on_the_third_page(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    old = T0 - timedelta(days=30)
    target = github_api.create_issue("deploywatch drift", f"{marker(DRIFT_FP)}\nold body", LABELS,
                                     created_at=old, updated_at=old)
    for i in range(250):
        when = T0 - timedelta(days=20) + timedelta(minutes=i)
        body = marker(f"other{i:04d}") if i % 2 else "written by a person"
        github_api.create_issue(f"other {i}", body, LABELS, state="closed" if i % 3 else "open", created_at=when,
                                updated_at=when)

    result = send(drift(Event.REPEAT, previous=Status.CRITICAL))

    assert dict(result.detail) == {"issue": target.number, "action": "updated"}
    assert len(github_api.issues) == 251
    pages = github_api.calls("GET")
    assert [r.query.get("page") for r in pages] == [None, "2", "3"]
    assert [r.path for r in pages[1:]] == [f"/repositories/{github_api.repo_id}/issues"] * 2  # Link followed
    assert all(r.query["labels"] == "deploywatch,drift-alerts" for r in pages)


def test_issues_without_the_marker_or_the_labels_are_ignored(github_api: GitHubAPI,
                                                              send: Callable[..., Delivery]) -> None:
    github_api.create_issue("no marker", "drift of prediction-worker", LABELS)
    github_api.create_issue("another finding", marker("0123456789abcdef"), LABELS)
    github_api.create_issue("prefix only", marker(DRIFT_FP).replace(" -->", "0 -->"), LABELS)
    github_api.create_issue("one label short", marker(DRIFT_FP), ["deploywatch"])
    github_api.create_issue("no body", None, LABELS)

    result = send(drift())

    assert dict(result.detail) == {"issue": 6, "action": "created"}
    assert [i.number for i in github_api.with_marker(marker(DRIFT_FP)) if set(LABELS) <= set(i.labels)] == [6]


def test_the_open_issue_wins_over_more_recently_updated_closed_ones(github_api: GitHubAPI,
                                                                     send: Callable[..., Delivery]) -> None:
    github_api.create_issue("open", marker(DRIFT_FP), LABELS, updated_at=T0 - timedelta(days=9))
    github_api.create_issue("closed", marker(DRIFT_FP), LABELS, state="closed", updated_at=T0 - timedelta(days=1))

    assert dict(send(drift(Event.REPEAT)).detail) == {"issue": 1, "action": "updated"}
    assert github_api.issues[2].state == "closed"


def test_of_closed_issues_the_most_recently_updated_is_reopened(github_api: GitHubAPI,
                                                                send: Callable[..., Delivery]) -> None:
    github_api.create_issue("older", marker(DRIFT_FP), LABELS, state="closed", updated_at=T0 - timedelta(days=9))
    github_api.create_issue("newer", marker(DRIFT_FP), LABELS, state="closed", updated_at=T0 - timedelta(days=1))
    github_api.create_issue("oldest", marker(DRIFT_FP), LABELS, state="closed", updated_at=T0 - timedelta(days=20))

    assert dict(send(drift()).detail) == {"issue": 2, "action": "reopened"}
    assert [i.state for i in github_api.issues.values()] == ["closed", "open", "closed"]


def test_values_from_findings_cannot_inject_markers_markup_or_mentions(github_api: GitHubAPI,
                                                                       send: Callable[..., Delivery]) -> None:
    other = "feedfacecafe0001"
    evil = f"@octocat see <!-- deploywatch:fingerprint={other} --> | **bold** <img src=x>"
    send(drift(summary=evil, reason=evil, deploy=f"deploy {evil}",
               commits=[{"sha": "1" * 40, "subject": evil, "author": "@root", "on_branch_at": "2026-05-03T06:00Z"}]))

    body = github_api.issues[1].body or ""
    assert marker(other) not in body
    assert "<img" not in body and "@octocat" not in body and "@root" not in body
    assert "\\*\\*bold\\*\\*" in body and "\\|" in body
    assert github_api.with_marker(marker(other)) == []


# -- retries are idempotent ------------------------------------------------------------------------------


@pytest.mark.parametrize("lost", ["error", "drop"])
def test_a_lost_create_response_does_not_open_a_second_issue(github_api: GitHubAPI, send: Callable[..., Delivery],
                                                             lost: fake.FaultKind) -> None:
    github_api.fail_next(lost, method="POST", path=r"/issues$", status=502, after=True)

    first = send(drift(), id="outbox-7")
    assert not first.ok and not first.permanent
    assert len(github_api.issues) == 1  # GitHub created it; the answer never arrived

    retry = send(drift(), id="outbox-7")
    assert retry.ok and dict(retry.detail) == {"issue": 1, "action": "created"}
    assert len(github_api.issues) == 1 and github_api.comments(1) == []
    assert len(github_api.calls("POST", r"/issues$")) == 1


def test_a_lost_update_response_does_not_comment_twice(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    send(drift())
    github_api.fail_next("error", method="PATCH", status=500, after=True)

    first = send(drift(Event.REPEAT, at=T0 + timedelta(hours=4)), id="outbox-8")
    assert not first.ok and not first.permanent and "HTTP 500 (Server Error)" in (first.error or "")

    retry = send(drift(Event.REPEAT, at=T0 + timedelta(hours=4)), id="outbox-8")
    assert dict(retry.detail) == {"issue": 1, "action": "updated"}
    assert len(github_api.comments(1)) == 1


def test_a_failed_comment_is_retried_and_then_updates(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    send(drift())
    github_api.fail_next("error", method="POST", path=r"/comments$", status=503)

    first = send(drift(Event.CHANGED, Status.CRITICAL, Status.WARNING), id="outbox-9")
    assert not first.ok and not first.permanent and github_api.comments(1) == []

    retry = send(drift(Event.CHANGED, Status.CRITICAL, Status.WARNING), id="outbox-9")
    assert dict(retry.detail) == {"issue": 1, "action": "updated"} and len(github_api.comments(1)) == 1


def test_a_lost_close_response_is_not_closed_twice(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    send(drift())
    github_api.fail_next("drop", method="PATCH", after=True)
    resolved = drift(Event.RESOLVED, Status.OK, Status.CRITICAL, at=T0 + timedelta(hours=1))

    assert not send(resolved, id="outbox-10").ok
    retry = send(resolved, id="outbox-10")

    assert dict(retry.detail) == {"issue": 1, "action": "closed"}
    assert len(github_api.comments(1)) == 1 and github_api.issues[1].state == "closed"


# -- errors ---------------------------------------------------------------------------------------------


def test_bad_credentials_are_permanent(github_api: GitHubAPI, client: httpx.Client) -> None:
    result = make_sink(github_api, token="not-the-token-1234").deliver(message(drift()), client)

    assert not result.ok and result.permanent
    assert result.error == ("GitHub octo-org/alerts: listing issues: HTTP 401 (Bad credentials): check the token")
    assert "not-the-token-1234" not in repr(result)


def test_an_unknown_repository_is_permanent(github_api: GitHubAPI, client: httpx.Client) -> None:
    result = make_sink(github_api, repo="octo-org/missing").deliver(message(drift()), client)

    assert not result.ok and result.permanent
    assert "listing issues: HTTP 404 (Not Found): check the repository name" in (result.error or "")


def test_a_forbidden_answer_that_is_no_rate_limit_is_permanent(github_api: GitHubAPI,
                                                               send: Callable[..., Delivery]) -> None:
    github_api.fail_next("error", status=403, message="Resource not accessible by personal access token")

    result = send(drift())

    assert not result.ok and result.permanent
    assert "HTTP 403 (Resource not accessible by personal access token)" in (result.error or "")


def test_a_validation_error_is_permanent_with_githubs_reasons(github_api: GitHubAPI,
                                                              send: Callable[..., Delivery]) -> None:
    result = send(drift(commits=[{"sha": f"{i:040x}", "subject": "x" * 3000, "author": "a", "on_branch_at": "t"}
                                 for i in range(25)], deploy="y" * 70000))

    # the body is cut to fit GitHub's limit, so GitHub accepts it
    assert result.ok
    assert len(github_api.issues[1].body or "") <= 65536

    github_api.fail_next("error", status=422, message="Validation Failed")
    result = send(drift(Event.REPEAT))
    assert result.permanent and "HTTP 422 (Validation Failed)" in (result.error or "")


def test_a_long_subject_is_clipped_to_githubs_title_limit(github_api: GitHubAPI,
                                                         send: Callable[..., Delivery]) -> None:
    assert send(drift(subject="s" * 400)).ok
    assert len(github_api.issues[1].title) == 256 and github_api.issues[1].title.endswith("…")


@pytest.mark.parametrize("status", [403, 429])
def test_the_primary_rate_limit_is_retried_when_it_resets(github_api: GitHubAPI, send: Callable[..., Delivery],
                                                          status: int) -> None:
    github_api.fail_next("primary_rate_limit", status=status, reset_in=120)

    result = send(drift())

    assert not result.ok and not result.permanent
    assert result.retry_after is not None and 117 <= result.retry_after <= 120
    assert f"HTTP {status} (API rate limit exceeded for user ID 583231." in (result.error or "")


def test_an_exhausted_quota_is_retried_when_it_resets(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    github_api.rate_remaining = 0
    github_api.rate_reset = int(time.time()) + 900

    result = send(drift())

    assert not result.permanent and result.retry_after is not None and 897 <= result.retry_after <= 900
    assert github_api.issues == {}


@pytest.mark.parametrize(("status", "retry_after", "expected"), [(403, 45, 45.0), (429, 7, 7.0), (403, None, 60.0)])
def test_the_secondary_rate_limit_is_retried_after_what_github_says(
        github_api: GitHubAPI, send: Callable[..., Delivery], status: int, retry_after: int | None,
        expected: float) -> None:
    send(drift())
    github_api.fail_next("secondary_rate_limit", method="POST", status=status, retry_after=retry_after)

    result = send(drift(Event.REPEAT))

    assert not result.ok and not result.permanent and result.retry_after == expected
    assert "secondary rate limit" in (result.error or "")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(github_api: GitHubAPI, send: Callable[..., Delivery], status: int) -> None:
    github_api.fail_next("error", status=status)

    result = send(drift())

    assert not result.ok and not result.permanent
    assert (result.error or "").startswith(f"GitHub octo-org/alerts: listing issues: HTTP {status}")
    assert "<html" not in (result.error or "")


def test_a_hanging_api_times_out_and_is_retried(github_api: GitHubAPI, client: httpx.Client) -> None:
    github_api.fail_next("hang", seconds=3)
    started = time.monotonic()

    result = make_sink(github_api, timeout=0.3).deliver(message(drift()), client)

    assert time.monotonic() - started < 1.5
    assert not result.ok and not result.permanent
    assert result.error == "GitHub octo-org/alerts: listing issues: GET timed out after 0.3s"


def test_a_dropped_connection_is_retried(github_api: GitHubAPI, send: Callable[..., Delivery]) -> None:
    github_api.fail_next("drop")

    result = send(drift())

    assert not result.ok and not result.permanent and "GET failed" in (result.error or "")


def test_nothing_listens_is_retried(client: httpx.Client) -> None:
    from testing.http import closed_port

    config = GitHubSinkConfig(repo="octo-org/alerts", token=DEFAULT_TOKEN, api_url=f"http://127.0.0.1:{closed_port()}")

    result = GitHubSink("github", config).deliver(message(drift()), client)

    assert not result.ok and not result.permanent


def test_the_token_never_leaks(github_api: GitHubAPI, client: httpx.Client) -> None:
    token = DEFAULT_TOKEN
    sink = make_sink(github_api)
    leaky = drift(summary=f"deploy failed: {token}", deploy=f"deploy --auth {token}", reason=f"saw {token}",
                  commits=[{"sha": "1" * 40, "subject": f"rotate {token}", "author": token, "on_branch_at": "t"}])
    results = [sink.deliver(message(leaky), client)]
    results.append(sink.deliver(message(drift(Event.REPEAT, summary=f"still {token}")), client))
    github_api.fail_next("error", status=422, message=f"token {token} is invalid")
    results.append(sink.deliver(message(drift(Event.REPEAT)), client))
    github_api.fail_next("error", status=500, message=f"boom {token}")
    results.append(sink.deliver(message(drift(Event.REPEAT)), client))
    results.append(make_sink(github_api, token=token + "x").deliver(message(drift()), client))
    results.append(sink.deliver(message(drift(Event.RESOLVED, Status.OK, summary=f"ok {token}")), client))

    assert [r.ok for r in results] == [True, True, False, False, False, True]
    shown = [repr(sink), str(sink), repr(results), *(r.error or "" for r in results)]
    for issue in github_api.issues.values():
        shown += [issue.title, issue.body or "", *github_api.comments(issue.number)]
    for seen in github_api.requests:
        shown.append(repr(seen.json))
    assert shown and not [text for text in shown if token in text]
    created = github_api.calls("POST", r"/issues$")[0].json["body"]
    assert "<code>deploy --auth ***</code>" in created and "> deploy failed: \\*\\*\\*" in created


# -- GitHub Enterprise ----------------------------------------------------------------------------------


def test_an_api_url_with_a_path_prefix(github_api_factory: Callable[..., GitHubAPI], client: httpx.Client) -> None:
    api = github_api_factory(prefix="/api/v3")
    for i in range(120):
        api.create_issue(f"other {i}", marker(f"other{i}"), LABELS, updated_at=T0 + timedelta(minutes=i))
    api.create_issue("ours", marker(DRIFT_FP), LABELS, state="closed", updated_at=T0 - timedelta(days=1))

    result = make_sink(api).deliver(message(drift()), client)

    assert dict(result.detail) == {"issue": 121, "action": "reopened"}
    assert api.url.endswith("/api/v3")
    assert [r.path for r in api.requests] == [
        "/api/v3/repos/octo-org/alerts/issues", f"/api/v3/repositories/{api.repo_id}/issues",
        "/api/v3/repos/octo-org/alerts/issues/121/comments", "/api/v3/repos/octo-org/alerts/issues/121"]


def test_a_next_page_on_another_host_is_not_followed(github_api: GitHubAPI, client: httpx.Client) -> None:
    for i in range(101):
        github_api.create_issue(f"other {i}", marker(f"other{i}"), LABELS)
    # the fake's Link URLs name 127.0.0.1; configured as localhost, they point at another host
    config = GitHubSinkConfig(repo=github_api.repo, token=DEFAULT_TOKEN, labels=LABELS,
                              api_url=github_api.url.replace("127.0.0.1", "localhost"))

    result = GitHubSink("github", config).deliver(message(drift()), client)

    assert result.permanent
    assert result.error == "GitHub octo-org/alerts: listing issues: the next page is on another host"
    assert len(github_api.calls("GET")) == 1 and len(github_api.issues) == 101


# -- the fake itself is faithful to GitHub ---------------------------------------------------------------


def _get(api: GitHubAPI, path: str, token: str | None = DEFAULT_TOKEN, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return httpx.get(f"{api.url}{path}", params=params, headers=headers, timeout=5)


def test_fake_paginates_with_githubs_link_header(github_api: GitHubAPI) -> None:
    for i in range(7):
        github_api.create_issue(f"issue {i}", None, ["a", "b"] if i % 2 else ["a"],
                                created_at=T0 + timedelta(minutes=i))

    first = _get(github_api, "/repos/octo-org/alerts/issues", labels="a", per_page=3)
    middle = _get(github_api, "/repos/octo-org/alerts/issues", labels="a", per_page=3, page=2)
    last = _get(github_api, "/repos/octo-org/alerts/issues", labels="a", per_page=3, page=3)

    base = f"{github_api.url}/repositories/{github_api.repo_id}/issues?labels=a&per_page=3&page="
    assert first.headers["link"] == f'<{base}2>; rel="next", <{base}3>; rel="last"'
    assert middle.headers["link"] == (f'<{base}1>; rel="prev", <{base}3>; rel="next", <{base}3>; rel="last", '
                                      f'<{base}1>; rel="first"')
    assert last.headers["link"] == f'<{base}2>; rel="prev", <{base}1>; rel="first"'
    assert [i["number"] for i in first.json()] == [7, 6, 5]  # newest first
    assert [i["number"] for i in last.json()] == [1]
    assert [i["number"] for i in _get(github_api, "/repos/octo-org/alerts/issues", labels="b,a").json()] == [6, 4, 2]
    assert "link" not in _get(github_api, "/repos/octo-org/alerts/issues").headers
    assert len(_get(github_api, "/repos/octo-org/alerts/issues", per_page=500).json()) == 7


def test_fake_answers_like_github(github_api: GitHubAPI) -> None:
    github_api.create_issue("closed one", None, state="closed")
    assert _get(github_api, "/repos/octo-org/alerts/issues").json() == []  # state=open by default
    assert len(_get(github_api, "/repos/octo-org/alerts/issues", state="all").json()) == 1

    response = _get(github_api, "/repos/octo-org/alerts/issues", token="wrong")
    assert response.status_code == 401 and response.json()["message"] == "Bad credentials"
    assert _get(github_api, "/repos/octo-org/alerts/issues", token=None).json()["message"] == "Requires authentication"
    assert _get(github_api, "/repos/octo-org/other/issues").status_code == 404
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-used"):
        assert name in response.headers

    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    url = f"{github_api.url}/repos/octo-org/alerts/issues"
    missing = httpx.post(url, json={"body": "no title"}, headers=headers)
    assert missing.status_code == 422 and "\"title\" wasn't supplied" in missing.json()["message"]
    created = httpx.post(url, json={"title": "t", "labels": ["New-Label"]}, headers=headers)
    assert created.status_code == 201
    issue = created.json()
    assert issue["labels"][0]["name"] == "New-Label" and issue["state_reason"] is None
    assert issue["html_url"] == f"https://github.com/octo-org/alerts/issues/{issue['number']}"
    closed = httpx.patch(f"{url}/{issue['number']}", json={"state": "closed", "state_reason": "not_planned"},
                         headers=headers).json()
    assert (closed["state"], closed["state_reason"]) == ("closed", "not_planned") and closed["closed_at"]
    reopened = httpx.patch(f"{url}/{issue['number']}", json={"state": "open"}, headers=headers).json()
    assert (reopened["state"], reopened["state_reason"], reopened["closed_at"]) == ("open", "reopened", None)
    comment = httpx.post(f"{url}/{issue['number']}/comments", json={"body": "hi"}, headers=headers)
    assert comment.status_code == 201 and comment.json()["body"] == "hi"
    listed = httpx.get(f"{url}/{issue['number']}/comments", headers=headers).json()
    assert [c["body"] for c in listed] == ["hi"]
    assert httpx.get(f"{url}/{issue['number']}", headers=headers).json()["comments"] == 1
