"""``deploywatch config check``: every service explained, files owned counted as git counts them, warnings
for globs that match nothing at the branch tip, and no secret in the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploywatch.cli import main
from testing.gitrepo import GitRepo, write_config, write_deployed
from testing.oracle import ls_files, pathspecs

CONFIG = """\
[repo]
path = "repo"
branch = "{branch}"

[defaults]
exclude = ["**/*.md", "docs/**"]

[services.web]
paths = ["web/**", "shared"]
deployed = {{ file = "deployed/web.sha" }}

[services.api]
paths = ["api/*.py", "shared/**/*.py"]
exclude = ["api/v1/**"]
group = "backend"
warn_commits = 0
critical_after = "3d"
deployed = {{ command = "cat VERSION", timeout = "5s" }}
deploy = "./bin/deploy.sh api"

[services.reports]
paths = ["data files/*.csv", "Makefile", "jobs/[a-c]*.sql"]
group = "backend"
deployed = {{ url = "https://reports.example.com/__version__" }}
"""

FILES = {
    "web/app.py": "app = 1\n", "web/templates/index.html": "<p>hi</p>\n", "web/README.md": "# web\n",
    "web/tests/test_app.py": "def test(): ...\n",
    "shared/lib.py": "X = 1\n", "shared/util/io.py": "Y = 2\n", "shared/NOTES.md": "notes\n",
    "shared/schema.json": "{}\n",
    "api/main.py": "main = 1\n", "api/v1/routes.py": "routes = []\n", "api/sub/deep.py": "deep = 1\n",
    "docs/guide.md": "# guide\n", "docs/web/diagram.svg": "<svg/>\n",
    "data files/report 1.csv": "a,b\n", "data files/nested/skip.csv": "c\n",
    "jobs/a_daily.sql": "select 1\n", "jobs/d_weekly.sql": "select 2\n", "jobs/b.sql": "select 3\n",
    "Makefile": "all:\n", "README.md": "# shop\n",
}
SERVICE_GLOBS = {
    "web": (["web/**", "shared"], ["**/*.md", "docs/**"]),
    "api": (["api/*.py", "shared/**/*.py"], ["api/v1/**"]),
    "reports": (["data files/*.csv", "Makefile", "jobs/[a-c]*.sql"], ["**/*.md", "docs/**"]),
}


@pytest.fixture(autouse=True)
def _no_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOYWATCH_CONFIG", raising=False)


@pytest.fixture
def shop(tmp_path: Path) -> GitRepo:
    """A monorepo with three services' code, docs and a file name with a space, in ``tmp_path/repo``."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("initial", FILES)
    write_deployed(tmp_path, "web", repo.head())
    return repo


def git_owned(repo: GitRepo, paths: list[str], exclude: list[str]) -> set[str]:
    """The files at HEAD that git says match ``paths`` and no ``exclude``."""
    out = repo.git("ls-files", "-z", "--", *pathspecs(paths, exclude))
    return {p for p in out.split("\0") if p}


def run_check(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["config", "check", "--config", str(config), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_json(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code, out, err = run_check(config, capsys, "--format", "json")
    assert err == ""
    return code, json.loads(out)


def blocks(text: str) -> dict[str, str]:
    """The table output split into per-service blocks, keyed by the block's first word."""
    return {b.split()[0]: b for b in text.split("\n\n")[1:] if b.strip()}


def test_oracle_agrees_with_itself(shop: GitRepo) -> None:
    # git_owned with a single glob and no exclude is exactly ls_files: the oracle the counts are checked against.
    assert git_owned(shop, ["shared"], []) == ls_files(shop, "shared") == {
        "shared/lib.py", "shared/util/io.py", "shared/NOTES.md", "shared/schema.json"}


def test_json_explains_every_service(shop: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, CONFIG.format(branch="main"))

    code, document = check_json(config, capsys)

    assert code == 0
    assert document["schema"] == "deploywatch.config/v1"
    assert document["path"] == str(config.resolve())
    assert document["repo"] == {"path": str(shop.path.resolve()), "branch": "main", "tip": shop.head(),
                                "fetch": False}
    assert document["warnings"] == []
    services = {s["name"]: s for s in document["services"]}
    assert list(services) == ["web", "api", "reports"]
    for name, (paths, exclude) in SERVICE_GLOBS.items():
        assert services[name]["paths"] == paths
        assert services[name]["exclude"] == exclude
        assert services[name]["files_owned"] == len(git_owned(shop, paths, exclude)), name
    # by hand: web 3 + shared 3 (the .md files excluded); api/main.py + shared's 2 .py; csv, Makefile, a_ and b.sql
    assert [services[n]["files_owned"] for n in ("web", "api", "reports")] == [6, 3, 4]
    assert services["api"]["deployed"] == {"kind": "command", "description": "command cat VERSION"}
    assert services["web"]["deployed"]["kind"] == "file"
    assert services["reports"]["deployed"] == {"kind": "url",
                                              "description": "url https://reports.example.com/__version__"}
    assert services["api"]["group"] == "backend" and services["web"]["group"] is None
    assert services["api"]["deploy"] == "./bin/deploy.sh api"
    assert services["api"]["thresholds"] == {"warn_commits": None, "critical_commits": 10, "warn_after": 7200,
                                             "critical_after": 3 * 86400}


def test_table_names_each_service_and_its_file_count(shop: GitRepo, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, CONFIG.format(branch="main"))

    code, out, err = run_check(config, capsys)

    assert (code, err) == (0, "")
    assert out.startswith(f"{config.resolve()}: valid\n")
    assert f"branch main @ {shop.head()[:8]}" in out
    per_service = blocks(out)
    assert list(per_service) == ["web", "api", "reports"]
    for name, (paths, exclude) in SERVICE_GLOBS.items():
        assert f"→ {len(git_owned(shop, paths, exclude))} files at the tip" in per_service[name]
    assert "(group backend)" in per_service["api"]
    assert "warning  oldest relevant commit waiting > 2h" in per_service["api"]
    assert "critical ≥ 10 relevant commits behind or oldest relevant commit waiting > 3d" in per_service["api"]
    assert "deploy   ./bin/deploy.sh api" in per_service["api"]
    assert "warning:" not in out


def test_files_are_counted_at_the_branch_tip_not_in_the_work_tree(shop: GitRepo, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    shop.checkout("release", new=True)
    shop.commit("release-only web file", {"web/release_notes.py": "NOTES = 1\n"})
    at_release = {name: git_owned(shop, *globs) for name, globs in SERVICE_GLOBS.items()}
    shop.checkout("main")
    shop.commit("main-only web files", {"web/new.py": "n\n", "web/newer.py": "n\n"})
    (shop.path / "web" / "untracked.py").write_text("u\n", encoding="utf-8")
    config = write_config(tmp_path, CONFIG.format(branch="release"))

    code, document = check_json(config, capsys)

    assert code == 0
    assert document["repo"]["tip"] == shop.head("release")
    owned = {s["name"]: s["files_owned"] for s in document["services"]}
    assert owned == {name: len(files) for name, files in at_release.items()}
    assert "web/release_notes.py" in at_release["web"]


def test_glob_matching_nothing_at_the_tip_is_a_warning(shop: GitRepo, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    shop.commit("remove the legacy worker", {"legacy/worker.py": "old\n"})
    shop.commit("delete it", {"legacy/worker.py": None})
    text = CONFIG.format(branch="main").replace('paths = ["api/*.py", "shared/**/*.py"]',
                                                'paths = ["api/*.py", "legacy/**", "api/*.go"]')
    config = write_config(tmp_path, text)

    code, out, _ = run_check(config, capsys)
    json_code, document = check_json(config, capsys)

    assert code == json_code == 1
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: services.api.paths: 'legacy/**' matches no file at the tip of main",
        "warning: services.api.paths: 'api/*.go' matches no file at the tip of main",
    ]
    assert document["warnings"] == [w.removeprefix("warning: ") for w in warnings]
    assert {s["name"]: s["files_owned"] for s in document["services"]}["api"] == len(
        git_owned(shop, ["api/*.py", "legacy/**", "api/*.go"], ["api/v1/**"]))


def test_real_process_json(shop: GitRepo, tmp_path: Path) -> None:
    write_config(tmp_path, CONFIG.format(branch="main"))
    env = {k: v for k, v in os.environ.items() if k != "DEPLOYWATCH_CONFIG"}

    proc = subprocess.run([sys.executable, "-m", "deploywatch", "config", "check", "--format", "json"],
                          cwd=shop.path / "web", env=env, capture_output=True, text=True, timeout=60, check=False)

    assert (proc.returncode, proc.stderr) == (0, "")
    document = json.loads(proc.stdout)
    assert document["schema"] == "deploywatch.config/v1"
    assert [s["name"] for s in document["services"]] == ["web", "api", "reports"]


def test_missing_repository_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, CONFIG.format(branch="main"))

    code, out, err = run_check(config, capsys)

    assert (code, out) == (3, "")
    assert err.startswith("deploywatch: error: ") and err.count("\n") == 1


def test_missing_branch_is_exit_3_naming_repo_branch(shop: GitRepo, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, CONFIG.format(branch="production"))

    code, out, err = run_check(config, capsys)

    assert (code, out) == (3, "")
    assert err.count("\n") == 1 and "'production' (repo.branch) does not exist" in err


# ---------------------------------------------------------------- secrets

SECRET_CONFIG = """\
[repo]
path = "repo"

[services.web]
paths = ["web/**"]
[services.web.deployed]
url = "https://deploy:${DW_CHECK_TOKEN}@web.example.com/__version__?token=${DW_CHECK_TOKEN}"
headers = { Authorization = "Bearer ${DW_CHECK_TOKEN}", X-Api-Key = "${DW_CHECK_TOKEN}" }

[services.api]
paths = ["api"]
deployed = { command = "curl -fsS -H 'X-Token: ${DW_CHECK_TOKEN}' https://api.example.com/v ${DW_CHECK_TOKEN}" }
"""
TOKEN = "dwtok-config-check-5b8e01aa"


@pytest.mark.parametrize("output_format", ["table", "json"])
def test_secrets_from_the_environment_are_not_printed(output_format: str, shop: GitRepo, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DW_CHECK_TOKEN", TOKEN)
    config = write_config(tmp_path, SECRET_CONFIG)

    code, out, err = run_check(config, capsys, "--format", output_format)

    assert code == 0, err
    assert TOKEN not in out + err
    assert "web.example.com" in out and "api.example.com" in out


@pytest.mark.parametrize("output_format", ["table", "json"])
def test_secret_in_deploy_command_is_not_printed(output_format: str, shop: GitRepo, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DW_CHECK_TOKEN", TOKEN)
    config = write_config(tmp_path, SECRET_CONFIG + 'deploy = "./bin/deploy.sh --token ${DW_CHECK_TOKEN}"\n')

    code, out, err = run_check(config, capsys, "--format", output_format)

    assert code == 0, err
    assert "./bin/deploy.sh" in out
    assert TOKEN not in out + err


def test_phases_probes_schedule_server_and_sinks_are_explained_without_secrets(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVER_TOKEN", "srv-T0ken-marker")
    monkeypatch.setenv("HOOK_URL", "https://hooks.example.com/secret-hook-path")
    config = tmp_path / "deploywatch.toml"
    config.write_text(
        '[warehouse]\nurl = "duckdb:///w.duckdb"\n\n[[checks]]\nname = "x"\nquery = "SELECT 1"\n\n'
        '[phases.phase3]\nprocessors = ["a", "b"]\n'
        'freshness = { table = "t", column = "processed_at", within = "24h" }\n'
        'on_complete = "curl -X POST https://phase4.example.com/run?date={{ date }}&token=abcd1234efgh"\n\n'
        '[[probes]]\nname = "disk"\ncommand = "/usr/lib/nagios/plugins/check_disk -w 20% -c 10% -p /"\n\n'
        '[schedule]\ntimezone = "America/New_York"\ndrift = "0 */2 * * *"\ncheck = "0 6 * * *"\n\n'
        '[server]\nlisten = "127.0.0.1:8099"\ntoken = "${SERVER_TOKEN}"\n\n'
        '[[alerts.webhook]]\nurl = "${HOOK_URL}"\n')
    code, document = check_json(config, capsys)
    assert code == 0
    assert document["phases"]["phase3"]["processors"] == ["a", "b"]
    assert document["phases"]["phase3"]["freshness"] == {"table": "t", "column": "processed_at", "within": 86400}
    assert document["probes"] == [{"name": "disk", "url": None, "timeout_seconds": 10,
                                   "command": "/usr/lib/nagios/plugins/check_disk -w 20% -c 10% -p /"}]
    assert document["schedule"]["jobs"] == {"drift": "0 */2 * * *", "check": "0 6 * * *"}
    assert document["server"] == {"listen": "127.0.0.1:8099", "token": True, "protect_reads": False}
    assert [(s["name"], s["type"], s["target"]) for s in document["alerts"]] == [
        ("webhook", "webhook", "https://hooks.example.com")]
    code, text, err = run_check(config, capsys)
    everything = json.dumps(document) + text + err
    for secret in ("srv-T0ken-marker", "secret-hook-path", "abcd1234efgh"):
        assert secret not in everything
    assert "writes need the token" in text and "phase3: 2 processors (a, b)" in text


@pytest.mark.parametrize(("args", "expected"), [
    (["--now", "2031-02-03T23:30:00Z"], "2031-02-03"),
    (["--now", "2031-02-03T23:30:00Z", "--date", "2019-07-04"], "2019-07-04"),
])
def test_check_templates_are_shown_for_now_or_date_not_today(args: list[str], expected: str, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "deploywatch.toml"
    config.write_text('[warehouse]\nurl = "duckdb:///w.duckdb"\n\n[[checks]]\nname = "rows"\ntable = "t"\n'
                      "where = \"d = DATE '{{ run_date }}'\"\nmetric = \"row_count\"\ncritical = \"< 1\"\n")
    assert main(["config", "check", "--config", str(config), "--format", "json", *args]) == 0
    assert json.loads(capsys.readouterr().out)["data"]["run_date"] == expected
    assert main(["config", "check", "--config", str(config), *args]) == 0
    assert f"templates for {expected}" in capsys.readouterr().out
