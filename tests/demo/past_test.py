"""The demo's stored past: drift runs equal the real drift engine, and the ledger chains and agrees with git."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from deploywatch.checks.validate import load_config
from deploywatch.demo import DemoWorkspace, build_demo
from deploywatch.deploy.ledger import shipped_commits
from deploywatch.drift.engine import measure_drift
from deploywatch.drift.git import Repo, clean_env
from deploywatch.drift.sources.base import Reading
from deploywatch.drift.workspace import Workspace
from deploywatch.store import Store
from deploywatch.store.deployments import DeploymentRecord

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoWorkspace:
    return build_demo(tmp_path_factory.mktemp("past") / "demo", now=NOW)


def store(demo: DemoWorkspace) -> Store:
    return Store.open(f"sqlite:///{demo.directory / '.deploywatch' / 'state.db'}")


def ledger(demo: DemoWorkspace) -> list[DeploymentRecord]:
    with store(demo) as s:
        return sorted(s.deployments(limit=1000), key=lambda r: r.id)


def deployed_at(entries: list[DeploymentRecord], service: str, when: dt.datetime) -> str:
    done = [e for e in entries if e.service == service and e.status == "succeeded"
            and e.finished_at is not None and e.finished_at <= when]
    return done[-1].to_commit


def test_stored_drift_runs_equal_the_real_engine_at_sampled_times(demo: DemoWorkspace) -> None:
    entries = ledger(demo)
    with store(demo) as s:
        runs = sorted(s.runs(command="drift", limit=1000), key=lambda r: r.started_at)
        assert len(runs) > 240
        sampled = [runs[i] for i in (0, 1, 37, 90, len(runs) // 2, 200, len(runs) - 12, len(runs) - 2, len(runs) - 1)]
        stored = {r.id: {f.subject: f for f in s.findings(r.id)} for r in sampled}
    loaded = load_config(demo.config_path)
    repo = Repo(demo.repo_path, timeout=60)
    workspace = Workspace(loaded, repo)
    names = list(loaded.config.services)
    specs = workspace.specs(names)
    statuses = set()
    for run in sampled:
        tip = repo.output("rev-list", "-1", f"--before={int(run.started_at.timestamp())}", "--first-parent", "main")
        assert run.details["tip"] == tip
        readings = {n: Reading(f"file deployed/{n}.sha", deployed_at(entries, n, run.started_at)) for n in names}
        report = measure_drift(repo, "main", tip, specs, readings, now=run.started_at)
        assert run.status == str(report.status)
        for service in report.services:
            expected, got = service.finding(tip), stored[run.id][service.name]
            assert (got.status, got.summary) == (str(expected.status), expected.summary), run.started_at
            assert got.details == json.loads(json.dumps(expected.details)), (run.started_at, service.name)
            statuses.add(got.status)
    assert {"ok", "warning", "critical"} <= statuses


def test_ledger_chains_and_ends_at_the_deployed_files(demo: DemoWorkspace) -> None:
    entries = ledger(demo)
    repo = Repo(demo.repo_path, timeout=60)
    loaded = load_config(demo.config_path)
    for service in demo.services:
        mine = [e for e in entries if e.service == service.name]
        assert len(mine) >= 5
        last_to = None
        for entry in mine:
            assert entry.how == "deploy" and entry.by
            assert entry.from_commit == last_to, (service.name, entry.id)
            if entry.from_commit is not None and repo.resolve(entry.to_commit):
                assert list(entry.relevant_commits) == shipped_commits(
                    repo, loaded.service_paths(service.name), entry.from_commit, entry.to_commit)
            if entry.status == "succeeded":
                last_to = entry.to_commit
        text = service.deployed_file.read_text(encoding="utf-8").strip()
        assert last_to == (service.deployed_commit or text)
    rolled = [e for e in entries if e.status == "rolled_back"]
    assert [(e.service, e.step) for e in rolled] == [("prediction-worker", "post_deploy")]
    assert demo.broken_commit[:12] in (rolled[0].reason or "")
    assert repo.output("merge-base", "--is-ancestor", demo.broken_commit, rolled[0].to_commit) == ""
    assert any(e.status == "failed" and e.step == "deploy" and e.reason for e in entries)
    batched = [e for e in entries if e.from_commit and e.status == "succeeded" and repo.resolve(e.to_commit) and int(
        repo.output("rev-list", "--count", "--merges", f"{e.from_commit}..{e.to_commit}")) >= 3]
    assert batched, "no deploy ships several merges"


def test_deployments_command_lists_them(demo: DemoWorkspace) -> None:
    proc = subprocess.run([sys.executable, "-m", "deploywatch", "deployments", "--since", "30d", "--format", "json",
                           "--limit", "1000", "--now", NOW.isoformat(), "--config", str(demo.config_path)],
                          capture_output=True, text=True, timeout=60, env=clean_env(), check=False)
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)["deployments"]
    assert len(listed) == len(ledger(demo))
    assert {d["status"] for d in listed} == {"succeeded", "failed", "rolled_back"}


def test_same_now_same_history(tmp_path: Path, demo: DemoWorkspace) -> None:
    again = build_demo(tmp_path / "again", now=NOW)
    first = [(e.service, e.to_commit, e.status, e.started_at) for e in ledger(demo)]
    assert [(e.service, e.to_commit, e.status, e.started_at) for e in ledger(again)] == first
