"""The demo workspace builder, checked against real git: every fact the demo promises, git confirms."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import statistics
import subprocess
from pathlib import Path

import pytest

from deploywatch import load_config, run_canary, run_gate
from deploywatch.core.errors import UsageError
from deploywatch.demo import MARKER, DemoService, DemoWorkspace, build_demo
from deploywatch.demo.builder import HISTORY_DAYS
from deploywatch.demo.past import run_times
from deploywatch.demo.warehouse import DEMO_CHECK_STATUSES, DEMO_GATE_DECISIONS
from deploywatch.demo.warehouse_sql import LATE_ODDS_AGE
from deploywatch.drift.git import clean_env
from deploywatch.store import Store

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
HOUR = 3600


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), "-c", "core.quotepath=false", *args], capture_output=True,
                          text=True, env=clean_env(), timeout=30, check=check)


def out(repo: Path, *args: str) -> str:
    return git(repo, *args).stdout.strip()


def pathspec(demo: DemoWorkspace, service: DemoService) -> list[str]:
    return [*(f":(glob){p}" for p in service.paths), *(f":(glob,exclude){e}" for e in demo.exclude)]


def relevant_behind(demo: DemoWorkspace, service: DemoService) -> list[str]:
    rev = f"{service.deployed_text}..{demo.branch}"
    args = ["rev-list", "--no-merges", "--full-history", rev, "--", *pathspec(demo, service)]
    return out(demo.repo_path, *args).split()


def oldest_on_branch(demo: DemoWorkspace, service: DemoService) -> int | None:
    """Committer time of the first first-parent commit that brought a relevant commit onto the branch."""
    relevant = set(relevant_behind(demo, service))
    repo = demo.repo_path
    rows = out(repo, "log", "--first-parent", "--reverse", "--format=%H %ct %P",
               f"{service.deployed_text}..{demo.branch}").splitlines()
    for row in rows:
        sha, committed, *parents = row.split()
        brought = {sha}
        if len(parents) > 1:
            brought |= set(out(repo, "rev-list", sha, "--not", parents[0]).split())
        if brought & relevant:
            return int(committed)
    return None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoWorkspace:
    return build_demo(tmp_path_factory.mktemp("demo") / "nested" / "workspace", now=NOW)


# ---------------------------------------------------------------- the repository


def test_repository_has_a_few_hundred_commits_with_merges_on_main(demo: DemoWorkspace) -> None:
    repo = demo.repo_path
    assert 250 <= int(out(repo, "rev-list", "--count", "main")) <= 500
    assert int(out(repo, "rev-list", "--merges", "--count", "main")) > 10
    assert out(repo, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert out(repo, "rev-parse", "main") == demo.tip
    assert out(repo, "status", "--porcelain") == ""  # the work tree is checked out
    assert out(repo, "fsck", "--strict", "--no-progress") == ""


def test_history_spans_weeks_and_ends_at_now(demo: DemoWorkspace) -> None:
    times = [int(t) for t in out(demo.repo_path, "log", "--format=%ct", "main").split()]
    now = int(NOW.timestamp())
    assert max(times) <= now
    assert now - max(times) < HOUR
    assert 14 * 24 * HOUR < now - min(times) < 35 * 24 * HOUR


def test_history_has_renames_deletions_docs_and_awkward_names(demo: DemoWorkspace) -> None:
    repo = demo.repo_path
    status = out(repo, "log", "-M", "--format=", "--name-status", "main")
    renames = re.findall(r"^R\d+\t([^\t]+)\t([^\n]+)$", status, re.MULTILINE)
    assert any(old.startswith("analytics/") and new.startswith("shared/") for old, new in renames)
    assert re.search(r"^D\t", status, re.MULTILINE)
    files = out(repo, "ls-files", "-z").split("\0")
    assert any(" " in f for f in files)
    assert any(not f.isascii() for f in files)
    docs_only = out(repo, "log", "--no-merges", "--format=%H", "main", "--", "docs/", ":(glob)**/*.md")
    assert len(docs_only.split()) > 5


def test_subjects_read_like_a_real_team_wrote_them(demo: DemoWorkspace) -> None:
    subjects = out(demo.repo_path, "log", "--format=%s", "main").splitlines()
    assert "fix(worker): use vegas line when present" in subjects
    assert any(s.startswith("docs: ") for s in subjects)
    assert any(s.startswith("Merge pull request #") for s in subjects)
    assert len(set(subjects)) > len(subjects) // 2


# ---------------------------------------------------------------- deployed commits


@pytest.mark.parametrize("name", ["scrapers", "analytics-processors", "precompute", "prediction-worker",
                                  "prediction-coordinator", "grading"])
def test_promised_drift_matches_git(demo: DemoWorkspace, name: str) -> None:
    service = demo.service(name)
    repo = demo.repo_path
    assert service.deployed_file.read_text(encoding="utf-8") == service.deployed_text + "\n"
    assert out(repo, "rev-parse", "--verify", f"{service.deployed_text}^{{commit}}") == service.deployed_commit
    assert int(out(repo, "rev-list", "--count", f"{service.deployed_text}..main")) == service.commits_behind
    assert int(out(repo, "rev-list", "--count", f"main..{service.deployed_text}")) == 0
    assert len(relevant_behind(demo, service)) == service.relevant_commits_behind
    oldest = oldest_on_branch(demo, service)
    expected = service.oldest_relevant_at
    assert oldest == (int(expected.timestamp()) if expected else None)


def test_intended_status_follows_from_the_drift_and_default_thresholds(demo: DemoWorkspace) -> None:
    now = int(NOW.timestamp())
    for service in demo.services:
        if service.deployed_commit is None:
            assert service.intended_status == "unknown"
            continue
        assert service.relevant_commits_behind is not None
        if service.relevant_commits_behind == 0:
            assert service.intended_status == "ok", service.name
            continue
        assert service.oldest_relevant_at is not None
        age = now - int(service.oldest_relevant_at.timestamp())
        by_count = ("critical" if service.relevant_commits_behind >= 10 else
                    "warning" if service.relevant_commits_behind >= 3 else "ok")
        by_age = "critical" if age > 24 * HOUR else "warning" if age > 2 * HOUR else "ok"
        order = ["ok", "warning", "critical"]
        assert service.intended_status == max(by_count, by_age, key=order.index), service.name
    assert {s.intended_status for s in demo.services} == {"ok", "warning", "critical", "unknown"}


def test_one_service_is_current(demo: DemoWorkspace) -> None:
    coordinator = demo.service("prediction-coordinator")
    assert coordinator.deployed_text == out(demo.repo_path, "rev-parse", "main")
    assert coordinator.commits_behind == 0


def test_one_service_is_behind_only_by_docs_and_other_services(demo: DemoWorkspace) -> None:
    analytics = demo.service("analytics-processors")
    assert re.fullmatch(r"[0-9a-f]{12}", analytics.deployed_text)  # an abbreviated SHA
    assert int(out(demo.repo_path, "rev-list", "--count", f"{analytics.deployed_text}..main")) > 0
    assert relevant_behind(demo, analytics) == []


def test_worker_is_critically_behind_by_the_fix(demo: DemoWorkspace) -> None:
    worker = demo.service("prediction-worker")
    repo = demo.repo_path
    assert len(relevant_behind(demo, worker)) >= 10
    oldest = oldest_on_branch(demo, worker)
    assert oldest is not None
    assert int(NOW.timestamp()) - oldest == 26 * HOUR
    assert out(repo, "log", "-1", "--format=%s", demo.fix_commit) == "fix(worker): use vegas line when present"
    assert demo.fix_commit in relevant_behind(demo, worker)
    assert git(repo, "merge-base", "--is-ancestor", demo.fix_commit, worker.deployed_text, check=False).returncode == 1


def test_a_merged_branch_started_before_the_worker_deploy(demo: DemoWorkspace) -> None:
    worker = demo.service("prediction-worker")
    repo = demo.repo_path
    deployed_at = int(out(repo, "log", "-1", "--format=%ct", worker.deployed_text))
    merges = out(repo, "rev-list", "--merges", f"{worker.deployed_text}..main").split()
    older = [sha for merge in merges
             for sha, t in (row.split() for row in out(repo, "log", "--format=%H %ct", f"{merge}^2",
                                                       "--not", worker.deployed_text).splitlines())
             if int(t) < deployed_at]
    assert older  # behind the deploy, yet committed before it: its age must come from the merge


def test_unknown_service_names_a_commit_that_is_not_in_the_repository(demo: DemoWorkspace) -> None:
    raw = demo.service("raw-processors")
    assert raw.deployed_commit is None
    assert re.fullmatch(r"[0-9a-f]{40}", raw.deployed_text)
    assert git(demo.repo_path, "cat-file", "-e", f"{raw.deployed_text}^{{commit}}", check=False).returncode != 0


def test_grading_runs_an_annotated_release_tag(demo: DemoWorkspace) -> None:
    grading = demo.service("grading")
    assert grading.deployed_text == demo.tag
    assert re.fullmatch(r"v\d{4}\.\d{2}\.\d{2}", demo.tag)
    assert out(demo.repo_path, "cat-file", "-t", f"refs/tags/{demo.tag}") == "tag"


def test_the_predictions_group_runs_different_shared_code(demo: DemoWorkspace) -> None:
    worker, coordinator = demo.service("prediction-worker"), demo.service("prediction-coordinator")
    assert worker.group == coordinator.group == "predictions"
    changed = out(demo.repo_path, "diff", "--name-only", worker.deployed_text, coordinator.deployed_text,
                  "--", "shared/").splitlines()
    assert "shared/players/ids.py" in changed
    repo = demo.repo_path
    assert git(repo, "merge-base", "--is-ancestor", demo.shared_skew_commit, coordinator.deployed_text).returncode == 0
    assert git(repo, "merge-base", "--is-ancestor", demo.shared_skew_commit, worker.deployed_text,
               check=False).returncode == 1


def test_an_open_feature_branch_is_left_for_affected(demo: DemoWorkspace) -> None:
    repo = demo.repo_path
    head = out(repo, "rev-parse", "--verify", f"refs/heads/{demo.feature_branch}")
    assert git(repo, "merge-base", "--is-ancestor", head, "main", check=False).returncode == 1
    files = out(repo, "diff", "--name-only", f"main...{demo.feature_branch}").splitlines()
    assert any(f.startswith("predictions/coordinator/") for f in files)


# ---------------------------------------------------------------- the workspace


def test_config_loads_and_names_the_demo_files(demo: DemoWorkspace) -> None:
    loaded = load_config(demo.config_path)
    assert loaded.repo_path == demo.repo_path.resolve()
    assert loaded.config.repo.branch == "main"
    assert list(loaded.config.services) == [s.name for s in demo.services]
    for service in demo.services:
        config = loaded.config.services[service.name]
        assert config.deployed.file is not None
        assert loaded.resolve(config.deployed.file) == service.deployed_file.resolve()
        assert tuple(config.paths) == service.paths
        assert config.group == service.group
    assert loaded.exclude("grading") == list(demo.exclude) == ["**/*.md", "docs/**"]


def test_readme_explains_the_commands(demo: DemoWorkspace) -> None:
    readme = (demo.directory / "README.txt").read_text(encoding="utf-8")
    for command in ("deploywatch drift", "deploywatch contains", "deploywatch affected", "deploywatch skew",
                    "deploywatch config check", "--config"):
        assert command in readme


def test_deploy_script_records_the_tip(tmp_path: Path) -> None:
    built = build_demo(tmp_path / "demo", now=NOW)
    result = subprocess.run([str(built.directory / "bin" / "deploy-service.sh"), "prediction-worker"],
                            capture_output=True, text=True, env=clean_env(), timeout=30, check=True)
    assert built.tip in result.stdout
    assert built.service("prediction-worker").deployed_file.read_text(encoding="utf-8") == built.tip + "\n"


def test_building_is_deterministic(demo: DemoWorkspace, tmp_path: Path) -> None:
    again = build_demo(tmp_path / "again", now=NOW)
    assert again.tip == demo.tip
    assert [s.deployed_text for s in again.services] == [s.deployed_text for s in demo.services]
    later = build_demo(tmp_path / "later", now=NOW + dt.timedelta(hours=1))
    assert later.tip != demo.tip  # same history, times moved with "now"
    assert [s.relevant_commits_behind for s in later.services] == [s.relevant_commits_behind for s in demo.services]


def test_rebuilding_over_a_previous_demo_starts_from_scratch(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    first = build_demo(target, now=NOW)
    first.service("prediction-worker").deployed_file.write_text(first.tip + "\n", encoding="utf-8")
    (target / "repo" / "scratch.txt").write_text("local change\n", encoding="utf-8")
    (target / ".deploywatch" / "leftover.txt").write_bytes(b"old runs")
    (target / "notes.txt").write_text("mine\n", encoding="utf-8")
    second = build_demo(target, now=NOW)
    assert second.tip == first.tip
    assert second.service("prediction-worker").deployed_file.read_text(encoding="utf-8") != first.tip + "\n"
    assert not (target / "repo" / "scratch.txt").exists()
    assert not (target / ".deploywatch" / "leftover.txt").exists()
    with Store.open(f"sqlite:///{target / '.deploywatch' / 'state.db'}") as store:  # only the replayed history
        assert len(store.runs(command="canary", limit=100)) == HISTORY_DAYS
        assert len(store.runs(command="drift", limit=1000)) == len(run_times(NOW, "America/New_York"))
    assert (target / "notes.txt").read_text(encoding="utf-8") == "mine\n"  # not the demo's to remove
    assert (target / MARKER).is_file()


def test_a_foreign_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "important.txt").write_text("keep me\n", encoding="utf-8")
    with pytest.raises(UsageError, match="is not empty and is not a deploywatch demo; choose another directory"
                       ) as caught:
        build_demo(tmp_path)
    assert "\n" not in str(caught.value)
    assert str(tmp_path) in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["important.txt"]


def test_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    target.write_text("not a directory\n", encoding="utf-8")
    with pytest.raises(UsageError, match="is not a directory"):
        build_demo(target)


def test_an_empty_directory_is_used_and_now_defaults_to_the_current_time(tmp_path: Path) -> None:
    before = dt.datetime.now(dt.UTC)
    built = build_demo(tmp_path)
    assert built.directory == tmp_path
    assert built.config_path == tmp_path / "deploywatch.toml"
    assert (tmp_path / MARKER).is_file()
    assert abs((built.now - before).total_seconds()) < 60
    tip_time = int(out(built.repo_path, "log", "-1", "--format=%ct", "main"))
    assert 0 <= built.now.timestamp() - tip_time < HOUR


def test_demo_canaries_show_each_planted_problem(demo: DemoWorkspace, tmp_path: Path) -> None:
    """The canaries report the status the demo promises for every check, against the replayed history, and
    the gates decide as promised; the run is compared with a copy so the shared demo stays unchanged."""
    copy = tmp_path / "copy"
    shutil.copytree(demo.directory, copy, symlinks=True)
    config = str(copy / "deploywatch.toml")
    report = run_canary(config=config, now=NOW)
    order = ["ok", "warning", "unknown", "critical"]
    worst_by_check: dict[str, str] = {}
    for result in report.results:
        current = worst_by_check.get(result.name, "ok")
        worst_by_check[result.name] = max(current, str(result.status), key=order.index)
    assert worst_by_check == dict(DEMO_CHECK_STATUSES)
    drop = next(r for r in report.results if r.name == "phase4.vegas_line_coverage.yesterday")
    assert drop.anomaly is not None and drop.anomaly.anomalous and drop.anomaly.z is not None and drop.anomaly.z < -3
    assert drop.value == pytest.approx(demo.warehouse.vegas_coverage_yesterday)
    late_odds = demo.warehouse.yesterday - dt.timedelta(days=LATE_ODDS_AGE)  # flagged then, so left out of history
    assert drop.anomaly.mean == pytest.approx(statistics.fmean(
        v for d, v in demo.warehouse.vegas_coverage_by_date.items() if d < demo.warehouse.yesterday and d != late_odds))
    for gate, verdict in DEMO_GATE_DECISIONS.items():
        assert run_gate(gate, config=config, now=NOW).status == verdict, gate


@pytest.mark.parametrize(("option", "url"), [("--webhook", "ftp://example.com/hook"), ("--slack-webhook", "hooks")])
def test_a_demo_sink_that_is_not_an_http_url_is_refused_before_anything_is_built(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, url: str) -> None:
    from deploywatch.cli import main

    assert main(["demo", str(tmp_path / "demo"), option, url]) == 3
    assert capsys.readouterr().err == f"deploywatch: error: {option}: expected an http:// or https:// URL with a host\n"
    assert not (tmp_path / "demo").exists()
