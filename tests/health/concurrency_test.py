"""``deploywatch check`` runs its collectors in threads: on a PostgreSQL or SQLite warehouse and store, every run in
a fresh process ends with the verdict, never with an import error (two threads importing SQLAlchemy for the first
time at once see a partially initialised module, or deadlock)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from testing.http import closed_port
from testing.warehouse import ScratchWarehouse, Table, fill_database, toml_value, write_checks_config

NOW = "2026-11-23T09:00:00Z"
RUNS = 20
# fresh data (3h old) but no processor reported: a tracking gap (warning); the closed probe is critical
EVENTS = Table("events", {"id": "INTEGER", "ts": "TIMESTAMP"},
               [(1, dt.datetime(2026, 11, 23, 6, 0)), (2, dt.datetime(2026, 11, 22, 6, 0))])


def _config(directory: Path, warehouse_url: str, store_url: str) -> Path:
    """A config with every collector: services (a file source, two URL sources refused at once), two checks, a
    gate, a phase with freshness, a command probe and an HTTP probe to a port nothing listens on (refused at once:
    critical, so the verdict is CRITICAL)."""
    repo = GitRepo(directory / "repo")
    sha = repo.commit("web: first", {"web/app.py": "print()\n"})
    (directory / "deployed.sha").write_text(sha + "\n", encoding="utf-8")
    extra = textwrap.dedent(f"""
        [repo]
        path = {toml_value(str(repo.path))}

        [services.web]
        paths = ["web/**"]
        deployed = {{ file = {toml_value(str(directory / "deployed.sha"))} }}

        [services.api]
        paths = ["web/**"]
        deployed = {{ url = "http://127.0.0.1:{closed_port()}/__version__", timeout = "2s" }}

        [services.worker]
        paths = ["web/**"]
        deployed = {{ url = "http://127.0.0.1:{closed_port()}/__version__", timeout = "2s" }}

        [gates.release]
        checks = ["events.*"]

        [phases.load]
        processors = ["loader"]
        freshness = {{ table = "events", column = "ts", within = "1d" }}

        [[probes]]
        name = "true"
        command = "true"

        [[probes]]
        name = "closed"
        url = "http://127.0.0.1:{closed_port()}/healthz"
        timeout = "2s"
        weight = 0.01
        """)
    checks = [{"name": "events.rows", "table": "events", "metric": "row_count", "warn": "< 1"},
              {"name": "events.ids", "table": "events", "metric": "max(id)", "critical": "> 100"}]
    return write_checks_config(directory / "config", warehouse_url, checks, store=store_url, extra=extra)


def _sqlite(directory: Path) -> tuple[str, str]:
    warehouse = f"sqlite:///{directory / 'warehouse.sqlite'}"
    fill_database(warehouse, [EVENTS])
    return warehouse, f"sqlite:///{directory / 'state.db'}"


def _postgres(directory: Path, database_url: str) -> tuple[str, str]:
    warehouse = ScratchWarehouse.postgres(database_url, directory)
    warehouse.create(EVENTS)
    return warehouse.url, database_url


@pytest.fixture(params=["postgresql", "sqlite"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "sqlite":
        urls = _sqlite(tmp_path)
    else:
        urls = _postgres(tmp_path, request.getfixturevalue("postgres_url"))
    return _config(tmp_path, *urls)


def _check(config: Path, *prefix: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *prefix, "check", "--config", str(config), "--now", NOW,
                           "--format", "json"], capture_output=True, text=True, timeout=120, check=False)


def test_check_ends_with_its_verdict_in_every_one_of_twenty_fresh_processes(config: Path) -> None:
    for run in range(RUNS):
        proc = _check(config, "-m", "deploywatch")
        assert "internal error" not in proc.stderr, f"run {run + 1}: {proc.stderr}"
        assert "Traceback" not in proc.stderr, f"run {run + 1}: {proc.stderr}"
        assert proc.returncode == 2, f"run {run + 1}: exit {proc.returncode}: {proc.stderr}"
        assert '"verdict": "CRITICAL"' in proc.stdout


# Runs the CLI with an audit hook that notes every module whose loading starts outside the main thread.
_WATCH_IMPORTS = """
import sys, threading
late = set()
def hook(event, args):
    if (event == "import" and threading.current_thread() is not threading.main_thread()
            and args[0] not in sys.modules):
        late.add(args[0])
sys.addaudithook(hook)
from deploywatch.cli import main
code = main(sys.argv[1:])
print("\\n".join(sorted(name for name in late if name in sys.modules)), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize(("command", "code"), [("check", 2), ("drift", 3), ("canary", 0), ("gate", 0)])
def test_no_worker_thread_imports_a_module_for_the_first_time(config: Path, command: str, code: int) -> None:
    """Collectors, deployed sources, warehouse statements and the store opened beside git run in threads: what
    they use is imported before those start."""
    proc = _check(config, "-c", _WATCH_IMPORTS) if command == "check" else subprocess.run(
        [sys.executable, "-c", _WATCH_IMPORTS, command, *(["release"] if command == "gate" else []), "--config",
         str(config), "--now", NOW, "--format", "json"], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == code, proc.stderr
    late = [line for line in proc.stderr.splitlines() if line and not line.startswith("deploywatch:")]
    assert late == []


def test_the_daemons_jobs_running_at_once_import_nothing_for_the_first_time(config: Path) -> None:
    """``serve --once`` starts drift, canary and check together, each in a worker thread: what they use is
    imported before those start, as for the collectors of one check."""
    text = config.read_text(encoding="utf-8")
    config.write_text(text + '\n[schedule]\ndrift = "* * * * *"\ncanary = "* * * * *"\ncheck = "* * * * *"\n',
                      encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", _WATCH_IMPORTS, "serve", "--once", "--config", str(config)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert "drift:" in proc.stdout and "canary:" in proc.stdout and "check:" in proc.stdout, proc.stdout + proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    late = [line for line in proc.stderr.splitlines()
            if line and not line.startswith("deploywatch:") and " deploywatch." not in line]
    assert late == []
