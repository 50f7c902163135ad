"""Thresholds: parsing every form, the exact messages for bad ones, ``breached`` at the edges, and units.

A threshold names the bad values: ``critical = "< 50"`` means below 50 is critical. A percentage is points
on a percent metric and a fraction on any other (``ratio(…) < 80%`` is ``< 0.8``); a duration is seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from deploywatch import load_config
from deploywatch.cli import main
from deploywatch.config.thresholds import Threshold, ThresholdError, parse_threshold
from deploywatch.core.errors import ConfigError

SHAPE = ("expected an operator (<, <=, >, >=, =, !=) and a number, a percentage or a duration, "
         "such as '< 80', '>= 99.5%' or '> 12h'")


@pytest.mark.parametrize(("text", "op", "bound", "kind"), [
    ("< 80", "<", 80.0, "number"),
    ("<= 80", "<=", 80.0, "number"),
    ("> 80", ">", 80.0, "number"),
    (">= 80", ">=", 80.0, "number"),
    ("= 0", "=", 0.0, "number"),
    ("== 0", "=", 0.0, "number"),
    ("!= 0", "!=", 0.0, "number"),
    ("<80", "<", 80.0, "number"),
    ("  >=   99.5  ", ">=", 99.5, "number"),
    ("\t<\t3", "<", 3.0, "number"),
    ("> -5", ">", -5.0, "number"),
    ("> +5", ">", 5.0, "number"),
    ("< .5", "<", 0.5, "number"),
    ("< 5.", "<", 5.0, "number"),
    ("> 1e3", ">", 1000.0, "number"),
    ("> 1.5E-2", ">", 0.015, "number"),
    (">= 99.5%", ">=", 99.5, "percent"),
    ("< 80 %", "<", 80.0, "percent"),
    ("<80%", "<", 80.0, "percent"),
    ("> 12h", ">", 43200.0, "duration"),
    ("> 90s", ">", 90.0, "duration"),
    ("> 30m", ">", 1800.0, "duration"),
    ("> 1d", ">", 86400.0, "duration"),
    ("> 2w", ">", 1209600.0, "duration"),
    ("> 1h30m", ">", 5400.0, "duration"),
    ("> 1h 30m", ">", 5400.0, "duration"),
    (">1H", ">", 3600.0, "duration"),
])
def test_parse(text: str, op: str, bound: float, kind: str) -> None:
    threshold = parse_threshold(text)

    assert (threshold.op, threshold.bound, threshold.kind) == (op, bound, kind)
    assert threshold.text == text.strip()


@pytest.mark.parametrize(("text", "message"), [
    ("80", f"invalid threshold '80': {SHAPE}"),
    ("", f"invalid threshold '': {SHAPE}"),
    ("   ", f"invalid threshold '   ': {SHAPE}"),
    ("<", f"invalid threshold '<': {SHAPE}"),
    ("above 80", f"invalid threshold 'above 80': {SHAPE}"),
    ("=> 5", "invalid threshold '=> 5': '> 5' is not a number, a percentage or a duration such as '12h'"),
    ("> abc", "invalid threshold '> abc': 'abc' is not a number, a percentage or a duration such as '12h'"),
    ("> 1,000", "invalid threshold '> 1,000': '1,000' is not a number, a percentage or a duration such as '12h'"),
    ("> 5 10", "invalid threshold '> 5 10': '5 10' is not a number, a percentage or a duration such as '12h'"),
    ("> inf", "invalid threshold '> inf': 'inf' is not a number, a percentage or a duration such as '12h'"),
    ("> nan", "invalid threshold '> nan': 'nan' is not a number, a percentage or a duration such as '12h'"),
    ("> 1e999", "invalid threshold '> 1e999': the number must be finite"),
    ("> 5h%", "invalid threshold '> 5h%': '5h'% is not a number"),
    ("> %", "invalid threshold '> %': ''% is not a number"),
])
def test_bad_thresholds_exact_messages(text: str, message: str) -> None:
    with pytest.raises(ThresholdError) as caught:
        parse_threshold(text)

    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)  # pydantic reports it at the key it was written at


@pytest.mark.parametrize(("text", "value", "bad"), [
    ("< 80", 79.999, True), ("< 80", 80, False), ("< 80", 80.001, False),
    ("<= 80", 80, True), ("<= 80", 80.001, False),
    ("> 80", 80, False), ("> 80", 80.5, True),
    (">= 80", 80, True), (">= 80", 79.9, False),
    ("= 0", 0, True), ("= 0", 0.1, False), ("== 0", 0, True),
    ("!= 0", 0, False), ("!= 0", -1, True),
    ("> -5", -4, True), ("> -5", -6, False),
])
def test_breached_on_each_side_of_the_bound(text: str, value: float, bad: bool) -> None:
    assert parse_threshold(text).breached(value, "number") is bad
    assert parse_threshold(text).breached(value, "count") is bad


@pytest.mark.parametrize(("text", "unit", "limit"), [
    ("< 80%", "percent", 80.0),
    ("< 80%", "ratio", 0.8),
    ("< 80%", "number", 0.8),
    ("< 80", "ratio", 80.0),  # a plain number is on the metric's own scale
    ("< 80", "percent", 80.0),
    ("> 12h", "seconds", 43200.0),
    ("> 12h", "number", 43200.0),
    ("> 3600", "seconds", 3600.0),
])
def test_limit_is_on_the_metrics_scale(text: str, unit: str, limit: float) -> None:
    assert parse_threshold(text).limit(unit) == pytest.approx(limit)  # type: ignore[arg-type]


def test_percent_on_a_ratio_metric_is_a_fraction() -> None:
    threshold = parse_threshold("< 80%")

    assert threshold.breached(0.79, "ratio")
    assert not threshold.breached(0.81, "ratio")
    assert not threshold.breached(79, "ratio")  # 79 as a ratio is 7900%
    assert threshold.breached(79, "percent")
    assert not threshold.breached(0.79 * 100 + 2, "percent")


def test_duration_compares_seconds() -> None:
    threshold = parse_threshold("> 1h30m")

    assert not threshold.breached(5400, "seconds")
    assert threshold.breached(5401, "seconds")


@pytest.mark.parametrize("unit", ["percent", "ratio", "count"])
def test_a_duration_does_not_fit_other_units(unit: str) -> None:
    with pytest.raises(ThresholdError) as caught:
        parse_threshold("> 2h").check_unit(unit)  # type: ignore[arg-type]

    assert str(caught.value) == (f"a duration ('> 2h') applies to freshness and other metrics in seconds, "
                                 f"not to a {unit} metric")


@pytest.mark.parametrize(("text", "unit"), [("> 2h", "seconds"), ("> 2h", "number"), ("> 7200", "seconds"),
                                            ("< 80%", "ratio"), ("< 80%", "percent"), ("< 5", "count")])
def test_fitting_units_pass(text: str, unit: str) -> None:
    parse_threshold(text).check_unit(unit)  # type: ignore[arg-type]


def test_threshold_is_a_value() -> None:
    assert parse_threshold(" < 80% ") == Threshold("< 80%", "<", 80.0, "percent")


# ---------------------------------------------------------------- in a config, and in a real run


def test_bad_threshold_in_a_config_names_the_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "deploywatch.toml"
    path.write_text('[[checks]]\nname = "rows"\ntable = "t"\nmetric = "row_count"\ncritical = "less than 5"\n',
                    encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert (caught.value.key, caught.value.line) == ("checks[0].critical", 5)
    assert caught.value.detail == f"invalid threshold 'less than 5': {SHAPE}"


def test_percent_thresholds_in_a_real_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE i END AS v FROM range(100) r(i)")
    checks = ""
    for name, metric in (("as_ratio", "ratio(count(v), row_count)"), ("as_percent", "percent(v IS NOT NULL)")):
        for level, bound in (("warn", "< 80%"), ("critical", "< 70%")):
            checks += (f'[[checks]]\nname = "{name}.{level}"\ntable = "t"\nmetric = "{metric}"\n'
                       f'{level} = "{bound}"\n\n')
    config = tmp_path / "deploywatch.toml"
    config.write_text(f'[warehouse]\nurl = "duckdb:///wh.duckdb"\n\n{checks}', encoding="utf-8")

    code = main(["canary", "--config", str(config), "--now", "2026-11-23T09:00:00Z", "--format", "json"])

    by_name = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert code == 1
    # 75 of 100 rows have a value: 0.75 as a ratio, 75 as a percent; both below 80% and above 70%.
    assert (by_name["as_ratio.warn"]["value"], by_name["as_percent.warn"]["value"]) == (0.75, 75.0)
    assert {n: c["status"] for n, c in by_name.items()} == {
        "as_ratio.warn": "warning", "as_ratio.critical": "ok", "as_percent.warn": "warning",
        "as_percent.critical": "ok"}
    assert by_name["as_ratio.warn"]["warn"] == "< 80%"
