"""The report's drift, data and alert figures from runs stored through the Store API, recomputed here from the
same runs; and the formats from real CLI processes (Markdown tables, one self-contained HTML file, JSON)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest

from deploywatch.cli import main
from deploywatch.core.durations import format_timestamp
from deploywatch.report.document import NOTES
from deploywatch.report.html import render_html
from testing.gitrepo import env_without_git
from testing.reportscene import ReportScene


def document_of(capsys: pytest.CaptureFixture[str], scene: ReportScene, since: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["report", "--config", str(scene.config), "--format", "json", "--now", format_timestamp(scene.end),
                 "--since", since]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_drift_share_and_episodes_follow_the_stored_runs(scene: ReportScene,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    api = document_of(capsys, scene, format_timestamp(scene.start))["drift"][0]
    first = scene.start + timedelta(hours=2)
    # runs every hour: ok, warning, critical, warning, ok, warning (to the end): bad = 3 h + (end - last run)
    last = first + timedelta(hours=5)
    known = (scene.end - first).total_seconds()
    bad = 3 * 3600 + (scene.end - last).total_seconds()
    assert api["runs"] == 6 and api["known_seconds"] == known and api["bad_seconds"] == bad
    assert api["bad_share"] == round(bad / known, 4)
    episodes = api["episodes"]
    assert [(e["start"], e["end"], e["peak_relevant_behind"], e["worst_status"]) for e in episodes] == [
        (format_timestamp(first + timedelta(hours=1)), format_timestamp(first + timedelta(hours=4)), 7, "critical"),
        (format_timestamp(last), None, 1, "warning")]
    assert api["oldest_waiting_since"] == format_timestamp(last - timedelta(seconds=3000))
    assert (api["status_now"], api["relevant_behind_now"]) == ("warning", 1)


def test_a_window_starting_mid_run_takes_the_state_from_the_run_before(scene: ReportScene,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    since = scene.start + timedelta(hours=4, minutes=30)  # inside the critical run's hour
    api = document_of(capsys, scene, format_timestamp(since))["drift"][0]
    assert api["runs"] == 3  # warning, ok, warning in the window
    assert api["episodes"][0]["start"] == format_timestamp(since)
    assert api["episodes"][0]["peak_relevant_behind"] == 7


def test_check_share_against_its_slo(scene: ReportScene, capsys: pytest.CaptureFixture[str]) -> None:
    checks = document_of(capsys, scene, format_timestamp(scene.start))["data"]["checks"]
    coverage = checks[0]
    # eight runs, the worst group decides: two were not ok
    assert (coverage["runs"], coverage["ok_runs"], coverage["ok_share"]) == (8, 6, 0.75)
    assert coverage["slo"] == "75%" and coverage["slo_met"] is True
    assert [i["status"] for i in coverage["incidents"]] == ["warning", "critical"]


def run_cli(scene: ReportScene, fmt: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "deploywatch", "report", "--config", str(scene.config), "--format",
                           fmt, "--now", format_timestamp(scene.end), "--since", format_timestamp(scene.start)],
                          capture_output=True, text=True, timeout=120, env=env_without_git(), check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_html_is_one_self_contained_file_with_svg_and_no_script(scene: ReportScene) -> None:
    page = run_cli(scene, "html")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "<script" not in page.lower() and not re.search(r'(src|href)="(?!https://example\.com/)', page)
    assert "lead time" in page.lower() and scene.commits["api2"][:12] in page


def test_markdown_and_table_carry_every_section_and_its_notes(scene: ReportScene) -> None:
    text = run_cli(scene, "markdown")
    for title in ("## Delivery", "## Drift", "## Data checks", "## Phases", "## Alerts"):
        assert title in text
    assert "| api |" in text and "nearest rank" in text
    table = run_cli(scene, "table")
    assert "Delivery" in table and "all services" in table


def test_outside_text_in_html_is_escaped() -> None:
    document = {"since": "s", "until": "u", "branch": "<b>", "tip": "0" * 40, "generated_at": "g",
                "notes": dict.fromkeys(NOTES, "<i>"),
                "delivery": {"overall": _empty(None), "services": []}, "drift": [],
                "data": {"checks": [{"check": "<script>x</script>", "slo": None, "runs": 0, "ok_runs": 0,
                                     "ok_share": None, "slo_met": None, "anomalies": 0, "incidents": []}],
                         "phases": []}, "alerts": []}
    page = render_html(document)
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>" not in page


def _empty(service: str | None) -> dict[str, Any]:
    return {"service": service, "deploys": 0, "deploys_per_week": 0.0, "changes": 0, "failed_changes": 0,
            "change_failure_rate": None, "lead_time_seconds": {"count": 0, "median": None, "p90": None},
            "recovery_time_seconds": {"count": 0, "median": None, "unrecovered": 0},
            "deployments": [], "recoveries": [], **({"lead_times": []} if service is not None else {})}
