"""The dashboard against a real ``deploywatch serve`` on the demo: every page answers, shows what the CLI's JSON says
for the same store, carries a strict CSP and no inline script, never shows a planted secret, and refuses writes
without the session, the CSRF token or the right origin."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from deploywatch.web.render import CSP
from testing.daemon import TOKEN, Daemon
from testing.dashboard import (
    PLANTED,
    PLANTED_CHECK,
    Dashboard,
    cli_json,
    csrf_of,
    dashboard_workspace,
    origin,
    parse,
    signed_in,
)

PAGES = ["/", "/fragments/overview", "/services/scrapers", "/services/prediction-worker", "/services/raw-processors",
         "/checks/phase4.vegas_line_coverage.yesterday", "/checks/phase2.boxscores.rows_per_game",
         f"/checks/{PLANTED_CHECK}", "/live", "/live?rev=main~3", "/runs", "/login"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_answers_with_a_strict_csp_no_inline_script_and_no_secret(daemon: Daemon, path: str) -> None:
    answer = daemon.http.get(path)
    assert answer.status_code == 200, answer.text[-2000:]
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == CSP
    markup = parse(answer.text)
    assert all(script.get("src", "").startswith("/static/") for script in markup.scripts), markup.scripts
    assert markup.inline == []
    for secret in PLANTED:
        assert secret not in answer.text, (path, secret)


def test_pages_only_load_files_of_this_server(daemon: Daemon) -> None:
    markup = parse(daemon.http.get("/").text)
    local = [link for link in markup.links if link.startswith("/")]
    assert "/static/uPlot-1.6.32.iife.min.js" in local
    for link in local:
        if link.startswith("/static/"):
            assert daemon.http.get(link).status_code == 200, link


def test_the_services_table_shows_the_stored_drift_run_as_the_cli_reports_it(daemon: Daemon, board: Dashboard) -> None:
    drift = cli_json(board.config, "drift", "--no-alerts", "--now", "2026-12-10T12:00:00Z")
    text = daemon.http.get("/").text
    for service in drift["services"]:
        row = re.search(rf'<tr data-service="{re.escape(service["name"])}">(.*?)</tr>', text, re.S)
        assert row is not None, service["name"]
        relevant = re.search(r'class="relevant">([^<]*)<', row.group(1))
        behind = re.search(r'class="behind">([^<]*)<', row.group(1))
        assert relevant is not None and behind is not None
        expected = service["relevant_commits_behind"]
        assert relevant.group(1) == ("-" if expected is None else str(expected)), service["name"]
        assert behind.group(1) == ("-" if service["commits_behind"] is None else str(service["commits_behind"]))
        assert f"status-{service['status']}" in row.group(1)
        if service["deployed_commit"]:
            assert f"https://github.com/example/nba/commit/{service['deployed_commit']}" in row.group(1)


def test_the_service_page_shows_the_ledger_as_deployments_lists_it(daemon: Daemon, board: Dashboard) -> None:
    ledger = cli_json(board.config, "deployments", "scrapers")["deployments"]
    text = daemon.http.get("/services/scrapers").text
    shown = [int(n) for n in re.findall(r'<tr data-entry="(\d+)">', text)]
    assert shown == [entry["id"] for entry in ledger][:len(shown)] and len(shown) >= 2
    assert {e["id"] for e in ledger[:2]} <= set(shown)  # the two entries this workspace recorded, newest
    assert "https://github.com/example/nba/compare/" in text
    failed = re.search(rf'<tr data-entry="{ledger[0]["id"]}">(.*?)</tr>', text, re.S)
    assert failed is not None and "failed" in failed.group(1) and "alice" in failed.group(1)
    assert "Pat Planted" in text  # the undeployed relevant commit and its author


def test_compare_between_two_ledger_entries_goes_to_the_code_host(daemon: Daemon, board: Dashboard) -> None:
    ids = [entry["id"] for entry in cli_json(board.config, "deployments", "scrapers")["deployments"]]
    answer = daemon.http.get(f"/services/scrapers/compare?a={ids[0]}&b={ids[1]}")
    assert answer.status_code == 303
    first, second = board.ledger_commits
    assert answer.headers["location"] == f"https://github.com/example/nba/compare/{first}...{second}"
    assert daemon.http.get("/services/scrapers/compare?a=x&b=1").status_code == 400


@pytest.mark.parametrize("revision", ["main~3", "HEAD~40", "PLANTED"])
def test_the_live_page_shows_what_contains_reports(daemon: Daemon, board: Dashboard, revision: str) -> None:
    revision = board.planted_commit[:10] if revision == "PLANTED" else revision
    expected = cli_json(board.config, "contains", revision)
    text = daemon.http.get("/live", params={"rev": revision}).text
    shown = dict(re.findall(r'<tr data-service="([^"]+)" data-contains="([^"]+)">', text))
    word = {True: "yes", False: "no", None: "unknown"}
    assert shown == {s["name"]: word[s["contains"]] for s in expected["services"]}
    assert expected["commit"][:8] in text


def test_the_live_page_says_since_when_from_the_ledger(daemon: Daemon, board: Dashboard) -> None:
    drift = cli_json(board.config, "drift", "--no-alerts", "--now", "2026-12-10T12:00:00Z")
    deployed = next(s["deployed_commit"] for s in drift["services"] if s["name"] == "scrapers")
    text = daemon.http.get("/live", params={"rev": deployed}).text
    row = re.search(r'<tr data-service="scrapers" data-contains="yes">(.*?)</tr>', text, re.S)
    assert row is not None
    ledger = cli_json(board.config, "deployments", "scrapers", "--since", "365d")["deployments"]
    repo = board.config.parent / "repo"

    def contains(commit: str) -> bool:  # git's answer: the deployed commit is the entry's commit or its ancestor
        return subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", deployed, commit],
                              capture_output=True, timeout=30, check=False).returncode == 0

    since = None  # the oldest succeeded entry of the newest unbroken run of entries that contain it
    for entry in (e for e in ledger if e["status"] == "succeeded"):
        if not contains(entry["to_commit"]):
            break
        since = entry
    assert since is not None and f"(deploy #{since['id']})" in row.group(1)


def test_an_unknown_revision_is_a_one_line_error_page(daemon: Daemon) -> None:
    answer = daemon.http.get("/live", params={"rev": "--output=/tmp/x"})
    assert answer.status_code == 404
    assert "does not name a commit" in answer.text


def test_unknown_services_and_checks_are_404_pages(daemon: Daemon) -> None:
    for path in ("/services/nope", "/checks/nope"):
        answer = daemon.http.get(path)
        assert answer.status_code == 404
        assert answer.headers["content-security-policy"] == CSP


def test_the_check_page_plots_the_groups_with_their_bands(daemon: Daemon, board: Dashboard) -> None:
    history = cli_json(board.config, "history", "phase2.boxscores.rows_per_game", "--limit", "500")["values"]
    text = daemon.http.get("/checks/phase2.boxscores.rows_per_game").text
    groups = {row["group"] for row in history}
    plots = re.findall(r"<figure class=\"plot\" id=\"metric-plot-\d+\" data-plot='([^']+)'", text)
    assert len(plots) == min(len(groups), 12)
    if len(groups) > 12:
        assert f"{len(groups) - 12} more groups" in text
    data = json.loads(html.unescape(plots[0]))
    assert data["warn"] == 16 and data["critical"] == 10
    group = data["series"][0]["label"]
    expected = sorted((row["measured_at"], row["value"]) for row in history if row["group"] == group)
    assert [v for _, v in expected] == data["series"][0]["values"]


def test_the_check_pages_table_shows_values_in_their_unit_with_the_exact_value_beside(daemon: Daemon,
                                                                                      board: Dashboard) -> None:
    from deploywatch.core.units import format_value

    name = "phase4.vegas_line_coverage.yesterday"
    history = cli_json(board.config, "history", name, "--limit", "100")["values"]
    text = daemon.http.get(f"/checks/{name}").text
    cells = re.findall(r'<td class="num" data-value="([^"]*)">([^<]*)</td>', text)
    newest = sorted(history, key=lambda row: row["measured_at"], reverse=True)[:len(cells)]
    assert cells and len(cells) == min(100, len(history))
    exact = sorted(float(value) for value, _ in cells if value)
    assert exact == sorted(r["value"] for r in newest if r["value"] is not None)
    shown = {html.unescape(shown) for _, shown in cells}
    assert {format_value(r["value"], "percent") for r in newest} == shown
    assert all(s.endswith("%") or s == "-" for s in shown)


def test_the_check_page_marks_anomalies(daemon: Daemon, board: Dashboard) -> None:
    history = cli_json(board.config, "history", "phase4.vegas_line_coverage.yesterday", "--limit", "500")["values"]
    text = daemon.http.get("/checks/phase4.vegas_line_coverage.yesterday").text
    found = re.search(r"data-plot='([^']+)'", text)
    assert found is not None
    data = json.loads(html.unescape(found.group(1)))
    assert len(data["anomalies"]) == sum(1 for row in history if row["anomalous"])


def test_the_check_page_shows_its_where_and_the_warehouse_error_with_the_credentials_masked(
        daemon: Daemon, board: Dashboard) -> None:
    with daemon.store() as store:
        reason = next(f.details["reason"] for f in store.latest_findings("check") if f.details["name"] == PLANTED_CHECK)
    assert "warehouse.example.com" in reason and "PlantedPassw0rd" not in reason  # the error quotes the where clause
    text = daemon.http.get(f"/checks/{PLANTED_CHECK}").text
    where = re.search(r'<code id="check-where">([^<]*)</code>', text)
    latest = re.search(r'<p id="check-latest">(.*?)</p>', text, re.S)
    assert where is not None and latest is not None
    assert "@warehouse.example.com/nba" in html.unescape(where.group(1))
    assert html.unescape(reason) in html.unescape(latest.group(1)) and "status-unknown" in latest.group(1)
    assert "PlantedPassw0rd" not in text and "etl:" not in text


def test_a_form_post_without_the_csrf_token_or_origin_or_session_is_refused(daemon: Daemon, board: Dashboard) -> None:
    form = {"matchers": "service=grading", "duration": "1h", "comment": "refused"}
    client, csrf = signed_in(daemon)
    try:
        assert client.post("/silences", data=form, headers=origin(daemon)).status_code == 403
        assert client.post("/silences", data={**form, "csrf": "x" * 43}, headers=origin(daemon)).status_code == 403
        assert client.post("/silences", data={**form, "csrf": csrf}).status_code == 403  # no Origin
        assert client.post("/silences", data={**form, "csrf": csrf},
                           headers={"Origin": "https://evil.example"}).status_code == 403
    finally:
        client.close()
    anonymous = httpx.Client(base_url=f"http://127.0.0.1:{daemon.port}", timeout=10)
    try:
        token = csrf_of(anonymous)
        assert anonymous.post("/silences", data={**form, "csrf": token}, headers=origin(daemon)).status_code == 401
        wrong = anonymous.post("/login", data={"csrf": token, "token": "wrong", "next": "/"}, headers=origin(daemon))
        assert wrong.status_code == 401
    finally:
        anonymous.close()
    silences = cli_json(board.config, "silence", "list", "--all")["silences"]
    assert all(s["comment"] != "refused" for s in silences)


def test_a_silence_added_and_expired_from_the_dashboard_is_in_silence_list(daemon: Daemon, board: Dashboard) -> None:
    client, csrf = signed_in(daemon)
    try:
        answer = client.post("/silences", data={"csrf": csrf, "matchers": "service=prediction-worker\nkind=drift",
                                                "duration": "3h", "comment": "fix ships tonight", "next": "/"},
                             headers=origin(daemon))
        assert answer.status_code == 303, answer.text
        silences = cli_json(board.config, "silence", "list")["silences"]
        added = [s for s in silences if s["comment"] == "fix ships tonight"]
        assert len(added) == 1
        assert sorted(added[0]["matchers"]) == ["kind=drift", "service=prediction-worker"]
        assert added[0]["id"] in client.get("/").text
        expired = client.post(f"/silences/{added[0]['id']}/expire", data={"csrf": csrf}, headers=origin(daemon))
        assert expired.status_code == 303
        assert all(s["id"] != added[0]["id"] for s in cli_json(board.config, "silence", "list")["silences"])
    finally:
        client.close()


def test_a_run_triggered_from_the_dashboard_runs(daemon: Daemon) -> None:
    client, csrf = signed_in(daemon)
    try:
        answer = client.post("/runs/drift/trigger", data={"csrf": csrf}, headers=origin(daemon))
        assert answer.status_code == 303, answer.text
        with daemon.store() as store:
            assert any(r.trigger == "api" for r in store.job_runs("drift"))
    finally:
        client.close()


def test_protected_reads_send_a_browser_to_sign_in_and_the_session_opens_them(demo: Path, tmp_path: Path) -> None:
    board = dashboard_workspace(demo, tmp_path / "ws", protect_reads=True)
    daemon = Daemon(board.config).wait_ready()
    try:
        answer = daemon.http.get("/services/scrapers")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/services/scrapers"
        assert daemon.http.get("/fragments/overview").status_code == 401
        assert daemon.http.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        client, _ = signed_in(daemon)
        try:
            page = client.get("/services/scrapers")
            assert page.status_code == 200
            cookie = next(c for c in client.cookies.jar if c.name == "dw_session")
            assert TOKEN not in (cookie.value or "")
            assert "dw_session=" in page.request.headers["cookie"]
        finally:
            client.close()
    finally:
        daemon.close()


def test_the_service_page_says_how_many_undeployed_commits_it_does_not_list(daemon: Daemon, board: Dashboard) -> None:
    text = daemon.http.get("/services/prediction-worker").text
    table = re.search(r'<table id="commits">(.*?)</table>', text, re.S)
    assert table is not None
    listed = len(re.findall(r"<tr><td>", table.group(1)))
    behind = int(re.search(r'<dd id="service-relevant">(\d+)</dd>', text).group(1))  # type: ignore[union-attr]
    assert 0 < listed < behind
    assert f"…and {behind - listed} more" in text and f"--max-commits {behind}" in text
