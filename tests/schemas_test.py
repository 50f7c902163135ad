"""Every ``deploywatch.*/v1`` document has a JSON Schema under ``docs/schemas/``, and every command's JSON output
validates against the schema its ``schema`` field names (issue 11), so the schemas cannot drift from the code.

The demo workspace (plus a service whose deployed source reads nothing) is built once; each command runs
in-process with ``--now`` fixed. Commands that write state (``complete``, ``silence add``, ``alerts test``) run in
a copy of it. The webhook body is caught by a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from pytest_httpserver import HTTPServer

from deploywatch.cli import main
from testing.gitrepo import env_without_git

NOW = "2026-11-23T09:00:00Z"
ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "docs" / "schemas"
_NAME = re.compile(r'"deploywatch\.([a-z_.-]+)/v1"')
# Read-only commands (the demo as built serves them all) → the document each writes.
COMMANDS = {
    "drift": (["drift", "--no-alerts"], "drift"),
    "drift-service": (["drift", "--no-alerts", "prediction-worker"], "drift"),
    "contains": (["contains", ":/^fix.worker.: skip players"], "contains"),
    "affected": (["affected", "--base", "main~6", "--head", "main"], "affected"),
    "affected-files": (["affected", "--files", "scrapers/espn/scraper.py", "README.md"], "affected"),
    "skew": (["skew"], "skew"),
    "canary": (["canary", "--no-alerts"], "canary"),
    "explain": (["canary", "--explain"], "explain"),
    "gate": (["gate", "phase3_to_phase4", "--no-alerts"], "gate"),
    "check": (["check", "--no-alerts"], "check"),
    "history": (["history", "phase4.vegas_line_coverage.yesterday"], "history"),
    "phases": (["phases"], "phases"),
    "config": (["config", "check"], "config"),
    "config-probe-sources": (["config", "check", "--probe-sources"], "config"),
    "preflight": (["preflight", "prediction-worker"], "preflight"),
    "alerts-pending": (["alerts", "pending"], "outbox"),
    "silence-list": (["silence", "list", "--all"], "silences"),
    "report": (["report", "--since", "30d"], "report"),
    "remediate": (["remediate", "--all"], "remediate"),
    "remediate-status": (["remediate", "status"], "remediate-status"),
    "audit": (["audit"], "audit"),
}
# The documents the state-writing tests below validate.
WRITTEN = {"complete", "silence", "silences", "phases", "alerts-test", "notification", "outbox", "flush",
           "deployments", "deploy",
           "rollout",  # validated by tests/deploy/rollout_test.py, whose fleet checks every document it reads
           "init"}  # validated by tests/init/init_test.py (init scans a repository; it takes no --now)
# A service the guarded deploy tests add to a copy of the demo: its deploy command writes the file its deployed
# source reads (the command runs in the repository's work tree, beside the config's deployed/ folder); the
# post-deploy probe fails while smoke.fail exists (probe commands run in the config's folder).
DEPLOYABLE = """
[services.web]
paths = ["predictions/worker/**"]
deployed = { file = "deployed/web.sha" }
deploy = "echo {{ commit }} > ../deployed/web.sha"
verify = { timeout = "3s", interval = "1s" }
post_deploy = { probes = ["smoke"] }

[services.web-paused]
paths = ["predictions/worker/**"]
deployed = { file = "deployed/web-paused.sha" }
deploy = "echo {{ commit }} > ../deployed/web-paused.sha"
verify = { timeout = "3s", interval = "1s" }
post_deploy = { probes = ["smoke"], on_failure = "pause" }

[[probes]]
name = "smoke"
command = "test -f smoke.fail && exit 2 || exit 0"
"""


def schema_files() -> dict[str, Path]:
    """``drift`` → ``docs/schemas/drift.v1.json``, for every schema file."""
    return {p.name.removesuffix(".v1.json"): p for p in SCHEMAS.glob("*.v1.json")}


def names_in_source() -> set[str]:
    """Every ``deploywatch.NAME/v1`` written as a string literal in ``src/``."""
    return {m for path in (ROOT / "src").rglob("*.py") for m in _NAME.findall(path.read_text(encoding="utf-8"))}


def validate(document: dict[str, Any]) -> str:
    """Validate ``document`` against the schema its ``schema`` field names; return that name."""
    match = re.fullmatch(r"deploywatch\.([a-z_.-]+)/v1", document.get("schema", ""))
    assert match, f"no deploywatch.*/v1 schema field: {document.get('schema')!r}"
    path = SCHEMAS / f"{match[1]}.v1.json"
    assert path.is_file(), f"{document['schema']} has no schema file {path.relative_to(ROOT)}"
    validator = Draft202012Validator(json.loads(path.read_text(encoding="utf-8")), format_checker=FormatChecker())
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == [], f"{document['schema']} output does not match {path.name}"
    return match[1]


def run_json(capsys: pytest.CaptureFixture[str], args: list[str]) -> dict[str, Any]:
    """Run ``deploywatch ARGS --format json --now NOW`` in-process; the parsed output."""
    capsys.readouterr()
    code = main([*args, "--format", "json", "--now", NOW])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2, 3) and out, err  # 3: contains with a service whose deployed commit is unknown
    document: dict[str, Any] = json.loads(out)
    return document


def _build_demo(directory: Path) -> Path:
    subprocess.run([sys.executable, "-m", "deploywatch", "demo", str(directory), "--now", NOW], capture_output=True,
                   timeout=300, check=True, env=env_without_git())
    # A service whose deployed source reads nothing: the documents' null branches are validated too.
    with (directory / "deploywatch.toml").open("a", encoding="utf-8") as config:
        config.write('\n[services.lost-service]\npaths = ["lost/**"]\ndeployed = { file = "deployed/lost.sha" }\n')
    return directory


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_demo(tmp_path_factory.mktemp("schemas") / "demo")


@pytest.fixture
def in_demo(demo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the demo (without GIT_* from the test runner)."""
    for name in [n for n in os.environ if n.startswith("GIT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(demo)
    return demo


@pytest.fixture
def demo_copy(demo: Path, tmp_path: Path, in_demo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo to write state into."""
    copy = tmp_path / "demo"
    shutil.copytree(demo, copy, symlinks=True)
    monkeypatch.chdir(copy)
    return copy


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.v1.json")), ids=lambda p: p.name)
def test_schema_file_is_a_valid_draft_2020_12_schema(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    name = path.name.removesuffix(".v1.json")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/{path.name}")
    assert schema["properties"]["schema"] == {"const": f"deploywatch.{name}/v1"}
    assert schema["additionalProperties"] is False
    assert schema["title"] and schema["description"]


def test_every_document_in_the_source_has_a_schema_and_every_schema_a_document() -> None:
    in_source = names_in_source()
    assert len(in_source) >= 10  # the pattern still finds the documents
    assert sorted(in_source - schema_files().keys()) == [], "documents without a schema in docs/schemas/"
    assert sorted(schema_files().keys() - in_source) == [], "schemas of documents no code writes"


def test_every_schema_is_exercised_by_this_module() -> None:
    """A new document needs a run here too: the documents validated below cover every schema file."""
    assert {name for _, name in COMMANDS.values()} | WRITTEN == schema_files().keys()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_output_matches_its_schema(command: str, in_demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args, name = COMMANDS[command]
    assert validate(run_json(capsys, args)) == name


def test_writing_commands_match_their_schemas(demo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(run_json(capsys, ["complete", "phase3", "team_offense_game_summary"])) == "complete"
    # The report that completes phase2 on a new date runs its on_complete: triggered, with an outcome.
    assert validate(run_json(capsys, ["complete", "phase2", "bdl_games", "--date", "2026-11-24"])) == "complete"
    last = run_json(capsys, ["complete", "phase2", "bdl_player_boxscores", "--date", "2026-11-24"])
    assert validate(last) == "complete" and last["triggered"] and last["trigger_outcome"] == "ok"
    again = run_json(capsys, ["complete", "phase2", "bdl_player_boxscores", "--date", "2026-11-24"])
    assert validate(again) == "complete" and again["duplicate"] and again["trigger_outcome"] is None
    added = run_json(capsys, ["silence", "add", "--match", "service=scrapers", "--for", "2h", "--comment", "deploying"])
    assert validate(added) == "silence"
    listed = run_json(capsys, ["silence", "list"])
    assert validate(listed) == "silences" and [s["id"] for s in listed["silences"]] == [added["id"]]
    phases = run_json(capsys, ["phases"])
    assert validate(phases) == "phases"
    before = run_json(capsys, ["deployments", "prediction-worker"])  # the demo's stored past
    assert validate(before) == "deployments" and before["deployments"]
    first = run_json(capsys, ["record", "prediction-worker", "main~25", "--url", "https://bot:pw@ci.example.com/1"])
    assert validate(first) == "deployments"
    assert first["deployments"][0]["from_commit"] == next(d["to_commit"] for d in before["deployments"]
                                                          if d["status"] == "succeeded")
    failed = run_json(capsys, ["record", "prediction-worker", "main", "--status", "failed", "--reason", "smoke test"])
    assert validate(failed) == "deployments" and failed["deployments"][0]["relevant_commits"]
    listed = run_json(capsys, ["deployments", "prediction-worker"])
    assert validate(listed) == "deployments" and [d["status"] for d in listed["deployments"]][:2] == ["failed",
                                                                                                     "succeeded"]
    reported = run_json(capsys, ["report", "--since", "30d", "--service", "prediction-worker"])
    assert validate(reported) == "report" and reported["services"] == ["prediction-worker"]


def test_rollback_documents_match_their_schema(demo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``rollback`` writes ``deploywatch.deploy/v1``: here to a named commit from an unknown one (null from_commit)."""
    with (demo_copy / "deploywatch.toml").open("a", encoding="utf-8") as config:
        config.write(DEPLOYABLE)
    back = run_json(capsys, ["rollback", "web", "--to", "main~3", "--reason", "start", "--no-alerts"])
    assert validate(back) == "deploy" and back["status"] == "succeeded"
    [entry] = back["deploys"]
    assert entry["how"] == "rollback" and entry["from_commit"] is None and entry["id"] is not None
    assert [s["name"] for s in entry["steps"]] == ["rollback", "rollback_verify"]
    assert validate(run_json(capsys, ["deployments", "web"])) == "deployments"


def test_deploy_documents_match_their_schema(demo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``deploy`` writes ``deploywatch.deploy/v1``: a dry run (with its plan), a success, a failure at post-deploy
    with its rollback nested, and a rollback after it; the ledger (paused included) stays ``deployments/v1``."""
    with (demo_copy / "deploywatch.toml").open("a", encoding="utf-8") as config:
        config.write(DEPLOYABLE)
    assert validate(run_json(capsys, ["rollback", "web", "--to", "main~3", "--no-alerts"])) == "deploy"
    planned = run_json(capsys, ["deploy", "web", "--yes", "--dry-run"])
    assert validate(planned) == "deploy" and planned["status"] == "planned" and planned["deploys"][0]["plan"]
    done = run_json(capsys, ["deploy", "web", "--yes", "--commit", "main~1", "--no-alerts"])
    assert validate(done) == "deploy" and done["status"] == "succeeded" and "plan" not in done["deploys"][0]
    (demo_copy / "smoke.fail").touch()
    failed = run_json(capsys, ["deploy", "web", "--yes", "--no-alerts"])
    assert validate(failed) == "deploy" and failed["exit_code"] == 2
    [entry] = failed["deploys"]
    assert entry["status"] == "rolled_back" and entry["step"] == "post_deploy"
    assert entry["rollback"]["status"] == "succeeded" and entry["rollback"]["rollback"] is None
    back = run_json(capsys, ["rollback", "web", "--no-alerts"])  # to the last succeeded commit but the current
    assert validate(back) == "deploy" and back["deploys"][0]["to_commit"] == planned["deploys"][0]["from_commit"]
    assert validate(run_json(capsys, ["rollback", "web-paused", "--to", "main~3", "--no-alerts"])) == "deploy"
    paused = run_json(capsys, ["deploy", "web-paused", "--yes", "--no-alerts"])
    assert validate(paused) == "deploy" and paused["deploys"][0]["status"] == "paused"
    listed = run_json(capsys, ["deployments", "web", "web-paused"])
    assert validate(listed) == "deployments" and "paused" in {d["status"] for d in listed["deployments"]}
    ended = run_json(capsys, ["rollback", "web-paused", "--to", "main~3", "--no-alerts"])  # takes the paused lock
    assert validate(ended) == "deploy" and ended["status"] == "succeeded"


def test_alert_documents_match_their_schemas(demo_copy: Path, httpserver: HTTPServer,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A canary's alert fails once and becomes a dead letter (one attempt allowed), the flush delivers it, then a
    test notification: the outbox, flush, alerts-test and webhook documents, each with items."""
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("busy", status=503)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    with (demo_copy / "deploywatch.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[alerts]\nmax_attempts = 1\n\n[[alerts.webhook]]\n'
                     f'url = "{httpserver.url_for("/hook")}"\n')
    sinks = run_json(capsys, ["config", "check"])
    assert validate(sinks) == "config" and [a["type"] for a in sinks["alerts"]] == ["webhook"]
    assert validate(run_json(capsys, ["canary"])) == "canary"
    dead = run_json(capsys, ["alerts", "pending"])
    assert validate(dead) == "outbox" and [i["state"] for i in dead["items"]] == ["dead"]
    flushed = run_json(capsys, ["alerts", "flush", "--retry-dead", "--no-wait"])
    assert validate(flushed) == "flush" and [i["state"] for i in flushed["items"]] == ["delivered"]
    tested = run_json(capsys, ["alerts", "test"])
    assert validate(tested) == "alerts-test" and [r["delivered"] for r in tested["results"]] == [True]
    bodies = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert len(bodies) == 3 and {validate(body) for body in bodies} == {"notification"}
    delivered = run_json(capsys, ["alerts", "pending", "--delivered"])
    assert validate(delivered) == "outbox" and [i["state"] for i in delivered["items"]] == ["delivered"] * 2


def test_the_demo_reaches_the_null_branches(in_demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The documents validated above include the nullable cases, not only the happy path."""
    drift = run_json(capsys, ["drift", "--no-alerts"])
    services = {s["name"]: s for s in drift["services"]}
    assert services["lost-service"]["deployed_value"] is None and services["lost-service"]["deployed_commit"] is None
    assert services["raw-processors"]["state"] == "missing" and services["scrapers"]["commits"]
    contains = run_json(capsys, ["contains", ":/^fix.worker.: skip players"])
    assert None in {s["contains"] for s in contains["services"]}


def test_the_schemas_readme_lists_every_schema() -> None:
    readme = (SCHEMAS / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"\]\(([a-z_.-]+\.v1\.json)\)", readme))
    assert listed == {p.name for p in schema_files().values()}
    assert "(docs/schemas/README.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("sections", [
    '[services.api]\npaths = ["nothing/**"]\ndeployed = { file = "api.sha" }\n',
    '[phases.nightly]\nprocessors = ["load"]\n',
], ids=["services-only", "phases-only"])
def test_config_document_of_a_small_config(sections: str, in_demo: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Without checks, probes or sinks (or services) the config document's optional sections are null or empty."""
    config = tmp_path / "deploywatch.toml"
    config.write_text(f'[repo]\npath = "{(in_demo / "repo").as_posix()}"\n\n{sections}', encoding="utf-8")
    document = run_json(capsys, ["config", "check", "--config", str(config)])
    assert validate(document) == "config"
    assert document["data"] is None and document["alerts"] == [] and document["probes"] == []
