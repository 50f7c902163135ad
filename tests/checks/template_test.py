"""``{{ yesterday }}`` and friends: their values with and without ``--date``, the warehouse time zone, and errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from deploywatch import load_config
from deploywatch.checks.template import TEMPLATE_NAMES, TemplateError, render, template_variables
from deploywatch.cli import main
from deploywatch.core.errors import ConfigError
from deploywatch.store import Store, default_store_url

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # still the 22nd on the US west coast, already the 23rd in Asia
UNKNOWN = "unknown template variable {{ %s }}: expected one of today, yesterday, run_date, date, now"


def test_without_a_run_date_everything_follows_now() -> None:
    assert template_variables(NOW, None) == {"today": "2026-11-23", "yesterday": "2026-11-22",
                                             "run_date": "2026-11-23", "date": "2026-11-23",
                                             "now": "2026-11-23T03:00:00Z"}


def test_a_run_date_moves_run_date_and_yesterday_but_not_today_or_now() -> None:
    variables = template_variables(NOW, date(2026, 10, 1))

    assert variables == {"today": "2026-11-23", "yesterday": "2026-09-30", "run_date": "2026-10-01",
                         "date": "2026-10-01", "now": "2026-11-23T03:00:00Z"}
    assert set(variables) == set(TEMPLATE_NAMES)


@pytest.mark.parametrize(("run_date", "yesterday"), [
    (date(2024, 3, 1), "2024-02-29"), (date(2026, 3, 1), "2026-02-28"), (date(2026, 1, 1), "2025-12-31"),
])
def test_yesterday_across_month_and_year_ends(run_date: date, yesterday: str) -> None:
    assert template_variables(NOW, run_date)["yesterday"] == yesterday


@pytest.mark.parametrize(("zone", "today"), [
    ("UTC", "2026-11-23"), ("America/Los_Angeles", "2026-11-22"), ("Asia/Tokyo", "2026-11-23"),
    ("Pacific/Honolulu", "2026-11-22"), ("Europe/Berlin", "2026-11-23"),
])
def test_today_is_the_date_in_the_warehouse_time_zone(zone: str, today: str) -> None:
    variables = template_variables(NOW, None, zone)

    assert variables["today"] == variables["run_date"] == today
    assert variables["yesterday"] == (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    assert variables["now"] == "2026-11-23T03:00:00Z"  # always UTC


def test_now_given_in_another_offset_is_rendered_in_utc() -> None:
    berlin_morning = datetime(2026, 11, 23, 0, 30, tzinfo=timezone(timedelta(hours=1)))

    variables = template_variables(berlin_morning, None)

    assert variables["now"] == "2026-11-22T23:30:00Z"
    assert variables["today"] == "2026-11-22"  # the warehouse zone (UTC) decides the day, not the offset given


@pytest.mark.parametrize(("text", "rendered"), [
    ("d = '{{ yesterday }}'", "d = '2026-11-21'"),
    ("d = '{{yesterday}}'", "d = '2026-11-21'"),
    ("d = '{{   yesterday   }}'", "d = '2026-11-21'"),
    ("d BETWEEN '{{ yesterday }}' AND '{{ run_date }}'", "d BETWEEN '2026-11-21' AND '2026-11-22'"),
    ("d = '{{ date }}' AND t < '{{ now }}'", "d = '2026-11-22' AND t < '2026-11-23T03:00:00Z'"),
    ("no placeholders {here}", "no placeholders {here}"),
])
def test_render(text: str, rendered: str) -> None:
    assert render(text, template_variables(NOW, date(2026, 11, 22))) == rendered


@pytest.mark.parametrize(("text", "message"), [
    ("d = '{{ tomorrow }}'", UNKNOWN % "tomorrow"),
    ("d = '{{ Today }}'", UNKNOWN % "Today"),
    ("d = '{{ yesterday - 1 }}'", UNKNOWN % "yesterday - 1"),
    ("d = '{{ today'", "unbalanced '{{' or '}}' in template"),
    ("d = 'today }}'", "unbalanced '{{' or '}}' in template"),
])
def test_render_errors(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(text, template_variables(NOW, None))

    assert str(caught.value) == message


# ---------------------------------------------------------------- through the CLI

CONFIG = """\
[warehouse]
url = "duckdb:///wh.duckdb"
timezone = "{zone}"

[[checks]]
name = "events.yesterday"
table = "events"
where = "d = DATE '{{{{ yesterday }}}}'"
metric = "row_count"

[[checks]]
name = "events.today"
table = "events"
where = "d = DATE '{{{{ run_date }}}}'"
metric = "row_count"

[[checks]]
name = "events.by_query"
query = "SELECT count(*) FROM events WHERE d <= DATE '{{{{ yesterday }}}}'"
"""


def workspace(tmp_path: Path, zone: str = "UTC") -> Path:
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute("CREATE TABLE events (d DATE)")
        # 1 row on the 20th, 2 on the 21st, 3 on the 22nd, 4 on the 23rd: the count names the day.
        con.execute("INSERT INTO events SELECT DATE '2026-11-19' + n::INTEGER FROM range(1, 5) a(n), "
                    "range(1, 5) b(k) WHERE k <= n")
    path = tmp_path / "deploywatch.toml"
    path.write_text(CONFIG.format(zone=zone), encoding="utf-8")
    return path


def values(out: str) -> dict[str, float | None]:
    return {c["name"]: c["value"] for c in json.loads(out)["checks"]}


def test_date_option_sets_run_date_and_yesterday_relative_to_it(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = workspace(tmp_path)

    assert main(["canary", "--config", str(config), "--date", "2026-11-22", "--now", "2026-11-30T09:00:00Z",
                 "--format", "json"]) == 0

    # yesterday = the 21st (2 rows), run date = the 22nd (3 rows), the query counts days up to the 21st (1 + 2)
    assert values(capsys.readouterr().out) == {"events.yesterday": 2, "events.today": 3, "events.by_query": 3}


def test_without_date_the_run_date_is_today_in_the_warehouse_time_zone(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    config = workspace(tmp_path, "America/Los_Angeles")

    assert main(["canary", "--config", str(config), "--now", "2026-11-23T03:00:00Z", "--format", "json"]) == 0

    assert values(capsys.readouterr().out) == {"events.yesterday": 2, "events.today": 3, "events.by_query": 3}
    with Store.open(default_store_url(tmp_path)) as store:
        (run,) = store.runs()
        assert run.run_date == date(2026, 11, 22)
        assert {p.run_date for p in store.recent_metrics("events.today")} == {date(2026, 11, 22)}


def test_same_instant_in_utc_is_the_next_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = workspace(tmp_path, "UTC")

    assert main(["canary", "--config", str(config), "--now", "2026-11-23T03:00:00Z", "--format", "json"]) == 0

    assert values(capsys.readouterr().out) == {"events.yesterday": 3, "events.today": 4, "events.by_query": 6}


def test_explain_shows_the_rendered_dates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = workspace(tmp_path)

    assert main(["canary", "--config", str(config), "--explain", "--date", "2024-03-01", "--now",
                 "2026-11-23T03:00:00Z", "--format", "json"]) == 0

    statements = json.loads(capsys.readouterr().out)["statements"]
    wheres = {s["checks"][0]: s["where"] for s in statements}
    assert wheres["events.yesterday"] == "d = DATE '2024-02-29'"
    assert wheres["events.today"] == "d = DATE '2024-03-01'"
    (query,) = [s for s in statements if s["kind"] == "query"]
    assert "2024-02-29" in query["sql"] and "{{" not in query["sql"]


@pytest.mark.parametrize(("key", "line", "text"), [
    ("checks[0].where", 5, 'where = "d = \'{{ tomorrow }}\'"'),
    ("checks[0].query", 3, 'query = "SELECT count(*) FROM t WHERE d = \'{{ tomorow }}\'"'),
])
def test_unknown_variable_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str,
                                            line: int, text: str) -> None:
    body = '[[checks]]\nname = "c"\n' + ('table = "t"\nmetric = "row_count"\n' if "where" in key else "") + text
    path = tmp_path / "deploywatch.toml"
    path.write_text(body + "\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)
    code = main(["canary", "--config", str(path), "--now", "2026-11-23T03:00:00Z"])

    assert (caught.value.key, caught.value.line) == (key, line)
    assert caught.value.detail.startswith("unknown template variable {{ tomor")
    err = capsys.readouterr().err
    assert code == 3 and err.count("\n") == 1
    assert f"{path}:{line}: {key}: unknown template variable" in err
