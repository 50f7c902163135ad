"""A monorepo and a ledger for the report's tests: batched merges, a failure rolled back, a rollback and a redeploy,
an abandoned deploy, commits touching only another service or only excluded files; drift and check runs stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deploywatch.store import Store
from deploywatch.store.deployments import DeploymentRecord
from deploywatch.store.records import FindingRecord, RunRecord
from testing.gitrepo import GitRepo, write_config

CONFIG = """\
[repo]
path = "../repo"

[store]
url = "{url}"

[services.api]
paths = ["api/**", "shared/**"]
exclude = ["api/docs/**"]
deployed = {{ ledger = true }}

[services.web]
paths = ["web/**"]
deployed = {{ ledger = true }}

[warehouse]
url = "duckdb:///wh.duckdb"

[[checks]]
name = "coverage"
table = "t"
metric = "row_count"
warn = "< 5"
slo = "75%"

[web]
commit_url = "https://example.com/c/{{sha}}"
compare_url = "https://example.com/compare/{{from}}...{{to}}"
"""
PATHS = {"api": (["api/**", "shared/**"], ["api/docs/**"]), "web": (["web/**"], [])}


def at(seconds: int) -> datetime:
    """A git clock value as an aware datetime."""
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class ReportScene:
    """The repository, its named commits, the config, the store URL and the ledger entries written."""

    repo: GitRepo
    commits: dict[str, str]
    config: Path
    url: str
    entries: list[DeploymentRecord] = field(default_factory=list)
    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    end: datetime = field(default_factory=lambda: datetime.now(UTC))


def build_report_scene(repo: GitRepo, tmp_path: Path, url: str) -> ReportScene:
    """Build the history, write the config and fill the store."""
    c = {"base": repo.commit("base", {"api/app.py": "1\n", "web/app.py": "1\n", "shared/lib.py": "1\n"})}
    c["api1"] = repo.commit("api one", {"api/app.py": "2\n"})
    c["web1"] = repo.commit("web one", {"web/app.py": "2\n"})
    l0 = repo.clock + 600
    repo.clock += 3600
    repo.checkout("f1", new=True)
    c["api2"] = repo.commit("api two (branch)", {"api/app.py": "3\n"}, advance=600)
    repo.checkout("main")
    c["web2"] = repo.commit("web two", {"web/app.py": "3\n"}, advance=1200)
    c["m1"] = repo.merge("f1", advance=1800)
    repo.checkout("f2", new=True)
    c["shared"] = repo.commit("shared lib", {"shared/lib.py": "2\n"}, advance=300)
    c["docs"] = repo.commit("api docs only", {"api/docs/readme.md": "x\n"}, advance=300)
    repo.checkout("main")
    c["m2"] = repo.merge("f2", advance=3600)
    l1 = repo.clock + 7200
    repo.clock += 10000
    c["api3"] = repo.commit("api three", {"api/app.py": "4\n"}, advance=600)
    c["web3"] = repo.commit("web three", {"web/app.py": "4\n"}, advance=600)
    t = repo.clock
    c["api4"] = repo.commit("api four", {"api/app.py": "5\n"}, advance=20000)
    ops = tmp_path / "ops"
    ops.mkdir(exist_ok=True)
    config = write_config(ops, CONFIG.format(url=url))
    scene = ReportScene(repo, c, config, url)

    def entry(service: str, to: str, status: str, finished: int, how: str = "deploy", took: int = 120) -> None:
        scene.entries.append(DeploymentRecord(service=service, to_commit=to, status=status, how=how, by="ci",
                                              started_at=at(finished - took), finished_at=at(finished)))

    entry("api", c["web1"], "succeeded", l0)  # L0: api1 live before the ledger knew
    entry("web", c["web1"], "succeeded", l0 + 60)
    entry("api", c["m2"], "succeeded", l1)  # batched: api2 (merge 1), shared (merge 2); docs only excluded
    entry("web", c["m2"], "failed", l1 + 300)
    entry("web", c["m2"], "succeeded", l1 + 3900)  # recovered an hour later
    entry("api", c["web3"], "rolled_back", t + 1000)  # failed, rolled back to m2
    entry("api", c["m2"], "succeeded", t + 1100, how="rollback")
    entry("api", c["web3"], "succeeded", t + 5000)  # api3 first live here
    entry("api", c["m2"], "succeeded", t + 6000, how="rollback")
    entry("api", c["web3"], "succeeded", t + 9000)  # redeploy: api3 must not count again
    entry("api", c["api4"], "abandoned", t + 30000)
    entry("web", c["api4"], "succeeded", t + 30500)  # web3 live; api4 touches only api
    scene.start, scene.end = at(l0 - 3600), at(t + 40000)
    with Store.open(url) as store:
        scene.entries = [store.record_deployment(e) for e in scene.entries]
        for k, (minutes, status, behind) in enumerate([(0, "ok", 0), (60, "warning", 3), (120, "critical", 7),
                                                       (180, "warning", 2), (240, "ok", 0), (300, "warning", 1)]):
            run_at = scene.start + timedelta(hours=2, minutes=minutes)
            run = RunRecord(uuid.uuid4().hex, "drift", run_at, run_at, None, status, 0)
            store.record_run(run, [FindingRecord(run.id, "drift", "api", status, f"api {status}", f"drift:api{k}",
                                                 {"relevant_commits_behind": behind, "drift_age_seconds": 600 * k})])
        for k, status in enumerate(["ok", "ok", "warning", "ok", "critical", "ok", "ok", "ok"]):
            run_at = scene.start + timedelta(hours=3, minutes=10 * k)
            run = RunRecord(uuid.uuid4().hex, "canary", run_at, run_at, None, status, 0)
            groups = [("coverage[a]", "ok"), ("coverage[b]", status)]
            store.record_run(run, [FindingRecord(run.id, "check", s, st, s, f"check:{s}{k}") for s, st in groups])
    return scene
