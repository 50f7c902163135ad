"""``--format junit`` and ``--format github`` for drift, canary, gate and check: valid JUnit whose outcomes are the
JSON output's statuses (the oracle), and annotations + a job summary for GitHub Actions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from lxml import etree

from deploywatch.cli import main
from testing.gitrepo import GitRepo, write_config, write_deployed

XSD = Path(__file__).resolve().parent.parent / "data" / "junit" / "junit.xsd"
NOW = "2026-11-23T09:00:00Z"
OUTCOME = {"ok": None, "warning": "system-out", "critical": "failure", "unknown": "skipped"}

DRIFT_CONFIG = """\
[repo]
path = "repo"
[defaults]
warn_commits = 1
critical_commits = 3
warn_after = "1000d"
critical_after = "2000d"
[services.api]
paths = ["api/**"]
deployed = { file = "deployed/api.sha" }
[services.worker]
paths = ["worker/**"]
deployed = { file = "deployed/worker.sha" }
deploy = "make deploy-worker"
[services.web]
paths = ["web/**"]
deployed = { file = "deployed/web.sha" }
"""

CHECKS_CONFIG = """\
[warehouse]
url = "duckdb:///loads.duckdb"

[[checks]]
name = "loads.rows"
phase = "load"
table = "loads"
where = "d = DATE '2026-11-21'"
metric = "row_count"
critical = "< 10"

[[checks]]
name = "loads.sources"
phase = "load"
table = "loads"
where = "d = DATE '2026-11-21'"
metric = "distinct_count(source)"
warn = "< 3"

[[checks]]
name = "loads.fresh"
phase = "publish"
table = "loads"
metric = "row_count"
warn = "< 1"

[gates.load]
checks = ["load"]
"""


@pytest.fixture(scope="module")
def drift_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ci-drift")
    repo = GitRepo(root / "repo")
    base = repo.commit("base", {"api/a.py": "0", "worker/w.py": "0", "web/x.js": "0"})
    for n in range(4):
        repo.commit(f"worker change {n}", {"worker/w.py": str(n + 1)})
    write_deployed(root, "api", repo.head())
    write_deployed(root, "worker", base)
    write_deployed(root, "web", "0" * 40)  # no such commit: unknown
    return write_config(root, DRIFT_CONFIG)


@pytest.fixture(scope="module")
def checks_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ci-checks")
    with duckdb.connect(str(root / "loads.duckdb")) as con:
        con.execute("CREATE TABLE loads (d DATE, source VARCHAR)")
        con.executemany("INSERT INTO loads VALUES (?, ?)", [["2026-11-21", "x"], ["2026-11-21", "y"]])
    return write_config(root, CHECKS_CONFIG)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main([*args, "--now", NOW, "--no-alerts"])
    return code, capsys.readouterr().out


def junit_outcomes(text: str) -> dict[str, str | None]:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    root = etree.fromstring(text.encode("utf-8"))
    assert schema.validate(root), schema.error_log
    return {case.get("name"): (case[0].tag if len(case) else None) for case in root.iter("testcase")}


def statuses(document: dict[str, Any], key: str, name: str = "name") -> dict[str, str | None]:
    return {item[name]: OUTCOME[item["status"]] for item in document[key]}


COMMANDS = {
    "drift": (["drift"], "services", "drift_config"),
    "canary": (["canary"], "checks", "checks_config"),
    "check": (["check"], "items", "checks_config"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_junit_outcomes_are_the_json_statuses(command: str, request: pytest.FixtureRequest,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    args, key, fixture = COMMANDS[command]
    config = str(request.getfixturevalue(fixture))
    json_code, out = run(capsys, *args, "--config", config, "--format", "json")
    junit_code, xml = run(capsys, *args, "--config", config, "--format", "junit")
    assert junit_code == json_code
    expected = statuses(json.loads(out), key)
    assert junit_outcomes(xml) == expected
    assert len(set(expected.values())) > 1  # the scenario has more than one outcome to tell apart


def test_drift_junit_covers_every_outcome(drift_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, xml = run(capsys, "drift", "--config", str(drift_config), "--format", "junit")
    assert code == 2  # critical is the worst status
    assert junit_outcomes(xml) == {"api": None, "worker": "failure", "web": "skipped"}
    assert "make deploy-worker" in xml and "worker change 3" in xml


def test_gate_junit_has_the_verdict_and_each_check(checks_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "gate", "load", "--config", str(checks_config), "--format", "json")
    document = json.loads(out)
    code_junit, xml = run(capsys, "gate", "load", "--config", str(checks_config), "--format", "junit")
    assert code == code_junit == 2
    outcomes = junit_outcomes(xml)
    assert outcomes.pop("verdict") == "failure"  # FAIL
    assert outcomes == {c["name"]: OUTCOME[c["status"]] for c in document["checks"]}


def test_github_format_annotates_and_writes_the_summary(drift_config: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out = run(capsys, "drift", "--config", str(drift_config), "--format", "github")
    assert code == 2
    lines = out.splitlines()
    # most severe first: critical (error) before unknown (warning); the ok service is not annotated
    assert [line.split(" ", 1)[0] for line in lines] == ["::error", "::warning"]
    assert "file=" not in lines[0]  # the config is outside the repository: nothing to point at
    assert "worker" in lines[0] and "web" in lines[1]
    markdown = summary.read_text(encoding="utf-8")
    _, expected = run(capsys, "drift", "--config", str(drift_config), "--format", "markdown")
    assert markdown == expected


def test_annotations_point_at_the_service_in_a_config_inside_the_repository(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "repo")
    base = repo.commit("base", {"worker/w.py": "0"})
    for n in range(3):
        repo.commit(f"worker change {n}", {"worker/w.py": str(n + 1)})
    write_deployed(tmp_path / "repo", "worker", base)
    config = DRIFT_CONFIG.split("[services.api]", maxsplit=1)[0].replace('path = "repo"', 'path = "."')
    config += '[services.worker]\npaths = ["worker/**"]\ndeployed = { file = "deployed/worker.sha" }\n'
    path = write_config(tmp_path / "repo", config)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    code, out = run(capsys, "drift", "--config", str(path), "--format", "github")
    assert code == 2
    line_number = config.splitlines().index("[services.worker]") + 1
    assert out.startswith(f"::error file=deploywatch.toml,line={line_number},title=drift%3A worker is critical::")
