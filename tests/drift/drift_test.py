"""Every drift number equals what git says, on a repository with the awkward cases in it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploywatch.cli import main
from testing import oracle
from testing.gitrepo import GitRepo, write_config, write_deployed

NOW = "2026-10-01T00:00:00Z"
NOW_TS = 1_790_812_800
EXCLUDE = ["**/*.md", "docs/**"]
SERVICES = {
    "worker": ["predictions/worker/**", "shared/**"],
    "coordinator": ["predictions/coordinator/**", "shared/**"],
    "analytics": ["analytics/**", "shared/**"],
    "grading": ["grading"],
    "scrapers": ["scrapers/*.py"],
    "docs-site": ["docs/**"],
    "legacy": ["legacy/**"],
}


@dataclass
class Scenario:
    repo: GitRepo
    config: Path
    deployed: dict[str, str]
    tip: str


def build_scenario(root: Path) -> Scenario:
    repo = GitRepo(root / "repo")
    base = repo.commit("initial layout", {
        "README.md": "# platform\n",
        "shared/util.py": "u = 1\n",
        "shared/naïve café.py": "x = 1\n",
        "analytics/a.py": "a = 1\n",
        "analytics/helpers.py": "h = 1\n",
        "predictions/worker/w.py": "w = 1\n",
        "predictions/worker/old model.py": "old = 1\n",
        "predictions/coordinator/c.py": "c = 1\n",
        "grading/g.py": "g = 1\n",
        "scrapers/s.py": "s = 1\n",
        "scrapers/deep/ignored.py": "d = 1\n",
        "docs/runbook.md": "run\n",
    })
    # A feature branch that starts before the commits deployed below and is merged after them.
    repo.checkout("feature/worker-fix", new=True, start=base)
    repo.commit("fix(worker): use vegas line when present", {"predictions/worker/w.py": "w = 2\n"})
    repo.commit("shared: validation for minutes played", {"shared/validate.py": "v = 1\n"})
    repo.checkout("main")
    analytics_old = repo.commit("analytics: faster joins", {"analytics/a.py": "a = 2\n"})
    repo.commit("docs: runbook", {"docs/runbook.md": "run 2\n"})
    coordinator_deployed = repo.commit("coordinator: retry", {"predictions/coordinator/c.py": "c = 2\n"})
    repo.merge("feature/worker-fix", "Merge branch 'feature/worker-fix'", advance=3600)
    repo.rename("analytics/helpers.py", "shared/helpers.py", "move helpers to shared")
    repo.commit("worker: delete old model", {"predictions/worker/old model.py": None})
    repo.commit("analytics: README", {"analytics/README.md": "readme\n"})
    grading_deployed = repo.commit("grading: new metric", {"grading/g.py": "g = 2\n", "scrapers/deep/ignored.py": "2"})
    repo.commit("scrapers: top-level", {"scrapers/s.py": "s = 2\n"})
    repo.commit("shared: tweak café", {"shared/naïve café.py": "x = 2\n"})
    repo.commit("an empty commit", allow_empty=True)
    tip = repo.commit("worker: log", {"predictions/worker/w.py": "w = 3\n"})
    # Production runs code the branch does not have: ahead of the tip, and diverged from an old commit.
    repo.checkout("hotfix", new=True, start=tip)
    ahead = repo.commit("hotfix: analytics", {"analytics/a.py": "hot\n"})
    repo.checkout("release", new=True, start=analytics_old)
    diverged = repo.commit("release: cherry", {"scrapers/s.py": "rel\n"})
    repo.checkout("main")
    unrelated = repo.orphan_commit("unrelated root", {"legacy/l.py": "l\n"})
    repo.tag("v1.0", grading_deployed)
    deployed = {
        "worker": base, "coordinator": coordinator_deployed[:10], "analytics": ahead, "grading": "v1.0",
        "scrapers": diverged, "docs-site": tip, "legacy": unrelated,
    }
    for name, value in deployed.items():
        write_deployed(root, name, value)
    services = "\n".join(
        f'[services.{name}]\npaths = {json.dumps(paths)}\ndeployed = {{ file = "deployed/{name}.sha" }}\n'
        for name, paths in SERVICES.items())
    config = write_config(root, f'[repo]\npath = "repo"\n[defaults]\nexclude = {json.dumps(EXCLUDE)}\n'
                                f'warn_commits = 2\ncritical_commits = 4\n{services}')
    full = {name: repo.head(value) for name, value in deployed.items()}
    return Scenario(repo, config, full, tip)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("drift"))


def drift_json(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["drift", "--config", str(config), "--format", "json", "--now", NOW, "--max-commits", "100", *args])
    return code, json.loads(capsys.readouterr().out)


def test_every_number_equals_git(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = drift_json(scenario.config, capsys)
    assert report["schema"] == "deploywatch.drift/v1"
    assert report["repo"] == {"branch": "main", "tip": scenario.tip}
    repo, tip = scenario.repo, scenario.tip
    for service in report["services"]:
        name = service["name"]
        deployed = scenario.deployed[name]
        assert service["deployed_commit"] == deployed, name
        assert service["commits_behind"] == oracle.commits_behind(repo, deployed, tip), name
        assert service["commits_ahead"] == oracle.commits_ahead(repo, deployed, tip), name
        expected = oracle.relevant_commits(repo, deployed, tip, SERVICES[name], EXCLUDE)
        assert service["relevant_commits_behind"] == len(expected), name
        assert {c["sha"] for c in service["commits"]} == set(expected), name
        if expected:
            oldest = min(oracle.on_branch_at(repo, c, tip) for c in expected)
            assert service["drift_age_seconds"] == max(0, NOW_TS - oldest), name
            assert service["oldest_relevant_at"] == _iso(oldest), name
        else:
            assert service["oldest_relevant_at"] is None, name


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_states_and_statuses(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = drift_json(scenario.config, capsys)
    by_name = {s["name"]: s for s in report["services"]}
    assert by_name["docs-site"]["state"] == "current"
    assert by_name["docs-site"]["status"] == "ok"
    assert by_name["worker"]["state"] == "behind"
    assert by_name["analytics"]["state"] == "ahead"
    assert by_name["analytics"]["status"] in ("warning", "critical")
    assert by_name["scrapers"]["state"] == "diverged"
    assert by_name["legacy"]["state"] == "diverged"  # unrelated history: neither contains the other
    assert by_name["grading"]["state"] == "behind"
    assert report["status"] == "critical"
    assert code == 2


def test_merged_branch_commits_are_dated_by_the_merge(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = drift_json(scenario.config, capsys)
    worker = next(s for s in report["services"] if s["name"] == "worker")
    fix = next(c for c in worker["commits"] if c["subject"].startswith("fix(worker)"))
    merge_time = int(scenario.repo.git("log", "-1", "--format=%ct", "--merges", "main"))
    assert fix["on_branch_at"] == _iso(merge_time)
    authored = int(scenario.repo.git("log", "-1", "--format=%ct", fix["sha"]))
    assert authored < merge_time


def test_rename_across_services_counts_for_both(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = drift_json(scenario.config, capsys)
    subjects = {s["name"]: [c["subject"] for c in s["commits"]] for s in report["services"]}
    assert "move helpers to shared" in subjects["worker"]  # added shared/helpers.py
    rename = next(c for s in report["services"] if s["name"] == "worker" for c in s["commits"]
                  if c["subject"] == "move helpers to shared")
    assert rename["files"] == ["shared/helpers.py"]


def test_missing_and_garbage_deployed_commits_are_unknown(scenario: Scenario, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    write_deployed(scenario.config.parent, "worker", "0123456789abcdef0123456789abcdef01234567")
    write_deployed(scenario.config.parent, "grading", "no-such-tag")
    try:
        code, report = drift_json(scenario.config, capsys, "worker", "grading")
    finally:
        write_deployed(scenario.config.parent, "worker", scenario.deployed["worker"])
        write_deployed(scenario.config.parent, "grading", "v1.0")
    by_name = {s["name"]: s for s in report["services"]}
    assert by_name["worker"]["state"] == "missing"
    assert by_name["worker"]["status"] == "unknown"
    assert by_name["worker"]["commits_behind"] is None
    assert "git fetch" in by_name["worker"]["reason"]
    assert "no-such-tag" in by_name["grading"]["reason"]
    assert code == 3


def test_selecting_services_and_unknown_names(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = drift_json(scenario.config, capsys, "worker")
    assert [s["name"] for s in report["services"]] == ["worker"]
    assert main(["drift", "--config", str(scenario.config), "nope"]) == 3
    assert "unknown service 'nope'" in capsys.readouterr().err


def test_max_commits_limits_the_list_not_the_count(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["drift", "worker", "--config", str(scenario.config), "--format", "json", "--max-commits", "1"])
    worker = json.loads(capsys.readouterr().out)["services"][0]
    assert len(worker["commits"]) == 1
    assert worker["relevant_commits_behind"] > 1
    assert code == 2


def test_table_and_markdown_show_the_composition(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    main(["drift", "--config", str(scenario.config), "--now", NOW])
    table = capsys.readouterr().out
    worker_behind = oracle.commits_behind(scenario.repo, scenario.deployed["worker"], scenario.tip)
    relevant = oracle.relevant_commits_behind(scenario.repo, scenario.deployed["worker"], scenario.tip,
                                              SERVICES["worker"], EXCLUDE)
    assert f"worker: {worker_behind} behind: {relevant} relevant, {worker_behind - relevant} elsewhere" in table
    assert "fix(worker): use vegas line when present" in table or "…and" in table
    main(["drift", "--config", str(scenario.config), "--now", NOW, "--format", "markdown"])
    markdown = capsys.readouterr().out
    assert markdown.startswith("### Drift against `main`")
    assert "| worker |" in markdown
