"""``deploywatch check`` on the demo: every collector's item, the score and verdict from the items, the stored run,
--fail-fast-on-drift, and a collector that fails without failing the check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from deploywatch import load_config
from deploywatch.checks.runner import open_store
from deploywatch.cli import main
from deploywatch.core.status import Status
from deploywatch.health import HealthItem, health_score, verdict_of

NOW = "2026-11-23T09:00:00Z"


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("check") / "demo"
    assert main(["demo", str(directory), "--now", NOW]) == 0
    return directory


@pytest.fixture
def demo(built_demo: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "demo"
    shutil.copytree(built_demo, copy, symlinks=True)
    return copy


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_json(capsys: pytest.CaptureFixture[str], demo: Path, *extra: str) -> tuple[int, dict[str, object]]:
    code, out, err = run(capsys, "check", "--config", str(demo / "deploywatch.toml"), "--now", NOW,
                         "--format", "json", *extra)
    assert "Traceback" not in err
    return code, json.loads(out)


def test_the_demo_check_has_every_collector_and_scores_its_items(capsys: pytest.CaptureFixture[str],
                                                                 demo: Path) -> None:
    code, report = check_json(capsys, demo)
    items = report["items"]
    assert isinstance(items, list)
    kinds = [i["kind"] for i in items]
    loaded = load_config(demo / "deploywatch.toml")
    assert kinds.count("drift") == 1
    assert kinds.count("check") == len({c.name for c in loaded.config.checks})
    assert kinds.count("completion") == len(loaded.config.phases) == 3
    assert kinds.count("probe") == 2

    # drift's item is the worst service status of `deploywatch drift`
    drift_code, drift_out, _ = run(capsys, "drift", "--config", str(demo / "deploywatch.toml"), "--now", NOW,
                                   "--format", "json")
    drift_item = next(i for i in items if i["kind"] == "drift")
    assert drift_item["status"] == json.loads(drift_out)["status"] == "critical"
    assert drift_code == 2

    by_name = {i["name"]: i for i in items}
    assert by_name["Phase phase2 completion"]["status"] == "ok"
    assert by_name["Phase phase3 completion"]["status"] == "warning"
    assert "tracking gap: 1/5 recorded but data is fresh" in by_name["Phase phase3 completion"]["summary"]
    assert by_name["Phase phase4 completion"]["status"] == "critical"
    assert by_name["scrapers vm"]["status"] == by_name["prediction-worker predictions"]["status"] == "ok"

    # the score and verdict follow from the items as the rules say
    rebuilt = [HealthItem(i["name"], i["kind"], Status(i["status"]), i["summary"], weight=i["weight"]) for i in items]
    assert report["score"] == health_score(rebuilt)
    assert report["verdict"] == verdict_of(rebuilt, health_score(rebuilt)) == "CRITICAL"
    assert code == 2
    assert report["schema"] == "deploywatch.check/v1"
    for item in items:
        assert set(item) >= {"name", "kind", "status", "value", "threshold", "summary", "duration_seconds"}

    # the run is stored with its score, verdict and one finding per service, check result, phase and probe
    with open_store(loaded) as store:
        stored = store.runs(command="check")[0]  # the newest; the demo's own check ran before
        findings = store.findings(stored.id)
    assert (stored.id, stored.score, stored.exit_code) == (report["run_id"], report["score"], 2)
    assert stored.details["verdict"] == "CRITICAL"
    kinds_found = {f.kind for f in findings}
    assert kinds_found == {"drift", "check", "completion", "probe"}
    assert sum(f.kind == "drift" for f in findings) == len(loaded.config.services)


def test_the_text_summary(capsys: pytest.CaptureFixture[str], demo: Path) -> None:
    code, out, _ = run(capsys, "check", "--config", str(demo / "deploywatch.toml"), "--now", NOW)
    lines = out.splitlines()
    assert lines[0].startswith("[1/") and "Deployment drift ..." in lines[0] and "CRITICAL" in lines[0]
    assert any("Phase phase3 completion" in line and "WARNING" in line and "tracking gap" in line for line in lines)
    assert lines[-1].startswith("Health score ") and "— CRITICAL" in lines[-1]
    assert "critical failures" in lines[-1]
    assert code == 2


def test_fail_fast_on_drift_stops_after_drift(capsys: pytest.CaptureFixture[str], demo: Path) -> None:
    code, report = check_json(capsys, demo, "--fail-fast-on-drift")
    assert [i["kind"] for i in report["items"]] == ["drift"]
    assert report["stopped_early"] is True
    assert (report["verdict"], code) == ("CRITICAL", 2)


def test_fail_fast_goes_on_when_drift_is_not_critical(capsys: pytest.CaptureFixture[str], demo: Path) -> None:
    config = demo / "deploywatch.toml"
    config.write_text(config.read_text().replace("critical_commits = ", "critical_commits = 100000 # ")
                      .replace("critical_after = ", "critical_after = \"3650d\" # "))
    code, report = check_json(capsys, demo, "--fail-fast-on-drift")
    drift = next(i for i in report["items"] if i["kind"] == "drift")
    assert drift["status"] == "unknown"
    assert code == 2  # raw-processors' commit is missing (unknown); other items are still critical
    assert report["stopped_early"] is False
    assert {i["kind"] for i in report["items"]} == {"drift", "check", "completion", "probe"}


def test_a_failing_probe_and_a_garbage_plugin(capsys: pytest.CaptureFixture[str], demo: Path) -> None:
    (demo / "bin" / "garbage.sh").write_text("#!/bin/sh\necho 'what is this'\nexit 7\n")
    config = demo / "deploywatch.toml"
    config.write_text(config.read_text() + '\n[[probes]]\nname = "garbage"\ncommand = "sh bin/garbage.sh"\n'
                      '\n[[probes]]\nname = "down"\nurl = "http://127.0.0.1:9/health"\ntimeout = 2\n')
    _, report = check_json(capsys, demo)
    by_name = {i["name"]: i for i in report["items"]}
    assert by_name["garbage"]["status"] == "unknown"
    assert by_name["down"]["status"] == "critical"


def test_a_collector_that_cannot_run_is_unknown_not_a_crash(capsys: pytest.CaptureFixture[str], demo: Path) -> None:
    shutil.rmtree(demo / "repo" / ".git")
    code, report = check_json(capsys, demo)
    drift = next(i for i in report["items"] if i["kind"] == "drift")
    assert drift["status"] == "unknown"
    assert drift["summary"].startswith("could not run:")
    assert any(i["kind"] == "check" for i in report["items"])
    assert code == 2


def test_only_what_is_configured_is_checked_and_all_ok_is_ok(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    config = tmp_path / "deploywatch.toml"
    config.write_text('[warehouse]\nurl = "duckdb:///:memory:"\n\n[[checks]]\nname = "one"\nquery = "SELECT 1"\n'
                      'critical = "< 1"\n')
    code, report = check_json(capsys, tmp_path)
    assert [(i["kind"], i["status"]) for i in report["items"]] == [("check", "ok")]
    assert (report["score"], report["verdict"], code) == (100.0, "OK", 0)


def test_a_bad_config_exits_3_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "deploywatch.toml"
    config.write_text('[[probes]]\nname = "x"\n')
    code, out, err = run(capsys, "check", "--config", str(config))
    assert code == 3 and out == ""
    assert err.count("\n") == 1 and "probes[0]" in err and "set exactly one of url or command" in err


def test_on_a_terminal_a_progress_bar_runs_and_the_summary_follows(demo: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "deploywatch", "check", "--config", str(demo / "deploywatch.toml"),
                             "--now", NOW], stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=120) == 2
    text = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[" in text  # the terminal got colour and cursor control (the bar, then the coloured summary)
    assert "data checks" in text and "phase completion" in text  # the progress bar's task lines (transient)
    assert "Deployment drift" in text and "Health score" in text and "CRITICAL" in text
