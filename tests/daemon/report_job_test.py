"""The scheduled report through a real daemon: ``POST /api/runs/report`` sends the report of the time since the
previous ``[schedule] report`` slot to a fake Slack (a summary whose figures equal ``deploywatch report --format json``
for that window, with the dashboard link) and a fake webhook (the ``deploywatch.report/v1`` document), once per slot.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema

from deploywatch.core.durations import format_age, format_timestamp
from deploywatch.notify.report_text import percent
from deploywatch.report.scheduled import report_window
from deploywatch.store import Store
from deploywatch.store.jobs import JobRunRecord
from testing.daemon import TOKEN, Daemon, wait_for
from testing.gitrepo import GitRepo
from testing.reportscene import build_report_scene
from testing.slack_api import FakeSlack
from testing.webhook_api import FakeWebhook

SCHEMA = Path(__file__).parents[2] / "docs" / "schemas" / "report.v1.json"
HOOK_SECRET = "hookSECRETvalue-71c2"
DASHBOARD = "https://deploywatch.example.com/"


def cron_after(moment: datetime) -> str:
    """Yearly on the first of the month after ``moment``: the latest slot's window (a year) holds ``moment`` while
    the wall clock is less than a year past that slot."""
    return f"0 0 1 {moment.month % 12 + 1} *"


def run_report(daemon: Daemon, url: str) -> JobRunRecord:
    """Trigger the report job through the API and wait until its job run (in the scene's store) has ended."""
    response = daemon.post("/api/runs/report")
    assert response.status_code == 202, response.text
    job_run_id = response.json()["job_run_id"]

    def ended() -> JobRunRecord | None:
        with Store.open(url) as store:
            found = next((r for r in store.job_runs("report", limit=10) if r.id == job_run_id), None)
        return found if found is not None and found.state != "running" else None

    return wait_for("the report job to end", ended, timeout=60)


def slack_text(payload: dict[str, Any]) -> str:
    parts = [payload.get("text", "")]
    for block in payload["blocks"]:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(text["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e["text"] for e in block.get("elements", [])]
    return "\n".join(parts)


def test_the_report_job_sends_one_summary_and_one_document_per_slot(git_repo: GitRepo, tmp_path: Path) -> None:
    scene = build_report_scene(git_repo, tmp_path, f"sqlite:///{tmp_path / 'ops' / 'state.db'}")
    cron = cron_after(scene.end)
    with FakeSlack() as slack, FakeWebhook() as hook:
        text = scene.config.read_text(encoding="utf-8").replace('slo = "75%"', 'slo = "90%"')  # 6 of 8 runs ok
        scene.config.write_text(text + f"""
[schedule]
drift = "0 0 1 1 *"
report = "{cron}"
catch_up = false

[server]
token = "{TOKEN}"

[alerts]
dashboard_url = "{DASHBOARD}"

[[alerts.slack]]
webhook = "{slack.url}"

[[alerts.webhook]]
url = "{hook.url}"
headers = {{ Authorization = "Bearer {HOOK_SECRET}" }}

[[alerts.github]]
repo = "acme/platform"
token = "ghp_notUSEDbyREPORTS000000000000000000"
api_url = "http://127.0.0.1:9"
""", encoding="utf-8")
        daemon = Daemon(scene.config).wait_ready()
        try:
            first = run_report(daemon, scene.url)
            assert first.state == "ok" and first.exit_code == 0, first
            wait_for("the report at both sinks", lambda: len(slack.received) == 1 and len(hook.received) == 1)
            second = run_report(daemon, scene.url)  # the same slot: nothing is sent again
            assert second.state == "ok" and second.exit_code == 0, second
        finally:
            daemon.close()
        log = daemon.log.read_text(encoding="utf-8")

    since, until = report_window(cron, "UTC", datetime.now(UTC))
    assert since <= scene.start and scene.end <= until  # the window holds the scene: the figures are not all zero
    oracle = subprocess.run(
        [sys.executable, "-m", "deploywatch", "report", "--config", str(scene.config), "--format", "json",
         "--since", format_timestamp(since), "--until", format_timestamp(until)],
        capture_output=True, text=True, timeout=120, check=True)
    expected = json.loads(oracle.stdout)
    overall = expected["delivery"]["overall"]
    assert overall["deploys"] > 0

    assert len(slack.received) == 1 and len(hook.received) == 1  # once per slot
    message = slack_text(slack.received[0])
    assert f"{expected['since']} to {expected['until']}" in message
    assert f"{overall['deploys']} ({overall['deploys_per_week']:g} per week)" in message
    assert format_age(overall["lead_time_seconds"]["median"]) in message
    assert (f"{percent(overall['change_failure_rate'])} ({overall['failed_changes']} of {overall['changes']})"
            in message)
    for drift in expected["drift"]:
        if drift["bad_share"]:
            assert f"{drift['service']} {percent(drift['bad_share'])}" in message
    missed = [c for c in expected["data"]["checks"] if c["slo_met"] is False]
    assert [c["check"] for c in missed] == ["coverage"]
    for check in missed:
        assert f"{check['check']} {percent(check['ok_share'])} (target {check['slo']})" in message
    assert f"<{DASHBOARD}|Open the dashboard>" in message

    document = hook.received[0]
    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert {k: v for k, v in document.items() if k != "generated_at"} == {
        k: v for k, v in expected.items() if k != "generated_at"}
    request = next(r for r in hook.requests if r.accepted)
    assert request.headers["authorization"] == f"Bearer {HOOK_SECRET}"
    assert request.headers["x-deploywatch-message"]

    for secret in (slack.token, HOOK_SECRET, TOKEN, "ghp_notUSEDbyREPORTS"):
        assert secret not in json.dumps(slack.received) + json.dumps(hook.received) + log
    with Store.open(scene.url) as store:
        rows = [r for r in store.outbox(states=("pending", "dead", "delivered")) if r.payload.get("kind") == "report"]
        runs = store.job_runs("report", limit=10)
    assert sorted(r.sink for r in rows) == ["slack", "webhook"]  # GitHub takes no reports
    assert all(r.state == "delivered" for r in rows)
    assert [r.state for r in runs] == ["ok", "ok"]
