"""The real daemon: ``python -m deploywatch serve`` in a subprocess against a demo workspace, over HTTP.

One demo is built per module and copied for each daemon; each daemon listens on a free port. Jobs are started
through the API (the schedules are set far in the future, catch-up off) so that the store's content is known.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploywatch.cli import main
from deploywatch.store import Store
from testing.daemon import NEVER, TOKEN, Daemon, wait_for, workspace
from testing.gitrepo import GitRepo
from testing.webhook_api import FakeWebhook


@pytest.fixture(scope="module")
def api(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """The daemon most tests talk to: a token, reads open. Stopped (and checked) at the end of the module."""
    config = workspace(demo, tmp_path_factory.mktemp("serve-api") / "ws")
    daemon = Daemon(config).wait_ready()
    try:
        yield daemon
        code, seconds = daemon.terminate()
        assert code == 0, daemon.output()
        assert seconds < 5
        assert TOKEN not in daemon.output()
    finally:
        daemon.close()


def metrics(daemon: Daemon, token: str | None = None) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Samples by name, then by sorted labels."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = daemon.http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


# ---------------------------------------------------------------- reads


def test_healthz_and_openapi(api: Daemon) -> None:
    health = api.http.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    assert body["scheduler"]["running"] is True and body["scheduler"]["catch_up"] is False
    jobs = {j["job"]: j for j in body["jobs"]}
    assert {name: j["cron"] for name, j in jobs.items()} == {"drift": NEVER, "canary": NEVER, "check": NEVER}
    assert re.fullmatch(r"\d{4}-01-01T00:00:00Z", jobs["drift"]["next_run_at"])  # NEVER, in UTC

    document = api.http.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    from deploywatch.web.app import create_app
    from deploywatch.web.pages import page_routes

    app = create_app(None)  # type: ignore[arg-type]  # routes only: no endpoint is called
    pages = {route.path for route in page_routes(None)}  # type: ignore[arg-type, attr-defined]  # the HTML
    routes = {route.path for route in app.routes} - pages  # type: ignore[attr-defined]
    assert routes == set(document["paths"]) and not pages & set(document["paths"])
    assert set(document["paths"]["/api/runs/{kind}"]) == {"post"}
    unknown = api.http.get("/nope")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "not found"})


def test_drift_run_through_the_api_matches_the_store_and_the_cli(api: Daemon) -> None:
    with api.store() as store:
        had = len(store.runs(command="drift", limit=100_000))  # the demo stores three weeks of them
    if had == 0:
        missing = api.http.get("/api/drift")
        assert missing.status_code == 404 and "no drift run" in missing.json()["error"]
    done = api.run_job("drift")
    assert (done.state, done.trigger, done.scheduled_for, done.exit_code) == ("ok", "api", None, 2)
    with api.store() as store:
        runs = store.runs(command="drift", limit=100_000)
        assert len(runs) == had + 1 and runs[0].id == done.run_id
        findings = store.findings(runs[0].id)

    drift = api.http.get("/api/drift").json()
    assert drift["run"]["id"] == done.run_id
    assert drift["run"]["status"] == "critical"
    assert [s["service"] for s in drift["services"]] == [f.subject for f in findings]
    assert [s["status"] for s in drift["services"]] == [f.status for f in findings]
    assert [s["details"] for s in drift["services"]] == [json.loads(json.dumps(f.details)) for f in findings]

    # The same numbers as `deploywatch drift --format json`.
    cli = subprocess.run([sys.executable, "-m", "deploywatch", "drift", "--config", str(api.config), "--format",
                          "json", "--no-alerts"], capture_output=True, text=True, timeout=60, check=False)
    assert cli.returncode == 2, cli.stderr
    report = {s["name"]: s for s in json.loads(cli.stdout)["services"]}
    for service in drift["services"]:
        for key in ("commits_behind", "relevant_commits_behind", "status", "state"):
            assert service["details"][key] == report[service["service"]][key], (service["service"], key)


def test_runs_listing_and_bad_parameters(api: Daemon) -> None:
    api.run_job("drift")
    listed = api.http.get("/api/runs", params={"kind": "drift", "limit": "2"})
    assert listed.status_code == 200
    runs = listed.json()["runs"]
    with api.store() as store:
        assert [r["id"] for r in runs] == [r.id for r in store.runs(command="drift", limit=2)]
        assert [r["id"] for r in api.http.get("/api/runs").json()["runs"]] == [r.id for r in store.runs(limit=20)]
    assert len(runs) == 2 and runs[0]["started_at"] >= runs[1]["started_at"]
    assert {r["command"] for r in api.http.get("/api/runs", params={"kind": "canary"}).json()["runs"]} == {"canary"}
    assert api.http.get("/api/runs", params={"limit": "500"}).status_code == 200
    for params in ({"limit": "0"}, {"limit": "501"}, {"limit": "ten"}, {"limit": "-1"}, {"kind": "no such kind!"},
                   {"kind": "x" * 65}, {"kind": ""}, {"limit": ""}):  # empty is not "the default": the schema says so
        bad = api.http.get("/api/runs", params=params)
        assert bad.status_code == 400, params
        assert bad.json()["error"]
    jobs = api.http.get("/api/jobs", params={"job": "drift", "limit": "1"}).json()["job_runs"]
    assert jobs[0]["job"] == "drift" and jobs[0]["trigger"] == "api"
    assert api.http.get("/api/jobs", params={"job": "nope"}).status_code == 400


def test_check_latest(api: Daemon) -> None:
    with api.store() as store:
        if not store.runs(command="check", limit=1):
            missing = api.http.get("/api/check/latest")
            assert missing.status_code == 404 and "no check run" in missing.json()["error"]
    done = api.run_job("check")
    assert done.state == "ok", done.error
    latest = api.http.get("/api/check/latest").json()
    with api.store() as store:
        run = store.runs(command="check", limit=1)[0]
        findings = store.findings(run.id)
    assert latest["run"]["id"] == run.id == done.run_id
    assert latest["run"]["score"] == run.score
    assert latest["run"]["details"]["verdict"] == run.details["verdict"]
    assert [(f["kind"], f["subject"], f["status"]) for f in latest["findings"]] == [
        (f.kind, f.subject, f.status) for f in findings]


def test_metrics_match_the_store(api: Daemon) -> None:
    drifted = api.run_job("drift")
    api.run_job("canary")
    api.run_job("check")
    found = metrics(api)
    with api.store() as store:
        newest = store.newest_runs_with_findings()
        by_command = {run.command: (run, items) for run, items in reversed(newest)}
        drift_run, drift_findings = by_command["drift"]
        for finding in drift_findings:
            labels = (("service", finding.subject),)
            for name, key in (("deploywatch_commits_behind", "commits_behind"),
                              ("deploywatch_relevant_commits_behind", "relevant_commits_behind"),
                              ("deploywatch_drift_age_seconds", "drift_age_seconds")):
                expected = finding.details[key]
                assert found[name].get(labels) == (None if expected is None else float(expected)), (name, labels)
        # Every finding of the newest run of each command, newest run winning.
        expected_status: dict[tuple[tuple[str, str], ...], float] = {}
        for _, items in newest:
            for f in items:
                key = (("kind", f.kind), ("subject", f.subject))
                expected_status.setdefault(key, {"ok": 0, "warning": 1, "critical": 2}.get(f.status, 3))
        assert found["deploywatch_status"] == expected_status
        assert 2.0 in found["deploywatch_status"].values()
        # Check values: the newest canary and check runs' metrics; the check ran last, so its values win.
        canary, check = by_command["canary"][0], by_command["check"][0]
        assert check.started_at > canary.started_at
        expected_values: dict[tuple[tuple[str, str], ...], float] = {}
        for run in (check, canary):
            for p in store.run_metrics([run.id]):
                if p.value is not None:
                    expected_values.setdefault((("check", p.check), ("group", p.group or "")), p.value)
        assert len(expected_values) > 20
        assert found["deploywatch_check_value"] == pytest.approx(expected_values)
        assert found["deploywatch_health_score"][()] == pytest.approx(by_command["check"][0].score)
        last = store.latest_job_runs(exclude_states=("skipped",))
        for job in ("drift", "canary", "check"):
            assert found["deploywatch_last_run_timestamp"][(("job", job),)] == pytest.approx(
                last[job].started_at.timestamp())
    assert found["deploywatch_job_duration_seconds_count"][(("job", "drift"),)] >= 1
    assert found["deploywatch_job_duration_seconds_count"][(("job", "check"),)] >= 1
    assert drift_run.command == "drift"
    assert drift_run.id == drifted.run_id  # the gauges come from the newest drift run


# ---------------------------------------------------------------- tokens and writes


def test_tokens_on_write_endpoints(api: Daemon) -> None:
    missing = api.post("/api/runs/drift", token=None)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = api.post("/api/runs/drift", token="not-the-token")
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert "not-the-token" not in wrong.text
    basic = api.http.post("/api/runs/drift", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    unknown = api.post("/api/runs/nope")
    assert unknown.status_code == 404 and "unknown job" in unknown.json()["error"]
    assert api.post("/api/completions", token=None, json={}).status_code == 401
    assert api.http.get("/api/runs").status_code == 200  # reads are open without protect_reads
    assert api.run_job("canary").state == "ok"
    for path in ("/healthz", "/api/drift", "/api/runs", "/api/jobs", "/metrics", "/openapi.json"):
        assert TOKEN not in api.http.get(path).text, path


def _pubsub(payload: dict[str, str]) -> dict[str, Any]:
    data = base64.b64encode(json.dumps(payload).encode()).decode()
    return {"message": {"data": data, "attributes": {"origin": "test"}, "messageId": "1"},
            "subscription": "projects/p/subscriptions/deploywatch"}


def test_completions_plain_and_pubsub(api: Daemon) -> None:
    first = api.post("/api/completions", json={"phase": "phase2", "processor": "bdl_games", "date": "2026-01-15"})
    assert first.status_code == 201, first.text
    assert first.json() == {"phase": "phase2", "processor": "bdl_games", "date": "2026-01-15", "duplicate": False,
                            "complete": False, "recorded": 1, "expected": 2, "triggered": False,
                            "trigger_outcome": None}
    again = api.post("/api/completions", json={"phase": "phase2", "processor": "bdl_games", "date": "2026-01-15"})
    assert again.status_code == 200 and again.json()["duplicate"] is True

    last = api.post("/api/completions", json=_pubsub({"phase": "phase2", "processor": "bdl_player_boxscores",
                                                      "date": "2026-01-15"}))
    assert last.status_code == 201, last.text
    body = last.json()
    assert (body["complete"], body["triggered"], body["trigger_outcome"]) == (True, True, "queued")

    def finished() -> str | None:
        with api.store() as store:
            triggers = {t.phase: t for t in store.phase_triggers(datetime(2026, 1, 15).date())}
        return triggers["phase2"].outcome if "phase2" in triggers else None

    assert wait_for("the on_complete action to end", finished) == "ok"  # it ran after the answer
    with api.store() as store:
        reports = {c.processor: c for c in store.completions(datetime(2026, 1, 15).date(), "phase2")}
    assert set(reports) == {"bdl_games", "bdl_player_boxscores"}
    assert {c.source for c in reports.values()} == {"api"}
    assert reports["bdl_games"].reports == 2

    # Pub/Sub push subscriptions cannot send a header: the token may come as ?token=.
    by_query = api.http.post("/api/completions", params={"token": TOKEN},
                             json=_pubsub({"phase": "phase3", "processor": "player_game_summary",
                                           "date": "2026-01-15"}))
    assert by_query.status_code == 201, by_query.text

    unknown = api.post("/api/completions", json={"phase": "nope", "processor": "x", "date": "2026-01-15"})
    assert unknown.status_code == 400 and "nope" in unknown.json()["error"]
    bad_processor = api.post("/api/completions", json={"phase": "phase2", "processor": "x", "date": "2026-01-15"})
    assert bad_processor.status_code == 400 and "'x'" in bad_processor.json()["error"]
    for body_ in ({"phase": "phase2"}, {"phase": "phase2", "processor": "bdl_games", "date": "15/01/2026"},
                  {"message": {"data": "%%%not base64"}}, {"message": {"data": base64.b64encode(b"[1]").decode()}},
                  [1, 2]):
        bad = api.post("/api/completions", json=body_)
        assert bad.status_code == 400, body_
    not_json = api.post("/api/completions", content=b"{nope", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400


def test_write_endpoints_without_a_token_are_forbidden(demo: Path, tmp_path: Path) -> None:
    config = workspace(demo, tmp_path / "ws", server="[server]")
    daemon = Daemon(config).wait_ready()
    try:
        for path, body in (("/api/runs/drift", None), ("/api/completions", {"phase": "phase2",
                                                                            "processor": "bdl_games"})):
            for token in (None, "anything"):
                refused = daemon.post(path, token=token, json=body)
                assert refused.status_code == 403, (path, token)
                assert "no token configured" in refused.json()["error"]
        assert daemon.http.get("/api/runs").status_code == 200
        with daemon.store() as store:
            assert store.job_runs(limit=10) == []  # nothing ran
    finally:
        daemon.close()


def test_protect_reads(demo: Path, tmp_path: Path) -> None:
    config = workspace(demo, tmp_path / "ws", server=f'[server]\ntoken = "{TOKEN}"\nprotect_reads = true')
    daemon = Daemon(config).wait_ready()
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for path in ("/api/runs", "/api/drift", "/api/check/latest", "/api/jobs", "/metrics"):
            refused = daemon.http.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert daemon.http.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert daemon.http.get(path, headers=auth).status_code in (200, 404), path
        assert daemon.http.get("/healthz").json() == {"status": "ok"}  # liveness probes need no token
        assert "jobs" in daemon.http.get("/healthz", headers=auth).json()
        assert metrics(daemon, TOKEN)
    finally:
        daemon.close()


# ---------------------------------------------------------------- running jobs, stopping


SLOW = {'deployed = { file = "deployed/scrapers.sha" }':
        'deployed = { command = "sleep 2 && cat deployed/scrapers.sha", timeout = "30s" }'}


def test_overlap_409_and_sigterm_waits_for_the_running_job(demo: Path, tmp_path: Path) -> None:
    config = workspace(demo, tmp_path / "ws", replace=SLOW)
    daemon = Daemon(config).wait_ready()
    try:
        started = daemon.post("/api/runs/drift")
        assert started.status_code == 202
        busy = daemon.post("/api/runs/drift")
        assert busy.status_code == 409 and "already running" in busy.json()["error"]
        assert daemon.post("/api/runs/canary").status_code == 202  # another job is not held up
        health = daemon.http.get("/healthz").json()
        assert {j["job"]: j["running"] for j in health["jobs"]}["drift"] is True
        code, seconds = daemon.terminate()
        assert code == 0, daemon.output()
        assert seconds < 10
        record = daemon.job_run(started.json()["job_run_id"])
        assert record is not None and record.state == "ok" and record.exit_code == 2  # finished within the grace
    finally:
        daemon.close()


def test_sigterm_cancels_a_job_that_outlives_the_grace_period(demo: Path, tmp_path: Path) -> None:
    config = workspace(demo, tmp_path / "ws", replace={
        'deployed = { file = "deployed/scrapers.sha" }':
        'deployed = { command = "sleep 20 && cat deployed/scrapers.sha", timeout = "30s" }'})
    daemon = Daemon(config, args=("--grace", "0.5")).wait_ready()
    try:
        started = daemon.post("/api/runs/drift")
        assert started.status_code == 202
        time.sleep(0.3)
        code, seconds = daemon.terminate()
        assert code == 0, daemon.output()
        assert seconds < 5
        record = daemon.job_run(started.json()["job_run_id"])
        assert record is not None and record.state == "cancelled"
        with daemon.store() as store:
            assert store.job_lock("drift") is None
    finally:
        daemon.close()


def test_serve_once_runs_what_is_due_then_nothing(demo: Path, tmp_path: Path) -> None:
    config = workspace(demo, tmp_path / "ws", schedule='[schedule]\ndrift = "0 * * * *"\ncanary = "*/5 * * * *"\n'
                                                      'catch_up = false')
    command = [sys.executable, "-m", "deploywatch", "serve", "--once", "--config", str(config)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert first.returncode == 2, first.stdout + first.stderr  # the demo's drift and canaries are critical
    assert sorted(first.stdout.splitlines()) == ["canary: ok (exit 2)", "drift: ok (exit 2)"]
    with Store.open(f"sqlite:///{config.parent / '.deploywatch' / 'state.db'}") as store:
        records = store.job_runs(limit=10)
    assert sorted((r.job, r.trigger, r.state) for r in records) == [("canary", "once", "ok"), ("drift", "once", "ok")]
    assert all(r.scheduled_for is not None for r in records)
    second = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if second.returncode == 2:  # a new 5-minute slot began in between: it ran, and that is right
        assert second.stdout.strip() == "canary: ok (exit 2)"
    else:
        assert (second.returncode, second.stdout.strip()) == (
            0, "nothing due: every job's most recent scheduled time has run")


# ---------------------------------------------------------------- heartbeat


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A one-service workspace whose drift is ok (deployed = the tip)."""
    repo = GitRepo(tmp_path / "repo")
    tip = repo.commit("api", {"api/main.py": "print('hi')\n"})
    (tmp_path / "deployed").mkdir()
    (tmp_path / "deployed" / "api.sha").write_text(tip + "\n", encoding="utf-8")
    return tmp_path


def test_heartbeat_start_success_fail_and_a_hanging_endpoint(small: Path) -> None:
    with FakeWebhook() as hook:
        config = small / "deploywatch.toml"
        config.write_text(f"""
[repo]
path = "repo"

[services.api]
paths = ["api/**"]
deployed = {{ file = "deployed/api.sha" }}

[schedule]
drift = "{NEVER}"
catch_up = false

[schedule.heartbeat]
url = "{hook.url_with('/ping/hb-marker-77')}"
timeout = "1s"

[server]
token = "{TOKEN}"
""", encoding="utf-8")
        daemon = Daemon(config).wait_ready()
        try:
            ok = daemon.run_job("drift")
            assert (ok.state, ok.exit_code) == ("ok", 0)
            seen = hook.wait_for(2, timeout=10)
            rid = f"rid={uuid.UUID(ok.id)}"
            assert [(r.path, r.query) for r in seen] == [("/ping/hb-marker-77/start", rid), ("/ping/hb-marker-77", rid)]

            (small / "deployed" / "api.sha").write_text("0" * 40 + "\n", encoding="utf-8")  # unknown: exit 3
            failing = daemon.run_job("drift")
            assert (failing.state, failing.exit_code) == ("failed", 3)
            seen = hook.wait_for(4, timeout=10)
            assert [r.path for r in seen[2:]] == ["/ping/hb-marker-77/start", "/ping/hb-marker-77/fail"]

            hook.hang_next(6)  # the next ping hangs far longer than the job takes
            started = time.monotonic()
            hung = daemon.run_job("drift")
            assert time.monotonic() - started < 3  # the job did not wait for the ping
            assert hung.finished_at is not None and (hung.finished_at - hung.started_at).total_seconds() < 2
            # The start ping gave up after the heartbeat timeout (1s); the fail ping went out after it (the hung
            # request is only recorded once the fake stops hanging).
            seen = hook.wait_for(5, timeout=5)
            assert seen[4].path == "/ping/hb-marker-77/fail"
            assert seen[4].query == f"rid={uuid.UUID(hung.id)}"
            for path in ("/healthz", "/api/jobs", "/metrics"):
                assert "hb-marker-77" not in daemon.http.get(path).text
            code, _ = daemon.terminate()
            assert code == 0
            assert "hb-marker-77" not in daemon.output()  # the URL is a secret: never logged
        finally:
            daemon.close()


# ---------------------------------------------------------------- refusing to start


def test_configuration_errors_exit_3_with_one_line(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                   ) -> None:
    config = workspace(demo, tmp_path / "ws", server="[server]\nprotect_reads = true")
    assert main(["serve", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "protect_reads = true needs a token" in err

    config.write_text(config.read_text(encoding="utf-8").replace("protect_reads = true", ""), encoding="utf-8")
    assert main(["serve", "--config", str(config), "--listen", "nowhere"]) == 3
    assert "--listen 'nowhere': expected HOST:PORT" in capsys.readouterr().err

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--config", str(config), "--listen", f"127.0.0.1:{port}"]) == 3
        assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err

    empty = workspace(demo, tmp_path / "empty", schedule="[schedule]")
    assert main(["serve", "--once", "--config", str(empty)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no jobs to run" in err
