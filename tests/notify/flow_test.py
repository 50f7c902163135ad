"""End to end: findings routed through the CLI (``drift``, ``canary``, ``alerts``, ``silence``) to the fake Slack,
webhook, GitHub and Alertmanager servers, with the real store, real git and, for crashes and races, real processes.

The demo workspace (git repository, DuckDB warehouse, config with 7 services) is built once per module and
copied for each test; a test "deploys" a service by writing a commit into its ``deployed/<service>.sha`` file.
Time is driven by ``--now``: the demo is built at :data:`T` and runs happen at ``T + minutes``.

At :data:`T` the demo's drift is: prediction-worker critical, raw-processors unknown, scrapers, precompute and
grading warning, analytics-processors and prediction-coordinator ok. Drift ages grow with ``--now``; grading
turns critical at T+6h, so no test here goes past T+5h.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from deploywatch.cli import main
from deploywatch.core.findings import fingerprint
from deploywatch.demo import build_demo
from deploywatch.drift.git import clean_env
from deploywatch.notify.github import marker
from deploywatch.store import Store
from testing.alertmanager_api import FakeAlertmanager, parse_rfc3339
from testing.github_api import DEFAULT_REPO, DEFAULT_TOKEN, GitHubAPI, serve_github
from testing.slack_api import FakeSlack, slack_problem
from testing.webhook_api import FakeWebhook

T = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
FIRING_AT_T = {"prediction-worker": "critical", "raw-processors": "unknown", "scrapers": "warning",
               "precompute": "warning", "grading": "warning"}
OK_AT_T = {"analytics-processors", "prediction-coordinator"}
WORKER = "prediction-worker"
SUBPROCESS_TIMEOUT = 60


def iso(minutes: float = 0) -> str:
    """``T + minutes`` as the ``--now`` argument."""
    return (T + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------------------ fixtures


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Demo:
    """A copy of the demo workspace."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "deploywatch.toml"
        self.repo = root / "repo"
        self.store = root / ".deploywatch" / "state.db"

    def add(self, toml: str) -> None:
        """Append ``toml`` to the config."""
        self.config.write_text(self.config.read_text(encoding="utf-8") + "\n" + toml + "\n", encoding="utf-8")

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.repo), *args], capture_output=True, text=True, check=True,
                              env=clean_env(), timeout=30).stdout.strip()

    @property
    def tip(self) -> str:
        return self.git("rev-parse", "main")

    def deployed(self, service: str) -> str:
        return (self.root / "deployed" / f"{service}.sha").read_text(encoding="utf-8").strip()

    def deploy(self, service: str, commit: str) -> None:
        (self.root / "deployed" / f"{service}.sha").write_text(commit + "\n", encoding="utf-8")

    def rows(self, table: str) -> list[sqlite3.Row]:
        with sqlite3.connect(self.store) as conn:
            conn.row_factory = sqlite3.Row
            result = conn.execute(f"SELECT * FROM {table}").fetchall()
        conn.close()
        return result


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("flow") / "demo"
    build_demo(root, now=T)
    return root


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Demo:
    root = tmp_path / "demo"
    shutil.copytree(demo_template, root, symlinks=True)
    return Demo(root)


@pytest.fixture
def dw(demo: Demo, capsys: pytest.CaptureFixture[str],
       monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run ``deploywatch ARGS --config <demo> --now T+minutes`` in this process."""
    monkeypatch.delenv("DEPLOYWATCH_CONFIG", raising=False)
    monkeypatch.delenv("DEPLOYWATCH_CRASH_AT", raising=False)

    def run(*args: str, minutes: float = 0) -> Result:
        capsys.readouterr()
        code = main([*args, "--config", str(demo.config), "--now", iso(minutes)])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def hook() -> Iterator[FakeWebhook]:
    with FakeWebhook() as server:
        yield server


@pytest.fixture
def github() -> Iterator[GitHubAPI]:
    with serve_github() as api:
        yield api


def slack_sink(slack: FakeSlack, extra: str = "", *, url: str | None = None) -> str:
    return f'[[alerts.slack]]\nwebhook = "{url or slack.url}"\n{extra}'


def webhook_sink(hook: FakeWebhook, extra: str = "", *, url: str | None = None) -> str:
    return f'[[alerts.webhook]]\nurl = "{url or hook.url}"\n{extra}'


def dw_process(demo: Demo, *args: str, minutes: float = 0, env: dict[str, str] | None = None
               ) -> subprocess.Popen[str]:
    """Start ``python -m deploywatch ARGS --config <demo> --now T+minutes``."""
    environ = {k: v for k, v in os.environ.items() if k not in ("DEPLOYWATCH_CONFIG", "DEPLOYWATCH_CRASH_AT")}
    environ.update(env or {})
    return subprocess.Popen([sys.executable, "-m", "deploywatch", *args, "--config", str(demo.config),
                             "--now", iso(minutes)], cwd=demo.root, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str]) -> Result:
    try:
        out, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"deploywatch did not finish within {SUBPROCESS_TIMEOUT}s: {err}")
    return Result(proc.returncode, out, err)


# -- what the fakes received -------------------------------------------------------------------------------


def posts(hook: FakeWebhook) -> list[list[dict[str, Any]]]:
    """The notifications of each accepted webhook POST, oldest first."""
    return [body["notifications"] for body in hook.received]


def timeline(batches: Sequence[Sequence[dict[str, Any]]]) -> dict[str, list[str]]:
    """Per subject, the events it was sent in, in order."""
    events: dict[str, list[str]] = {}
    for batch in batches:
        for n in batch:
            events.setdefault(n["subject"], []).append(n["event"])
    return events


def summary(batch: Sequence[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(subject, event, status) of each notification in one message."""
    return {(n["subject"], n["event"], n["status"]) for n in batch}


def slack_titles(payload: dict[str, Any]) -> dict[str, str]:
    """Per subject, the first line of its section in a Slack message."""
    titles: dict[str, str] = {}
    for block in payload["blocks"]:
        if block["type"] != "section":
            continue
        first = block["text"]["text"].split("\n", 1)[0]
        found = re.search(r"\*([^*]+)\*", first)
        if found:
            titles[found.group(1)] = first
    return titles


def outbox_json(dw: Callable[..., Result], *, delivered: bool = False) -> tuple[int, list[dict[str, Any]]]:
    result = dw("alerts", "pending", *(["--delivered"] if delivered else []), "--format", "json")
    document = result.json()
    assert document["schema"] == "deploywatch.outbox/v1"
    return result.code, document["items"]


# ------------------------------------------------------------------------------------------------ 1. the life


def test_fire_repeat_change_and_resolve_are_each_sent_once(demo: Demo, dw: Callable[..., Result],
                                                           slack: FakeSlack, hook: FakeWebhook) -> None:
    demo.add(slack_sink(slack, 'repeat_interval = "1h"'))
    demo.add(webhook_sink(hook, 'repeat_interval = "1h"'))
    old_worker = demo.deployed(WORKER)
    assert old_worker != demo.tip

    assert dw("drift").code == 2
    assert summary(posts(hook)[0]) == {(s, "firing", status) for s, status in FIRING_AT_T.items()}
    assert dw("drift").code == 2  # the same run again: nothing is due
    assert dw("drift", minutes=30).code == 2  # within repeat_interval: nothing is due
    assert len(hook.received) == 1
    assert len(slack.received) == 1

    assert dw("drift", minutes=60).code == 2
    repeat = posts(hook)[1]
    assert summary(repeat) == {(s, "repeat", status) for s, status in FIRING_AT_T.items()}
    assert all(n["previous_status"] == n["status"] for n in repeat)
    assert all(n["firing_since"] == iso(0) for n in repeat)

    # prediction-worker is deployed (critical -> ok), scrapers rolled back to the first commit (warning -> critical)
    demo.deploy(WORKER, demo.tip)
    demo.deploy("scrapers", demo.git("rev-list", "--max-parents=0", "main"))
    assert dw("drift", minutes=90).code == 2
    change = {n["subject"]: n for n in posts(hook)[2]}
    assert set(change) == {WORKER, "scrapers"}
    resolved = change[WORKER]
    assert (resolved["event"], resolved["status"], resolved["previous_status"]) == ("resolved", "ok", "critical")
    assert resolved["firing_since"] == iso(0)
    assert resolved["at"] == iso(90)
    assert resolved["duration_seconds"] == 90 * 60
    changed = change["scrapers"]
    assert (changed["event"], changed["status"], changed["previous_status"]) == ("changed", "critical", "warning")

    assert dw("drift", minutes=100).code == 2  # nothing new
    assert len(hook.received) == 3
    assert dw("drift", minutes=150).code == 2  # repeats for what still fires; the resolved one stays quiet
    assert summary(posts(hook)[3]) == {("scrapers", "repeat", "critical"), ("raw-processors", "repeat", "unknown"),
                                       ("precompute", "repeat", "warning"), ("grading", "repeat", "warning")}

    assert timeline(posts(hook)) == {
        WORKER: ["firing", "repeat", "resolved"],
        "scrapers": ["firing", "repeat", "changed", "repeat"],
        "raw-processors": ["firing", "repeat", "repeat"],
        "precompute": ["firing", "repeat", "repeat"],
        "grading": ["firing", "repeat", "repeat"],
    }
    # Slack heard exactly the same story, one message per run that had something due
    assert len(slack.received) == 4
    assert [set(slack_titles(p)) for p in slack.received] == [{n["subject"] for n in b} for b in posts(hook)]
    titles = slack_titles(slack.received[2])
    assert titles[WORKER] == "✅ *prediction-worker* · resolved after 1h 30m"
    assert titles["scrapers"] == "🔴 *scrapers* · warning → *critical*"
    assert "still firing for 1h" in slack_titles(slack.received[1])["grading"]
    assert all(r.status == 200 for r in slack.requests)


def test_resolve_after_and_send_resolved(demo: Demo, dw: Callable[..., Result], hook: FakeWebhook) -> None:
    demo.add(webhook_sink(hook, 'name = "patient"\nresolve_after = 2\nmatch = { subject = ["prediction-worker"] }',
                          url=hook.url_with("/patient")))
    demo.add(webhook_sink(hook, 'name = "quiet"\nsend_resolved = false\nmatch = { subject = ["prediction-worker"] }',
                          url=hook.url_with("/quiet")))
    old = demo.deployed(WORKER)

    dw("drift")
    demo.deploy(WORKER, demo.tip)
    dw("drift", minutes=10)  # first ok run: "patient" waits for a second one; "quiet" never says resolved
    dw("drift", minutes=20)
    dw("drift", minutes=30)
    demo.deploy(WORKER, old)
    dw("drift", minutes=40)  # fires again: a new "firing" for both

    def events(path: str) -> list[tuple[str, str]]:
        return [(n["event"], n["at"]) for r in hook.requests if r.path == path for n in r.json["notifications"]]

    assert events("/patient") == [("firing", iso(0)), ("resolved", iso(20)), ("firing", iso(40))]
    assert events("/quiet") == [("firing", iso(0)), ("firing", iso(40))]


# ------------------------------------------------------------------------------------------------ 2. grouping


def test_one_run_is_one_slack_message_and_one_webhook_post(demo: Demo, dw: Callable[..., Result],
                                                           slack: FakeSlack, hook: FakeWebhook) -> None:
    demo.add(slack_sink(slack))
    demo.add(webhook_sink(hook))

    assert dw("drift").code == 2

    assert [r.status for r in slack.requests] == [200]
    payload = slack.received[0]
    assert slack_problem(payload) is None
    assert payload["text"] == "deploywatch: 5 firing (1 critical, 1 unknown, 3 warning)"
    assert payload["blocks"][0]["text"]["text"] == "🔴 5 drifted services"
    titles = slack_titles(payload)
    assert set(titles) == set(FIRING_AT_T)
    assert list(titles)[:2] == [WORKER, "raw-processors"]  # worst first
    sections = "\n".join(b["text"]["text"] for b in payload["blocks"] if b["type"] == "section")
    assert f"Deploy: `../bin/deploy-service.sh {WORKER} " in sections  # filled in: the service and the tip
    assert "{{" not in sections

    assert len(hook.requests) == 1
    body = hook.received[0]
    assert body["schema"] == "deploywatch.notification/v1"
    assert hook.requests[0].headers["content-type"].startswith("application/json")
    assert {n["subject"] for n in body["notifications"]} == set(FIRING_AT_T)
    assert {n["fingerprint"] for n in body["notifications"]} == {fingerprint("drift", s) for s in FIRING_AT_T}
    _, items = outbox_json(dw, delivered=True)
    assert sorted((i["sink"], i["state"], i["attempts"]) for i in items) == [("slack", "delivered", 1),
                                                                           ("webhook", "delivered", 1)]
    assert body["id"] in {i["id"] for i in items}  # the outbox id: stable across retries


# ------------------------------------------------------------------------------------------------ 3. Block Kit


def test_500_failing_checks_fit_in_one_slack_message(tmp_path: Path, slack: FakeSlack, hook: FakeWebhook,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute("CREATE SCHEMA shop; CREATE TABLE shop.orders AS SELECT range AS customer FROM range(500)")
    config = tmp_path / "deploywatch.toml"
    config.write_text(f"""\
[warehouse]
url = "duckdb:///wh.duckdb"

[[checks]]
name = "orders.per_customer"
table = "shop.orders"
group_by = "customer"
metric = "row_count"
critical = "< 2"

{slack_sink(slack)}
{webhook_sink(hook)}
""", encoding="utf-8")

    assert main(["canary", "--config", str(config), "--now", iso(), "--format", "json"]) == 2
    capsys.readouterr()

    assert len(slack.requests) == 1, [r.problem for r in slack.requests]
    assert slack.requests[0].status == 200, slack.requests[0].problem
    payload = slack.received[0]
    assert slack_problem(payload) is None
    assert len(payload["blocks"]) <= 50
    assert payload["text"] == "deploywatch: 500 firing (500 critical)"
    assert payload["blocks"][0]["text"]["text"] == "🔴 500 failing checks"
    shown = len(slack_titles(payload))
    more = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"
            and b["text"]["text"].startswith("…and ")]
    assert more == [f"…and {500 - shown} more ({500 - shown} critical)"]
    assert shown >= 20
    # the webhook has no such limit: every finding, in one POST
    assert len(hook.received) == 1
    assert len(hook.received[0]["notifications"]) == 500


# ------------------------------------------------------------------------------------------------ 4. SIGKILL


def test_sigkill_between_outbox_write_and_send_loses_nothing_and_duplicates_nothing(
        demo: Demo, dw: Callable[..., Result], slack: FakeSlack, hook: FakeWebhook) -> None:
    demo.add(slack_sink(slack))
    demo.add(webhook_sink(hook))

    crashed = finish(dw_process(demo, "drift", env={"DEPLOYWATCH_CRASH_AT": "after-outbox-write"}))

    assert crashed.code == -9, crashed.err
    assert slack.requests == [] and hook.requests == []
    code, items = outbox_json(dw)
    assert code == 1
    assert sorted((i["sink"], i["state"], i["attempts"]) for i in items) == [("slack", "pending", 0),
                                                                           ("webhook", "pending", 0)]
    assert len(demo.rows("alert_state")) == 2 * len(FIRING_AT_T)  # the routing decision was committed

    flushed = dw("alerts", "flush", "--format", "json")
    assert flushed.code == 0, flushed.err
    assert sorted((i["sink"], i["state"]) for i in flushed.json()["items"]) == [("slack", "delivered"),
                                                                              ("webhook", "delivered")]
    assert len(slack.received) == 1 and len(hook.received) == 1
    assert {n["subject"] for n in hook.received[0]["notifications"]} == set(FIRING_AT_T)
    assert set(slack_titles(slack.received[0])) == set(FIRING_AT_T)

    again = dw("alerts", "flush", "--format", "json")
    assert (again.code, again.json()["items"]) == (0, [])
    assert dw("drift").code == 2
    assert len(slack.requests) == 1 and len(hook.requests) == 1
    assert outbox_json(dw) == (0, [])


def test_two_concurrent_flushes_deliver_each_message_once(demo: Demo, dw: Callable[..., Result],
                                                          slack: FakeSlack, hook: FakeWebhook) -> None:
    demo.add(slack_sink(slack))
    demo.add(webhook_sink(hook))
    assert finish(dw_process(demo, "drift", env={"DEPLOYWATCH_CRASH_AT": "after-outbox-write"})).code == -9

    results = [finish(p) for p in [dw_process(demo, "alerts", "flush", "--format", "json") for _ in range(2)]]

    assert [r.code for r in results] == [0, 0], [r.err for r in results]
    delivered = sorted((i["sink"], i["state"]) for r in results for i in r.json()["items"])
    assert delivered == [("slack", "delivered"), ("webhook", "delivered")]  # each row claimed by one process
    assert len(slack.requests) == 1 and len(hook.requests) == 1


# ------------------------------------------------------------------------------------------------ 5. races


def _race(demo: Demo, slack: FakeSlack, hook: FakeWebhook, rounds: int, store_url: str) -> None:
    base = demo.config.read_text(encoding="utf-8")
    for round_ in range(rounds):
        # fresh alert state each round: sinks with new names know nothing yet
        demo.config.write_text(base + "\n" + slack_sink(slack, f'name = "slack-{round_}"') + "\n"
                               + webhook_sink(hook, f'name = "hook-{round_}"') + "\n", encoding="utf-8")
        slack.reset()
        hook.reset()
        procs = [dw_process(demo, "drift", "--format", "json") for _ in range(2)]
        results = [finish(p) for p in procs]
        for result in results:
            assert result.code == 2, result.err
            assert "error" not in result.err, result.err
        assert len(slack.requests) == 1, f"round {round_}: {len(slack.requests)} Slack messages"
        assert len(hook.requests) == 1, f"round {round_}: {len(hook.requests)} webhook posts"
        assert {n["subject"] for n in hook.received[0]["notifications"]} == set(FIRING_AT_T)
        with Store.open(store_url) as store:
            runs = store.runs(command="drift", limit=100)
            rows = [r for r in store.outbox(states=("pending", "dead", "delivered")) if r.sink.endswith(f"-{round_}")]
        assert len([r for r in runs if r.details.get("services") == 7]) >= 2 * (round_ + 1)  # both runs recorded
        assert sorted((r.sink, r.state, r.attempts) for r in rows) == [(f"hook-{round_}", "delivered", 1),
                                                                       (f"slack-{round_}", "delivered", 1)]


def test_two_concurrent_runs_notify_once_sqlite(demo: Demo, slack: FakeSlack, hook: FakeWebhook) -> None:
    _race(demo, slack, hook, rounds=3, store_url=f"sqlite:///{demo.store}")


def test_two_concurrent_runs_notify_once_postgres(demo: Demo, slack: FakeSlack, hook: FakeWebhook,
                                                  postgres_url: str) -> None:
    demo.add(f'[store]\nurl = "{postgres_url}"')
    _race(demo, slack, hook, rounds=2, store_url=postgres_url)


# ------------------------------------------------------------------------------------------------ 6. retries


def test_slack_500_then_ok_is_delivered_once_after_a_retry(demo: Demo, dw: Callable[..., Result],
                                                           slack: FakeSlack) -> None:
    demo.add(slack_sink(slack))
    slack.fail_next("server_error")

    assert dw("drift").code == 2

    assert [r.status for r in slack.requests] == [500, 200]
    assert slack.requests[1].at - slack.requests[0].at >= 0.5  # backoff: 1 s with 50-100 % jitter
    assert len(slack.received) == 1
    code, items = outbox_json(dw, delivered=True)
    assert code == 0
    assert [(i["state"], i["attempts"]) for i in items] == [("delivered", 2)]


def test_slack_429_retry_after_is_honoured(demo: Demo, dw: Callable[..., Result], slack: FakeSlack) -> None:
    demo.add(slack_sink(slack))
    slack.fail_next("rate_limited", retry_after=1)

    assert dw("drift").code == 2

    assert [r.status for r in slack.requests] == [429, 200]
    assert slack.requests[1].at - slack.requests[0].at >= 1.0
    assert outbox_json(dw, delivered=True)[1][0]["attempts"] == 2


@pytest.mark.parametrize("failure", ["invalid_payload", "no_service"])
def test_permanent_slack_failure_is_a_dead_letter_until_retry_dead(
        demo: Demo, dw: Callable[..., Result], slack: FakeSlack, failure: str) -> None:
    demo.add(slack_sink(slack))
    slack.fail_next(failure)  # type: ignore[arg-type]

    run = dw("drift")

    assert run.code == 2
    assert len(slack.requests) == 1
    assert "alert to slack not delivered and will not be retried" in run.err
    assert failure in run.err
    code, items = outbox_json(dw)
    assert code == 2
    assert [(i["state"], i["attempts"]) for i in items] == [("dead", 1)]
    assert failure in items[0]["last_error"]
    table = dw("alerts", "pending")
    assert table.code == 2 and "dead" in table.out

    assert dw("drift", minutes=10).code == 2  # a later run does not retry it
    flushed = dw("alerts", "flush")  # nor does a flush
    assert (flushed.code, flushed.out.strip()) == (0, "nothing to deliver")
    assert len(slack.requests) == 1

    retried = dw("alerts", "flush", "--retry-dead", "--format", "json")
    assert retried.code == 0
    assert [(i["state"], i["attempts"]) for i in retried.json()["items"]] == [("delivered", 2)]
    assert len(slack.received) == 1
    assert set(slack_titles(slack.received[0])) == set(FIRING_AT_T)
    assert outbox_json(dw) == (0, [])


def test_failure_outlasting_retry_for_stays_pending_until_flush(demo: Demo, dw: Callable[..., Result],
                                                               slack: FakeSlack) -> None:
    demo.add('[alerts]\nretry_for = "1s"')
    demo.add(slack_sink(slack))
    slack.fail_next("server_error", count=1000)

    started = time.monotonic()
    run = dw("drift")
    assert time.monotonic() - started < 10
    assert run.code == 2
    assert "alert to slack not delivered yet" in run.err

    code, items = outbox_json(dw)
    assert code == 1
    [item] = items
    assert item["state"] == "pending"
    assert item["attempts"] == len(slack.requests) >= 1
    assert item["next_attempt_at"] is not None
    assert "500" in item["last_error"]
    assert slack.received == []

    slack.reset()  # the server recovers
    flushed = dw("alerts", "flush", "--format", "json")
    assert flushed.code == 0
    assert [i["state"] for i in flushed.json()["items"]] == ["delivered"]
    assert len(slack.received) == 1
    assert outbox_json(dw) == (0, [])


def test_max_attempts_makes_a_transient_failure_dead(demo: Demo, dw: Callable[..., Result],
                                                     slack: FakeSlack) -> None:
    demo.add('[alerts]\nmax_attempts = 2\nretry_for = "20s"')
    demo.add(slack_sink(slack))
    slack.fail_next("server_error", count=1000)

    run = dw("drift")

    assert len(slack.requests) == 2
    assert "gave up after 2 attempts" in run.err
    code, items = outbox_json(dw)
    assert code == 2
    assert [(i["state"], i["attempts"]) for i in items] == [("dead", 2)]
    assert "gave up after 2 attempts" in items[0]["last_error"]


# ------------------------------------------------------------------------------------------------ 7. rate limit


def test_two_messages_to_one_slack_webhook_are_a_second_apart(demo: Demo, dw: Callable[..., Result],
                                                             slack: FakeSlack) -> None:
    # two sinks, one webhook: one run sends two messages, and they share Slack's one-per-second limit
    demo.add(slack_sink(slack, 'name = "oncall"'))
    demo.add(slack_sink(slack, 'name = "team"\nmatch = { status = ["critical"] }'))

    assert dw("drift").code == 2

    assert [r.status for r in slack.requests] == [200, 200]
    gap = slack.requests[1].at - slack.requests[0].at
    assert gap >= 0.95, gap  # the client spaces sends by 1 s; arrival times jitter by a few ms
    assert sorted(len(slack_titles(p)) for p in slack.received) == [1, 5]


def test_pending_messages_flushed_together_are_a_second_apart(demo: Demo, dw: Callable[..., Result],
                                                             slack: FakeSlack) -> None:
    demo.add('[alerts]\nretry_for = "1s"')
    demo.add(slack_sink(slack, 'repeat_interval = "1h"'))
    slack.fail_next("server_error", count=1000)
    dw("drift")
    dw("drift", minutes=60)  # a repeat, failing too
    assert outbox_json(dw)[0] == 1
    assert len(outbox_json(dw)[1]) == 2
    slack.reset()

    flushed = dw("alerts", "flush", "--format", "json")

    assert [i["state"] for i in flushed.json()["items"]] == ["delivered", "delivered"]
    assert [r.status for r in slack.requests] == [200, 200]
    assert slack.requests[1].at - slack.requests[0].at >= 0.95
    assert [set(slack_titles(p)) for p in slack.received] == [set(FIRING_AT_T)] * 2


# ------------------------------------------------------------------------------------------------ 8. GitHub


def test_github_issue_is_opened_closed_and_reopened(demo: Demo, dw: Callable[..., Result],
                                                    github: GitHubAPI) -> None:
    demo.add(f"""[[alerts.github]]
repo = "{DEFAULT_REPO}"
token = "{DEFAULT_TOKEN}"
api_url = "{github.url}"
labels = ["deploywatch", "drift-alert"]
match = {{ subject = ["{WORKER}"] }}""")
    hidden = marker(fingerprint("drift", WORKER))
    old = demo.deployed(WORKER)

    assert dw("drift").code == 2
    [issue] = github.issues.values()
    assert issue.labels == ["deploywatch", "drift-alert"]
    assert hidden in (issue.body or "")
    assert WORKER in issue.title and "critical" in issue.title
    assert issue.state == "open" and issue.comments == []

    demo.deploy(WORKER, demo.tip)
    dw("drift", minutes=30)
    assert (issue.state, issue.state_reason) == ("closed", "completed")
    assert len(issue.comments) == 1
    assert "resolved" in issue.comments[0].body.lower()

    demo.deploy(WORKER, old)
    dw("drift", minutes=60)
    assert list(github.issues) == [issue.number]  # the same issue, not a new one
    assert (issue.state, issue.state_reason) == ("open", "reopened")
    assert len(issue.comments) == 2
    assert github.with_marker(hidden) == [issue]
    assert len(github.calls("POST", r"/issues$")) == 1
    _, items = outbox_json(dw, delivered=True)
    assert [i["state"] for i in items] == ["delivered"] * 3


# ------------------------------------------------------------------------------------------------ 9. Alertmanager


def test_alertmanager_pair_gets_every_firing_alert_on_every_run(demo: Demo, dw: Callable[..., Result]) -> None:
    clock = [T]
    with FakeAlertmanager(clock=lambda: clock[0]) as first, FakeAlertmanager(clock=lambda: clock[0]) as second:
        demo.add(f'[[alerts.alertmanager]]\nurls = ["{first.url}", "{second.url}/"]')
        for minutes in (0, 10, 20):  # the second run changes nothing, and still re-posts every firing alert
            if minutes == 20:  # prediction-worker resolves; scrapers goes warning -> critical
                demo.deploy(WORKER, demo.tip)
                demo.deploy("scrapers", demo.git("rev-list", "--max-parents=0", "main"))
            clock[0] = T + timedelta(minutes=minutes)
            dw("drift", minutes=minutes)
        clock[0] = T + timedelta(minutes=20, seconds=1)

        for am in (first, second):
            assert [r.status for r in am.requests] == [200, 200, 200], [r.problem for r in am.requests]
            runs = am.posts
            for body in runs[:2]:
                assert {a["labels"]["subject"]: a["labels"]["status"] for a in body} == FIRING_AT_T
            for alert in runs[0]:
                labels = alert["labels"]
                assert labels["alertname"] == "DeploywatchFinding"
                assert labels["kind"] == "drift"
                assert labels["severity"] == ("warning" if labels["status"] == "warning" else "critical")
                assert parse_rfc3339(alert["startsAt"]) == T
                assert parse_rfc3339(alert["endsAt"]) > T
            ended = T + timedelta(minutes=20)
            [resolved] = [a for a in runs[2] if a["labels"]["subject"] == WORKER]
            assert resolved["labels"]["status"] == "critical"
            assert parse_rfc3339(resolved["endsAt"]) == ended
            # a changed status is a new label set: the old one is resolved in the same post
            scrapers = {a["labels"]["status"]: parse_rfc3339(a["endsAt"]) for a in runs[2]
                        if a["labels"]["subject"] == "scrapers"}
            assert scrapers["warning"] == ended and scrapers["critical"] > ended
            assert len(runs[2]) == len(FIRING_AT_T) + 1
            active = {(a.labels["subject"], a.labels["status"]) for a in am.active()}
            assert active == {(s, st) for s, st in FIRING_AT_T.items() if s != WORKER} - {("scrapers", "warning")} | {
                ("scrapers", "critical")}


# ------------------------------------------------------------------------------------------------ 10. silences


def test_silences_hold_back_matching_findings_until_they_end(demo: Demo, dw: Callable[..., Result],
                                                             hook: FakeWebhook) -> None:
    demo.add(webhook_sink(hook))
    added = dw("silence", "add", "--match", f"service={WORKER}", "--for", "1h", "--comment", "deploying",
               "--format", "json")
    assert added.code == 0, added.err
    worker_silence = added.json()["id"]
    grading = dw("silence", "add", "--match", "service=grading", "--for", "4h", "--comment", "known", "--format",
                 "json").json()["id"]

    assert dw("drift").code == 2
    assert summary(posts(hook)[0]) == {(s, "firing", st) for s, st in FIRING_AT_T.items()
                                       if s not in (WORKER, "grading")}

    dry = dw("drift", "--dry-run-alerts", minutes=5)
    assert f"drift {WORKER} is silenced for 'webhook' by silence {worker_silence}" in dry.err
    assert f"drift grading is silenced for 'webhook' by silence {grading}" in dry.err
    listed = dw("silence", "list", "--format", "json", minutes=5).json()["silences"]
    assert {s["id"]: s["active"] for s in listed} == {worker_silence: True, grading: True}
    assert worker_silence in dw("silence", "list", minutes=5).out

    assert dw("silence", "expire", grading, minutes=10).code == 0
    assert [s["id"] for s in dw("silence", "list", "--format", "json", minutes=10).json()["silences"]] == [
        worker_silence]
    everything = dw("silence", "list", "--all", "--format", "json", minutes=10).json()["silences"]
    assert {s["id"]: s["active"] for s in everything} == {worker_silence: True, grading: False}
    dw("drift", minutes=10)
    assert summary(posts(hook)[1]) == {("grading", "firing", "warning")}

    dw("drift", minutes=30)  # the worker's silence still holds
    assert len(hook.received) == 2
    dw("drift", minutes=61)  # ... and is over now
    assert summary(posts(hook)[2]) == {(WORKER, "firing", "critical")}
    assert posts(hook)[2][0]["firing_since"] == iso(61)


def test_a_finding_that_resolves_during_a_silence_is_resolved_once_the_silence_ends(
        demo: Demo, dw: Callable[..., Result], hook: FakeWebhook, github: GitHubAPI) -> None:
    """The router's rule: "a silenced finding is not sent: its state is left as it was". A sink that was told
    the worker fires must hear that it resolved once the silence is over, and its GitHub issue must close."""
    demo.add(webhook_sink(hook, f'match = {{ subject = ["{WORKER}"] }}'))
    demo.add(f'[[alerts.github]]\nrepo = "{DEFAULT_REPO}"\ntoken = "{DEFAULT_TOKEN}"\napi_url = "{github.url}"\n'
             f'match = {{ subject = ["{WORKER}"] }}')
    dw("drift")
    assert timeline(posts(hook)) == {WORKER: ["firing"]}
    assert dw("silence", "add", "--match", f"service={WORKER}", "--for", "1h", "--comment", "rolling out",
              minutes=5).code == 0

    demo.deploy(WORKER, demo.tip)
    dw("drift", minutes=10)  # resolved while silenced: not sent now
    assert len(hook.received) == 1
    dw("drift", minutes=70)  # the silence is over and the worker is still fine
    dw("drift", minutes=80)

    assert timeline(posts(hook)) == {WORKER: ["firing", "resolved"]}
    [issue] = github.issues.values()
    assert issue.state == "closed"


def test_findings_absent_from_a_run_are_left_alone(demo: Demo, dw: Callable[..., Result], hook: FakeWebhook) -> None:
    demo.add(webhook_sink(hook))
    dw("drift")
    dw("drift", "analytics-processors", minutes=10)  # one service selected: the others are not "resolved"
    dw("canary", minutes=20)  # another command's findings: drift's are not "resolved" either
    dw("drift", minutes=30)

    assert len(hook.received) == 2
    assert {n["kind"] for n in posts(hook)[1]} == {"check"}
    assert all(n["event"] == "firing" for n in posts(hook)[1])


def test_expiring_an_unknown_silence_is_exit_3(dw: Callable[..., Result]) -> None:
    result = dw("silence", "expire", "deadbeef")

    assert result.code == 3
    assert result.err == "deploywatch: error: no silence with id 'deadbeef' (see `deploywatch silence list --all`)\n"


@pytest.mark.parametrize("matcher", ["service", "service~worker", "1service=x", "service=~(unclosed"])
def test_bad_silence_matcher_is_one_line_and_exit_3(demo: Demo, dw: Callable[..., Result], matcher: str) -> None:
    result = dw("silence", "add", "--match", matcher, "--comment", "x")

    assert result.code == 3
    assert result.out == ""
    assert result.err.startswith("deploywatch: error: invalid matcher") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err
    assert demo.rows("silences") == []


# ------------------------------------------------------------------------------------------------ 11. modes


def test_no_alerts_records_the_run_and_leaves_alert_state_alone(demo: Demo, dw: Callable[..., Result],
                                                                slack: FakeSlack, hook: FakeWebhook) -> None:
    demo.add(slack_sink(slack))
    demo.add(webhook_sink(hook))
    runs_before = len([r for r in demo.rows("runs") if r["command"] == "drift"])

    assert dw("drift", "--no-alerts").code == 2

    assert slack.requests == [] and hook.requests == []
    assert len([r for r in demo.rows("runs") if r["command"] == "drift"]) == runs_before + 1
    assert demo.rows("alert_state") == [] and demo.rows("outbox") == []
    dw("drift", minutes=5)
    assert summary(posts(hook)[0]) == {(s, "firing", st) for s, st in FIRING_AT_T.items()}
    assert len(slack.received) == 1


def test_dry_run_alerts_shows_block_kit_and_changes_nothing(demo: Demo, dw: Callable[..., Result],
                                                            slack: FakeSlack, hook: FakeWebhook) -> None:
    demo.add(slack_sink(slack))
    demo.add(webhook_sink(hook))

    dry = dw("drift", "--dry-run-alerts")

    assert dry.code == 2
    assert slack.requests == [] and hook.requests == []
    assert demo.rows("alert_state") == [] and demo.rows("outbox") == []
    assert "dry run: would send to slack sink 'slack' (http://127.0.0.1:" in dry.err
    assert "dry run: would send to webhook sink 'webhook'" in dry.err
    start = dry.err.index("{", dry.err.index("would send to slack"))
    block_kit, _ = json.JSONDecoder().raw_decode(dry.err[start:])
    assert slack_problem(block_kit) is None
    assert set(slack_titles(block_kit)) == set(FIRING_AT_T)
    assert slack.token not in dry.err and slack.url not in dry.err

    dw("drift", minutes=5)  # the dry run decided nothing: the normal run sends everything
    assert summary(posts(hook)[0]) == {(s, "firing", st) for s, st in FIRING_AT_T.items()}
    assert set(slack_titles(slack.received[0])) == set(FIRING_AT_T)


# ------------------------------------------------------------------------------------------------ 12. alerts test


def test_alerts_test_reaches_every_sink(demo: Demo, dw: Callable[..., Result], slack: FakeSlack,
                                        hook: FakeWebhook, github: GitHubAPI) -> None:
    with FakeAlertmanager() as am:
        demo.add(slack_sink(slack))
        demo.add(webhook_sink(hook))
        demo.add(f'[[alerts.github]]\nrepo = "{DEFAULT_REPO}"\ntoken = "{DEFAULT_TOKEN}"\napi_url = "{github.url}"')
        demo.add(f'[[alerts.alertmanager]]\nurls = ["{am.url}"]')

        result = dw("alerts", "test", "--format", "json")

        assert result.code == 0, result.out
        outcome = {r["sink"]: (r["delivered"], r["attempts"]) for r in result.json()["results"]}
        assert outcome == dict.fromkeys(("slack", "webhook", "github", "alertmanager"), (True, 1))
        assert len(slack.received) == 1
        assert slack.received[0]["blocks"][0]["text"]["text"] == "🧪 deploywatch test notification"
        assert [n["event"] for n in hook.received[0]["notifications"]] == ["test"]
        assert len(hook.received) == 1
        assert len(github.issues) == 1
        [alerts] = am.posts
        assert [a["labels"]["alertname"] for a in alerts] == ["DeploywatchTest"]

        slack.fail_next("channel_not_found")
        failed = dw("alerts", "test", "slack")
        assert failed.code == 2
        assert "channel_not_found" in failed.out
        assert len(slack.received) == 1 and len(slack.requests) == 2
        assert len(hook.requests) == 1  # only the sink named

        unknown = dw("alerts", "test", "nope")
        assert unknown.code == 3
        assert "unknown sink 'nope'" in unknown.err and unknown.err.count("\n") == 1
        assert len(slack.requests) == 2 and len(hook.requests) == 1


# ------------------------------------------------------------------------------------------------ 13. secrets


SLACK_MARKER = "Zk3dwSLACKsecretQ9vR2mT7xW4p"
GITHUB_MARKER = "ghp_dwGITHUBsecret8Jq2Lm5Nx7Rt4Vw9Yz"
HOOK_MARKER = "hkSECRET-dw-7Fq2Lx9Pz"


def test_secrets_never_leave_the_requests(demo: Demo, dw: Callable[..., Result], monkeypatch: pytest.MonkeyPatch,
                                          hook: FakeWebhook) -> None:
    with FakeSlack(token=SLACK_MARKER) as slack, serve_github(token=GITHUB_MARKER) as github:
        monkeypatch.setenv("SLACK_URL", slack.url)
        monkeypatch.setenv("GITHUB_TOKEN", GITHUB_MARKER)
        monkeypatch.setenv("HOOK_TOKEN", HOOK_MARKER)
        demo.add('[alerts]\nretry_for = "1s"')
        demo.add('[[alerts.slack]]\nwebhook = "${SLACK_URL}"')
        demo.add(f'[[alerts.github]]\nrepo = "{DEFAULT_REPO}"\ntoken = "${{GITHUB_TOKEN}}"\napi_url = "{github.url}"\n'
                 f'match = {{ subject = ["{WORKER}", "phase3.team_defense.freshness"] }}')
        demo.add(f'[[alerts.webhook]]\nurl = "{hook.url_with("/hooks/" + HOOK_MARKER[::-1])}"\n'
                 'headers = { Authorization = "Bearer ${HOOK_TOKEN}" }')
        outputs: list[Result] = []

        outputs.append(dw("drift"))
        outputs.append(dw("canary", "--format", "json"))
        outputs.append(dw("drift", "--dry-run-alerts", "--format", "json", minutes=300))
        outputs.append(dw("alerts", "test"))
        outputs.append(dw("alerts", "test", "--format", "json"))
        # failures: a dead letter on Slack, 500s on the webhook until retry_for runs out
        slack.fail_next("channel_not_found")
        hook.fail_next(500, count=1000, body=f"upstream said no to {HOOK_MARKER}")
        github.fail_next("error", status=401, message="Bad credentials")
        demo.deploy(WORKER, demo.tip)
        outputs.append(dw("drift", minutes=30))
        outputs.append(dw("alerts", "pending"))
        outputs.append(dw("alerts", "pending", "--delivered", "--format", "json"))
        outputs.append(dw("alerts", "flush", "--no-wait"))
        outputs.append(dw("alerts", "flush", "--retry-dead", "--no-wait", "--format", "json"))
        outputs.append(dw("config", "check", "--format", "json"))

        # the secrets were used ...
        assert any(SLACK_MARKER in r.path for r in slack.requests)
        assert any(r.headers.get("authorization") == f"Bearer {HOOK_MARKER}" for r in hook.requests)
        assert any(HOOK_MARKER[::-1] in r.path for r in hook.requests)
        assert any(r.headers.get("authorization") == f"Bearer {GITHUB_MARKER}" for r in github.requests)
        assert len(github.issues) >= 2
        # ... the failures happened, and their errors are shown with the secret scrubbed out ...
        errors = {i["sink"]: i["last_error"] for i in outputs[7].json()["items"] if i["last_error"]}
        assert errors["webhook"].startswith("webhook: HTTP 500 (upstream said no to ***")
        assert "channel_not_found" in errors["slack"]
        assert "HTTP 401" in errors["github"]

        # ... and never shown or stored
        secrets = (SLACK_MARKER, GITHUB_MARKER, HOOK_MARKER, HOOK_MARKER[::-1])
        for result in outputs:
            for secret in secrets:
                assert secret not in result.out and secret not in result.err, (secret, result)
        with sqlite3.connect(demo.store) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            assert {"outbox", "alert_state", "runs", "findings"} <= set(tables)
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    text = " ".join(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row)
                    for secret in secrets:
                        assert secret not in text, (secret, table, text[:500])
        conn.close()
        for issue in github.issues.values():
            for text in [issue.title, issue.body or "", *(c.body for c in issue.comments)]:
                for secret in secrets:
                    assert secret not in text, (secret, issue.number)
