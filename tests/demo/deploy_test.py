"""The demo's pretend platform end to end: real `deploywatch deploy` processes on a built demo — the scrapers deploy
succeeds, the worker's tip fails its planted probe and is rolled back, and the ledger lists both."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from deploywatch.demo import DemoWorkspace, build_demo
from deploywatch.demo.platform import deploy_commands
from deploywatch.drift.git import clean_env


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> DemoWorkspace:
    """A demo built now, as `make demo` builds it (tests copy it before deploying)."""
    return build_demo(tmp_path_factory.mktemp("built") / "demo")


@pytest.fixture
def demo(built: DemoWorkspace, tmp_path: Path) -> DemoWorkspace:
    """A private copy of the built demo (deploys change its deployed files and its ledger)."""
    copy = tmp_path / "demo"
    shutil.copytree(built.directory, copy, symlinks=True)
    services = tuple(replace(s, deployed_file=copy / s.deployed_file.relative_to(built.directory))
                     for s in built.services)
    return replace(built, directory=copy, config_path=copy / "deploywatch.toml", repo_path=copy / "repo",
                   services=services)


def _env() -> dict[str, str]:
    env = clean_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def cli(demo: DemoWorkspace, *args: str) -> tuple[int, str, str]:
    """`deploywatch ARGS` run from the demo directory, as the demo tells the reader to."""
    proc = subprocess.run([sys.executable, "-m", "deploywatch", *args], cwd=demo.directory, capture_output=True,
                          text=True, timeout=120, env=_env(), check=False)
    return proc.returncode, proc.stdout, proc.stderr


def cli_json(demo: DemoWorkspace, *args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = cli(demo, *args, "--format", "json")
    assert out, err
    return code, json.loads(out), err


def deployed(demo: DemoWorkspace, service: str) -> str:
    return demo.service(service).deployed_file.read_text(encoding="utf-8").strip()


def probe(demo: DemoWorkspace, script: str) -> tuple[int, str]:
    proc = subprocess.run(["sh", f"bin/{script}"], cwd=demo.directory, capture_output=True, text=True,
                          timeout=30, env=clean_env(), check=False)
    return proc.returncode, proc.stdout


def test_scrapers_deploy_succeeds_the_worker_is_rolled_back_and_the_ledger_has_both(demo: DemoWorkspace) -> None:
    scrapers_before = demo.service("scrapers").deployed_commit
    worker_before = deployed(demo, "prediction-worker")
    assert worker_before == demo.service("prediction-worker").deployed_commit

    code, document, err = cli_json(demo, "deploy", "scrapers")  # no --yes: preflight is all ok on the demo
    assert code == 0, err
    (entry,) = document["deploys"]
    assert (entry["status"], entry["from_commit"], entry["to_commit"]) == ("succeeded", scrapers_before, demo.tip)
    assert [s["name"] for s in entry["steps"]] == ["preflight", "deploy", "verify", "post_deploy"]
    assert all(s["status"] == "ok" for s in entry["steps"]), entry["steps"]
    assert len(entry["relevant_commits"]) == demo.service("scrapers").relevant_commits_behind == 2
    assert deployed(demo, "scrapers") == demo.tip
    assert f"deployed scrapers at {demo.tip}" in err  # the script's output, streamed

    code, document, err = cli_json(demo, "deploy", "prediction-worker")
    assert code == 2, err
    (entry,) = document["deploys"]
    assert (entry["status"], entry["step"]) == ("rolled_back", "post_deploy")
    assert "prediction-worker predictions critical" in entry["reason"]
    assert demo.broken_commit[:12] in entry["reason"]  # the probe names the planted commit
    assert entry["rollback"]["status"] == "succeeded"
    assert deployed(demo, "prediction-worker") == worker_before

    code, document, err = cli_json(demo, "deployments")
    assert code == 0, err
    rows = [(d["service"], d["status"], d["how"], d["from_commit"], d["to_commit"]) for d in document["deployments"]]
    assert rows[:2] == [("prediction-worker", "rolled_back", "deploy", worker_before, demo.tip),
                        ("scrapers", "succeeded", "deploy", scrapers_before, demo.tip)]
    code, table, err = cli(demo, "deployments")
    assert code == 0, err
    assert "rolled_back" in table and "succeeded" in table

    # drift agrees: scrapers is current now, the worker still runs what it ran
    code, document, err = cli_json(demo, "drift", "scrapers", "prediction-worker")
    statuses = {s["name"]: s["status"] for s in document["services"]}
    assert statuses == {"scrapers": "ok", "prediction-worker": "critical"}, err


def test_the_vegas_line_fix_alone_passes_the_probe(demo: DemoWorkspace) -> None:
    code, document, err = cli_json(demo, "deploy", "prediction-worker", "--commit", demo.fix_commit[:12])
    assert code == 0, err
    (entry,) = document["deploys"]
    assert (entry["status"], entry["to_commit"]) == ("succeeded", demo.fix_commit)
    assert deployed(demo, "prediction-worker") == demo.fix_commit


def test_the_worker_probe_fails_exactly_for_commits_containing_the_planted_one(demo: DemoWorkspace) -> None:
    assert probe(demo, "check_worker.sh") == (0, "WORKER OK - 412 predictions in the last batch | predictions=412\n")
    for commit, expected in ((demo.broken_commit, 2), (demo.tip, 2), (demo.fix_commit, 0)):
        subprocess.run([str(demo.directory / "bin" / "deploy-service.sh"), "prediction-worker", commit],
                       capture_output=True, env=clean_env(), timeout=30, check=True)
        code, output = probe(demo, "check_worker.sh")
        assert code == expected, output
    demo.service("prediction-worker").deployed_file.write_text("0" * 40 + "\n", encoding="utf-8")
    assert probe(demo, "check_worker.sh")[0] == 3  # no data is unknown, never ok


def test_the_deploy_script_refuses_unknown_services_and_revisions(demo: DemoWorkspace) -> None:
    script = str(demo.directory / "bin" / "deploy-service.sh")
    for args in (["no-such-service", demo.tip], ["scrapers", "no-such-revision"]):
        proc = subprocess.run([script, *args], capture_output=True, text=True, env=clean_env(), timeout=30,
                              check=False)
        assert proc.returncode == 1 and "deploy-service.sh:" in proc.stderr
    assert deployed(demo, "scrapers") == demo.service("scrapers").deployed_text
    assert sorted(p.name for p in (demo.directory / "deployed").iterdir()) == sorted(
        f"{s.name}.sha" for s in demo.services)  # no temporary file left behind


def test_preflight_of_the_story_services_needs_no_yes(demo: DemoWorkspace) -> None:
    for service in ("scrapers", "prediction-worker"):
        code, document, err = cli_json(demo, "preflight", service)
        assert code == 0, err
        assert len(document["checks"]) == 8 and {i["status"] for i in document["checks"]} == {"ok"}, document["checks"]


def test_the_demo_tells_the_reader_how_to_deploy(demo: DemoWorkspace) -> None:
    readme = (demo.directory / "README.txt").read_text(encoding="utf-8")
    for command, _ in deploy_commands(demo.fix_commit):
        assert command in readme
    config = demo.config_path.read_text(encoding="utf-8")
    assert 'deploy = "../bin/deploy-service.sh {{ service }} {{ commit }}"' in config
