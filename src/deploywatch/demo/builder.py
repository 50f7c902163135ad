"""Build the demo workspace: a config, a git monorepo with a realistic history, and deployed-commit files.

The repository is written by one ``git fast-import`` run from a planned history
(:mod:`deploywatch.demo.scenario`), so building takes well under a second and the same ``now``
always gives the same commits. The returned :class:`DemoWorkspace` carries the facts the demo
promises (each service's deployed commit and the drift it should show), computed from the plan;
tests check them against git itself.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from random import Random

from ..core.errors import UsageError
from ..core.paths import ServicePaths, compile_glob
from ..drift.git import Repo
from .fastimport import parse_marks, render
from .history import History
from .past import record_past
from .pipeline import PHASES_TOML, record_completions
from .platform import PROBES_TOML, write_platform
from .scenario import BROKEN_SUBJECT, SEED, SERVICES, Plan, ServiceSpec, plan
from .texts import EXCLUDE, config_text, readme_text
from .warehouse import WarehouseFacts, build_warehouse, demo_checks_toml

WAREHOUSE_FILE = "warehouse.duckdb"

__all__ = ["MARKER", "DemoService", "DemoWorkspace", "build_demo"]

MARKER = ".deploywatch-demo"
BRANCH = "main"
GIT_TIMEOUT = 60.0
# What a demo may have in its directory; a rebuild removes exactly these (".deploywatch" is the
# state store that running commands in the demo creates: its history belongs to the old repository).
_ENTRIES = ("deploywatch.toml", "README.txt", "repo", "deployed", "bin", ".deploywatch", WAREHOUSE_FILE,
            f"{WAREHOUSE_FILE}.wal", MARKER)
HISTORY_DAYS = 21  # earlier run dates whose canaries are replayed (three weeks), so anomaly detection has history


@dataclass(frozen=True)
class DemoService:
    """One service of the demo and the drift it is built to show (counts as git would compute them)."""

    name: str
    group: str | None
    paths: tuple[str, ...]
    intended_status: str
    story: str
    deployed_file: Path
    deployed_text: str  # what the file holds: a full or abbreviated SHA, a tag name, or a vanished SHA
    deployed_commit: str | None  # the full SHA it names; None when the commit is not in the repository
    commits_behind: int | None
    relevant_commits_behind: int | None
    oldest_relevant_at: dt.datetime | None  # when the oldest relevant commit behind reached main


@dataclass(frozen=True)
class DemoWorkspace:
    """Where the demo was built and the facts it promises."""

    directory: Path
    config_path: Path
    repo_path: Path
    branch: str
    now: dt.datetime
    tip: str
    services: tuple[DemoService, ...]
    fix_commit: str  # "fix(worker): use vegas line when present"
    shared_skew_commit: str  # a shared/ change the coordinator runs and the worker does not
    broken_commit: str  # the planted worker commit that fails its post-deploy probe (the tip contains it)
    tag: str  # the release tag grading's deployed file names
    feature_branch: str  # an open, unmerged branch for ``deploywatch affected``
    exclude: tuple[str, ...]
    warehouse: WarehouseFacts  # the DuckDB warehouse and its planted problems

    def service(self, name: str) -> DemoService:
        """The demo service called ``name``."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)


def build_demo(directory: Path, *, now: dt.datetime | None = None, webhook: str | None = None,
               slack_webhook: str | None = None) -> DemoWorkspace:
    """Build the demo workspace in ``directory`` (created if missing; a previous demo is rebuilt).

    Raises :class:`~deploywatch.core.errors.UsageError` when ``directory`` holds anything but a demo.
    Commit times are relative to ``now`` (default: the current time, UTC). ``webhook`` and ``slack_webhook``
    add alert sinks (a generic JSON webhook, a Slack incoming webhook) that the demo's runs notify.
    """
    directory = Path(directory).expanduser().absolute()
    moment = _as_utc(now)
    try:
        _prepare(directory)
        the_plan = plan(int(moment.timestamp()))
        repo_path = directory / "repo"
        marks = _write_repository(repo_path, the_plan.history)
        repo = Repo(repo_path, timeout=GIT_TIMEOUT)
        services = _write_deployed(directory, repo, the_plan, marks)
        config_path = directory / "deploywatch.toml"
        config_path.write_text(config_text(moment) + "\n" + demo_checks_toml(WAREHOUSE_FILE) + PHASES_TOML
                               + PROBES_TOML, encoding="utf-8")
        write_platform(directory, broken=marks[the_plan.broken], broken_subject=BROKEN_SUBJECT)
        warehouse = build_warehouse(directory / WAREHOUSE_FILE, now=moment, days=HISTORY_DAYS + 1)
        _replay_history(config_path, moment)
        record_past(config_path, the_plan, marks, moment, _vanished_sha(set(marks.values())))
        with config_path.open("a", encoding="utf-8") as handle:
            handle.write(alerts_toml(webhook, slack_webhook))
        record_completions(config_path, moment)
        fix = marks[the_plan.fix]
        (directory / "README.txt").write_text(readme_text(str(directory), moment, fix, the_plan.tag_name),
                                              encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot build the demo in {directory}: {exc.strerror or exc}") from None
    return DemoWorkspace(directory, config_path, repo_path, BRANCH, moment, marks[the_plan.tip], services, fix,
                         marks[the_plan.shared_skew], marks[the_plan.broken], the_plan.tag_name,
                         the_plan.feature_branch, EXCLUDE, warehouse)


def alerts_toml(webhook: str | None, slack_webhook: str | None) -> str:
    """The demo config's notification section: the sinks asked for, or a commented example."""
    sinks = []
    if slack_webhook:
        sinks.append(f'[[alerts.slack]]\nname = "demo-slack"\nwebhook = {json.dumps(slack_webhook)}\n'
                     'repeat_interval = "2h"\n')
    if webhook:
        sinks.append(f'[[alerts.webhook]]\nname = "demo-webhook"\nurl = {json.dumps(webhook)}\n')
    if sinks:
        text = "\n# Notifications: every drift and canary run routes its findings here.\n" + "\n".join(sinks)
        return text
    return ("\n# Notifications (see docs/alerts.md), e.g. `deploywatch demo --webhook http://127.0.0.1:9000/hook`:\n"
            "# [[alerts.slack]]\n# webhook = \"${SLACK_WEBHOOK_URL}\"\n# match = { kind = [\"drift\"] }\n")


def _replay_history(config_path: Path, moment: dt.datetime) -> None:
    """Run the canaries for each earlier run date, oldest first, as a scheduler would have: the store then
    holds the history that anomaly detection compares today's values with. Each run is stored at its replayed
    time, so the dashboard and the report place it on its own date."""
    from ..checks.runner import RunTarget, open_warehouse, run_checks
    from ..checks.validate import load_config

    loaded = load_config(config_path)
    with open_warehouse(RunTarget.of(loaded)) as warehouse:  # one connection for every replayed run
        for days_ago in range(HISTORY_DAYS, 0, -1):
            then = moment - dt.timedelta(days=days_ago)
            run_checks(loaded, loaded.config.checks, now=then, run_date=then.date(), started_at=then,
                       warehouse=warehouse)


def _as_utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    if now.tzinfo is None:
        return now.replace(tzinfo=dt.UTC)
    return now.astimezone(dt.UTC)


# ---------------------------------------------------------------- the directory


def _prepare(directory: Path) -> None:
    """Make ``directory`` an empty demo directory, refusing one that holds anything else."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} is not a directory; choose another directory")
    if directory.is_dir():
        marker = directory / MARKER
        if marker.is_file():
            _remove_previous(directory)
        elif any(directory.iterdir()):
            raise UsageError(f"{directory} is not empty and is not a deploywatch demo; choose another directory")
    directory.mkdir(parents=True, exist_ok=True)
    # Written first, so a build that fails half-way can still be rebuilt over.
    (directory / MARKER).write_text(
        "Written by `deploywatch demo`. Building the demo here again replaces: "
        + ", ".join(e for e in _ENTRIES if e != MARKER) + "\n", encoding="utf-8")


def _remove_previous(directory: Path) -> None:
    for name in _ENTRIES:  # the marker is last: an interrupted removal is still recognised as a demo
        path = directory / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)


# ---------------------------------------------------------------- the repository


def _write_repository(repo_path: Path, history: History) -> dict[int, str]:
    """Create the repository with one ``git fast-import``; return fast-import mark → commit SHA."""
    repo_path.mkdir()
    repo = Repo(repo_path, timeout=GIT_TIMEOUT)
    repo.run("init", "--quiet", f"--initial-branch={BRANCH}")
    marks_file = repo_path / ".git" / "deploywatch-demo.marks"
    repo.run("fast-import", "--quiet", "--done", f"--export-marks={marks_file}", input=render(history))
    marks = parse_marks(marks_file.read_text(encoding="ascii"))
    marks_file.unlink()
    repo.run("reset", "--hard", "--quiet")  # fast-import leaves the work tree and index empty
    return marks


def _vanished_sha(known: set[str]) -> str:
    """A well-formed SHA of a commit that is not in the repository (as after a force-push)."""
    rng = Random(f"{SEED}-force-pushed")
    while True:
        sha = f"{rng.getrandbits(160):040x}"
        if sha not in known:
            return sha


def _write_deployed(directory: Path, repo: Repo, the_plan: Plan, marks: dict[int, str]) -> tuple[DemoService, ...]:
    folder = directory / "deployed"
    folder.mkdir()
    history = the_plan.history
    on_branch_at = history.on_branch_at(the_plan.tip)
    reachable_from_tip = history.ancestors(the_plan.tip)
    services: list[DemoService] = []
    for spec in SERVICES:
        mark = the_plan.deployed[spec.name]
        sha = marks[mark] if mark is not None else None
        text = _deployed_text(spec, sha, repo, the_plan.tag_name, set(marks.values()))
        path = folder / f"{spec.name}.sha"
        path.write_text(text + "\n", encoding="utf-8")
        behind = relevant = None
        oldest: dt.datetime | None = None
        if mark is not None:
            behind_marks = reachable_from_tip - history.ancestors(mark)
            service_paths = ServicePaths(spec.name, tuple(compile_glob(p) for p in spec.paths),
                                         tuple(compile_glob(e) for e in EXCLUDE))
            relevant_marks = history.relevant(behind_marks, service_paths)
            behind, relevant = len(behind_marks), len(relevant_marks)
            if relevant_marks:
                oldest = dt.datetime.fromtimestamp(min(on_branch_at[m] for m in relevant_marks), dt.UTC)
        services.append(DemoService(spec.name, spec.group, spec.paths, spec.intended_status, spec.story, path,
                                    text, sha, behind, relevant, oldest))
    return tuple(services)


def _deployed_text(spec: ServiceSpec, sha: str | None, repo: Repo, tag: str, known: set[str]) -> str:
    if spec.written_as == "missing-sha" or sha is None:
        return _vanished_sha(known)
    if spec.written_as == "tag":
        return tag
    if spec.written_as == "short-sha":
        return repo.output("rev-parse", "--short=12", sha)
    return sha
