"""The dashboard's "Record a deploy" form on a service page, against a real ``deploywatch serve`` on the demo: refused
without the session, the CSRF token or the right origin; with them the entry is what ``deploywatch deployments``
lists (its URL's credentials masked) and shows in the page's ledger; a bad commit is a one-line error on the page and
writes nothing."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from testing.daemon import Daemon
from testing.dashboard import PLANTED, Dashboard, cli_json, csrf_of, origin, signed_in

SERVICE = "prediction-worker"
FORM = f"/services/{SERVICE}/deployments"


@pytest.fixture
def client(daemon: Daemon) -> Iterator[tuple[httpx.Client, str]]:
    signed = signed_in(daemon, timeout=30)
    yield signed
    signed[0].close()


def _ledger(board: Dashboard) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cli_json(board.config, "deployments", SERVICE, "--since", "3650d",
                                           "--limit", "1000")["deployments"]
    return found


def _git(board: Dashboard, *args: str) -> str:
    return subprocess.run(["git", "-C", str(board.config.parent / "repo"), *args], capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()


def test_the_form_is_offered_only_when_signed_in(daemon: Daemon, client: tuple[httpx.Client, str]) -> None:
    assert 'id="record-form"' not in daemon.http.get(f"/services/{SERVICE}").text
    assert f'href="/login?next=/services/{SERVICE}"' in daemon.http.get(f"/services/{SERVICE}").text
    page = client[0].get(f"/services/{SERVICE}").text
    assert f'<form method="post" action="{FORM}" class="stack" id="record-form">' in page


def test_without_the_session_csrf_token_or_origin_nothing_is_recorded(daemon: Daemon, board: Dashboard,
                                                                      client: tuple[httpx.Client, str]) -> None:
    before = _ledger(board)
    form = {"commit": "main", "status": "succeeded", "by": "mallory", "reason": "refused"}
    signed, csrf = client
    assert signed.post(FORM, data=form, headers=origin(daemon)).status_code == 403  # no CSRF field
    assert signed.post(FORM, data={**form, "csrf": "x" * 43}, headers=origin(daemon)).status_code == 403
    assert signed.post(FORM, data={**form, "csrf": csrf}).status_code == 403  # no Origin
    assert signed.post(FORM, data={**form, "csrf": csrf}, headers={"Origin": "https://evil.example"}).status_code == 403
    anonymous = httpx.Client(base_url=f"http://127.0.0.1:{daemon.port}", timeout=30)
    try:
        token = csrf_of(anonymous)
        assert anonymous.post(FORM, data={**form, "csrf": token}, headers=origin(daemon)).status_code == 401
    finally:
        anonymous.close()
    assert _ledger(board) == before


def test_a_deploy_recorded_in_the_form_is_in_deployments_with_its_fields(daemon: Daemon, board: Dashboard,
                                                                         client: tuple[httpx.Client, str]) -> None:
    signed, csrf = client
    commit = _git(board, "rev-parse", "main~2")
    url = "https://deployer:PlantedPassw0rd@ci.example.com/job/42"
    answer = signed.post(FORM, data={"csrf": csrf, "commit": "main~2", "status": "failed", "url": url,
                                     "by": "erin", "reason": "canary errors"}, headers=origin(daemon))
    assert answer.status_code == 303, answer.text[-2000:]
    entry = _ledger(board)[0]
    assert answer.headers["location"] == f"/services/{SERVICE}?recorded={entry['id']}#ledger"
    assert {k: entry[k] for k in ("service", "to_commit", "status", "by", "reason", "how")} == {
        "service": SERVICE, "to_commit": commit, "status": "failed", "by": "erin", "reason": "canary errors",
        "how": "record"}
    assert entry["url"] is not None and "ci.example.com/job/42" in entry["url"]
    assert "PlantedPassw0rd" not in entry["url"]
    page = signed.get(answer.headers["location"])
    row = re.search(rf'<tr data-entry="{entry["id"]}">(.*?)</tr>', page.text, re.S)
    assert row is not None and "erin" in row.group(1) and "failed" in row.group(1) and commit[:8] in row.group(1)
    assert f"Recorded deploy #{entry['id']}" in page.text
    assert all(secret not in page.text for secret in PLANTED)


def test_a_succeeded_record_chains_from_the_last_succeeded_entry(daemon: Daemon, board: Dashboard,
                                                                 client: tuple[httpx.Client, str]) -> None:
    signed, csrf = client
    last = next((e for e in _ledger(board) if e["status"] == "succeeded"), None)
    answer = signed.post(FORM, data={"csrf": csrf, "commit": "main"}, headers=origin(daemon))
    assert answer.status_code == 303, answer.text[-2000:]
    entry = _ledger(board)[0]
    assert entry["to_commit"] == _git(board, "rev-parse", "main")
    assert entry["status"] == "succeeded" and entry["by"] == "dashboard"
    assert entry["from_commit"] == (last["to_commit"] if last else None)


@pytest.mark.parametrize(("fields", "message"), [
    ({"commit": "no-such-ref-7d1"}, "unknown commit &#39;no-such-ref-7d1&#39;"),
    ({"commit": ""}, "commit must be a non-empty string"),
    ({"commit": "main", "status": "rolled-back"}, "status must be succeeded or failed"),
    ({"commit": "main", "reason": "x" * 2001}, "reason is longer than 2000 characters"),
])
def test_a_bad_field_is_a_one_line_error_on_the_page_and_nothing_is_written(
        daemon: Daemon, board: Dashboard, client: tuple[httpx.Client, str], fields: dict[str, str],
        message: str) -> None:
    before = _ledger(board)
    signed, csrf = client
    answer = signed.post(FORM, data={"csrf": csrf, **fields}, headers=origin(daemon))
    assert answer.status_code == 400
    error = re.search(r'<p class="error" id="record-error" role="alert">([^<]*)</p>', answer.text)
    assert error is not None and message in error.group(1), answer.text[-3000:]
    assert "\n" not in error.group(1)
    assert '<table id="ledger">' in answer.text or "no entry" in answer.text  # the service page, not a bare error
    assert _ledger(board) == before


def test_an_unknown_service_is_a_404(daemon: Daemon, client: tuple[httpx.Client, str]) -> None:
    signed, csrf = client
    answer = signed.post("/services/nope/deployments", data={"csrf": csrf, "commit": "main"}, headers=origin(daemon))
    assert answer.status_code == 404
