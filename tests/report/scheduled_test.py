"""``deploywatch report --send``: the report of the latest ``[schedule] report`` slot (since the slot before) to the
sinks that take reports, once per slot; consecutive slots tile time; a refusal is a dead letter and exit 1."""

from __future__ import annotations

import pytest

from deploywatch.cli import main
from deploywatch.config.alerts import AlertsConfig
from deploywatch.report.scheduled import report_sinks
from testing.reportscene import ReportScene
from testing.slack_api import FakeSlack
from testing.webhook_api import FakeWebhook

WEEKLY = "0 9 * * MON"
MONDAY = "2026-09-28T09:00:00Z"  # the first Monday 09:00 after the scene (2026-09-21/22)


def configure(scene: ReportScene, hook: FakeWebhook, slack: FakeSlack, *, schedule: str = WEEKLY) -> None:
    scene.config.write_text(scene.config.read_text(encoding="utf-8") + f"""
[schedule]
report = "{schedule}"

[[alerts.webhook]]
url = "{hook.url}"

[[alerts.slack]]
webhook = "{slack.url}"
match = {{ kind = ["drift", "check"] }}
""", encoding="utf-8")


def send(scene: ReportScene, now: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["report", "--send", "--config", str(scene.config), "--now", now])
    return code, capsys.readouterr().err


def test_each_slot_is_sent_once_and_consecutive_slots_tile_time(scene: ReportScene,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    with FakeWebhook() as hook, FakeSlack() as slack:
        configure(scene, hook, slack)
        assert send(scene, "2026-09-28T10:30:00Z", capsys)[0] == 0
        code, err = send(scene, "2026-09-28T12:00:00Z", capsys)  # the same slot, later
        assert code == 0 and "already sent" in err
        assert send(scene, "2026-10-05T09:00:00Z", capsys)[0] == 0  # the next slot, at its time
        documents = hook.received
        assert slack.received == []  # its match.kind leaves reports out
    assert [(d["since"], d["until"]) for d in documents] == [
        ("2026-09-21T09:00:00Z", MONDAY), (MONDAY, "2026-10-05T09:00:00Z")]
    assert documents[0]["delivery"]["overall"]["deploys"] > 0 and documents[1]["delivery"]["overall"]["deploys"] == 0


def test_a_refused_report_is_a_dead_letter_and_exit_1(scene: ReportScene,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with FakeWebhook(status=400) as hook, FakeSlack() as slack:
        configure(scene, hook, slack)
        code, err = send(scene, MONDAY, capsys)
    assert code == 1 and "webhook dead" in err
    capsys.readouterr()
    assert main(["alerts", "pending", "--config", str(scene.config)]) == 2  # a dead letter
    assert "report 2026-09-21T09:00:00Z to 2026-09-28T09:00:00Z" in capsys.readouterr().out


def test_without_a_schedule_or_a_sink_that_takes_reports_it_is_a_usage_error(
        scene: ReportScene, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = send(scene, MONDAY, capsys)
    assert code == 3 and err.count("\n") == 1 and "no [schedule] report is set" in err
    scene.config.write_text(scene.config.read_text(encoding="utf-8") + f'\n[schedule]\nreport = "{WEEKLY}"\n',
                            encoding="utf-8")
    code, err = send(scene, MONDAY, capsys)
    assert code == 3 and err.count("\n") == 1 and "no alert sink takes reports" in err


def test_only_slack_and_webhooks_take_reports_unless_their_match_leaves_reports_out() -> None:
    alerts = AlertsConfig.model_validate({
        "slack": [{"webhook": "https://hooks.invalid/a"}, {"webhook": "https://hooks.invalid/b",
                                                           "match": {"kind": ["report"]}},
                  {"webhook": "https://hooks.invalid/c", "match": {"kind": ["drift"]}}],
        "github": [{"repo": "acme/platform", "token": "t0ken-value-123"}],
        "alertmanager": [{"urls": ["http://127.0.0.1:9093"]}],
        "webhook": [{"url": "https://hooks.invalid/d", "match": {"status": ["critical"]}}],
    })
    assert report_sinks(alerts) == ["slack", "slack-2", "webhook"]
