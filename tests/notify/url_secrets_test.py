"""A warehouse password written in the URL — in the query string, the user info or a libpq DSN word — never
reaches stdout, stderr, the store or an alert, whether the warehouse connects or not.

End to end: real ``deploywatch`` processes against a real PostgreSQL server, with a real webhook and Slack
stand-in receiving the alerts; the store (``state.db``) is read table by table, column by column.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from deploywatch.core.redact import mask
from testing.gitrepo import GitRepo, write_deployed
from testing.slack_api import FakeSlack
from testing.webhook_api import FakeWebhook

SECRET = "pgPASSmarker4471zq"  # matches none of redact.mask's own patterns: only registration hides it
NOW = "2026-11-23T09:00:00Z"


def _config(warehouse_url: str, webhook: str, slack: str) -> str:
    return f"""\
[repo]
path = "repo"
branch = "main"

[services.web]
paths = ["web/**"]
deployed = {{ file = "deployed/web.sha" }}

[warehouse]
url = "{warehouse_url}"
timeout = "20s"

[[checks]]
name = "orders.rows"
table = "orders"
metric = "row_count"
warn = "< 5"

[[alerts.webhook]]
url = "{webhook}"

[[alerts.slack]]
webhook = "{slack}"
"""


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DEPLOYWATCH_CONFIG"}
    return subprocess.run([sys.executable, "-m", "deploywatch", *args, "--config", str(config)],
                          cwd=config.parent, env=env, capture_output=True, text=True, timeout=120, check=False)


def _store_text(config: Path) -> str:
    """Every value of every column of every table of the store, as text."""
    conn = sqlite3.connect(config.parent / ".deploywatch" / "state.db")
    try:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert {"runs", "findings", "outbox"} <= set(tables)
        return "\n".join(repr(row) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"'))
    finally:
        conn.close()


def _with_secret(url: str, how: str, database: str) -> str:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    plain = parsed.render_as_string(hide_password=False)
    if how == "query":
        return f"{plain}?password={SECRET}&sslmode=disable"
    if how == "sslpassword":
        return f"{plain}?sslmode=disable&sslpassword={SECRET}"
    assert how == "userinfo"
    return parsed.set(password=SECRET).render_as_string(hide_password=False)


@pytest.mark.parametrize("how", ["query", "sslpassword", "userinfo"])
@pytest.mark.parametrize("reachable", [False, True], ids=["database-missing", "connects"])
def test_a_password_in_the_warehouse_url_reaches_no_output_store_or_alert(
        how: str, reachable: bool, postgres_url: str, tmp_path: Path, fake_webhook: FakeWebhook,
        fake_slack: FakeSlack) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("web", {"web/app.py": "print('web')\n"})
    write_deployed(tmp_path, "web", repo.head())
    database = make_url(postgres_url).database or ""
    if reachable:  # trust authentication: the password is sent and ignored; the check then warns (3 < 5)
        engine = sa.create_engine(postgres_url)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE orders (id int)")
            conn.exec_driver_sql("INSERT INTO orders VALUES (1), (2), (3)")
        engine.dispose()
    url = _with_secret(postgres_url, how, database if reachable else f"{database}_missing")
    config = tmp_path / "deploywatch.toml"
    config.write_text(_config(url, fake_webhook.url, fake_slack.url), encoding="utf-8")

    runs = [_run(config, "canary", "--now", NOW), _run(config, "check", "--now", NOW),
            _run(config, "canary", "--now", NOW, "--format", "json"), _run(config, "config", "check"),
            _run(config, "history", "--format", "json")]

    for proc in runs:
        assert "Traceback" not in proc.stderr
        assert SECRET not in proc.stdout + proc.stderr, proc.args
    assert runs[0].returncode == (1 if reachable else 3), runs[0].stderr
    assert runs[2].returncode == runs[0].returncode
    if reachable:
        assert '"value": 3' in runs[2].stdout
    else:  # the reason still names the URL, masked
        assert "cannot connect to postgresql://" in runs[2].stdout and "***" in runs[2].stdout
    assert SECRET not in _store_text(config)
    assert "orders.rows" in _store_text(config)
    received = [r.body.decode() for r in fake_webhook.requests] + [repr(p) for p in fake_slack.received]
    assert any("orders.rows" in text for text in received)  # the alerts were sent…
    assert not [text for text in received if SECRET in text]  # …without the password


@pytest.mark.parametrize(("url", "secrets"), [
    ("postgresql://u:p%40ss@h/db?password=S3cret&sslmode=require&access_token=a%2Bb",
     {"p%40ss", "p@ss", "S3cret", "a%2Bb", "a+b"}),
    ("postgresql://u@h/db?sslpassword=k3y&passwd=two&client_secret=three&user=admin", {"k3y", "two", "three"}),
    ("host=db.internal port=5432 password='it\\'s a secret' user=admin", {"it's a secret"}),
    ("host=db.internal password=plainword dbname=x", {"plainword"}),
    ("postgresql://admin@db.internal/db?sslmode=require", set()),
], ids=["userinfo-and-query", "other-credential-params", "dsn-quoted", "dsn-plain", "none"])
def test_every_url_credential_form_is_found(url: str, secrets: set[str]) -> None:
    from deploywatch.core.redact import url_secrets

    assert set(url_secrets(url)) == secrets


def test_a_config_registers_its_warehouse_and_store_credentials(tmp_path: Path) -> None:
    from deploywatch import load_config

    config = tmp_path / "deploywatch.toml"
    config.write_text('[warehouse]\nurl = "postgresql://u@h/db?password=whPASSmarker81"\n\n'
                      '[store]\nurl = "postgresql://u:stPASSmarker82@h/state"\n\n'
                      '[[checks]]\nname = "rows"\ntable = "t"\nmetric = "row_count"\n', encoding="utf-8")

    load_config(config)

    assert mask("a whPASSmarker81 b stPASSmarker82 c") == "a *** b *** c"


def test_a_finding_is_masked_when_it_is_made_so_nothing_downstream_sees_the_secret() -> None:
    from deploywatch.core.findings import Finding
    from deploywatch.core.status import Status
    from deploywatch.store.records import finding_records

    finding = Finding("check", "orders.rows", Status.UNKNOWN,
                      "cannot connect to postgresql://u@h/db?password=hunter2hunter2",
                      {"reason": "sslpassword=x1y2z3w4 refused", "nested": [{"url": "https://u:pw1234@h/x"}]})

    [record] = finding_records("run-1", [finding])

    assert finding.summary == "cannot connect to postgresql://u@h/db?password=***"
    assert finding.details == {"reason": "sslpassword=*** refused", "nested": [{"url": "https://***@h/x"}]}
    assert (record.summary, record.details) == (finding.summary, dict(finding.details))


def test_a_runs_details_are_masked_before_the_store_sees_them() -> None:
    from datetime import UTC, datetime

    from deploywatch.store.records import RunRecord

    at = datetime(2026, 11, 23, 9, tzinfo=UTC)
    run = RunRecord(id="r1", command="check", started_at=at, finished_at=at, run_date=None, status="unknown",
                    exit_code=3, details={"items": [{"summary": "cannot reach https://u:hunter22@h/x?token=abc123"}]})

    assert run.details == {"items": [{"summary": "cannot reach https://***@h/x?token=***"}]}


def test_every_configured_url_registers_its_credentials(tmp_path: Path) -> None:
    from deploywatch import load_config

    config = tmp_path / "deploywatch.toml"
    config.write_text(
        '[services.web]\npaths = ["web/**"]\n'
        'deployed = { url = "https://web.example.com/__version__?key=dpKEYmarker71" }\n'
        'health = "https://web.example.com/health?apikey=hlKEYmarker72"\n\n'
        '[[probes]]\nname = "api"\nurl = "https://u:pbPASSmarker73@api.example.com/ping"\n\n'
        '[phases.load]\nprocessors = ["a"]\n'
        'on_complete = "curl -X POST https://next.example.com/run?access_token=ocTOKmarker74"\n', encoding="utf-8")

    load_config(config)

    assert (mask("dpKEYmarker71 hlKEYmarker72 pbPASSmarker73 ocTOKmarker74")
            == "dpKEYmarker71 *** *** ***")  # `key` alone is too common a word to be a credential name
