"""``deploywatch preflight``: each check against real git (a bare remote), a real HTTP server and real commands;
what ships is held to ``git rev-list --no-merges --full-history D..T -- pathspecs``."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from pytest_httpserver import HTTPServer

from deploywatch.cli import main
from deploywatch.deploy.items import commit_type, composition
from testing.gitrepo import GitRepo, write_config, write_deployed
from testing.oracle import relevant_commits

NOW = "2026-11-23T09:00:00Z"
SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "preflight.v1.json"
PATHS = ["worker/**", "shared/**"]
EXCLUDE = ["**/*.md"]


@dataclass
class Scene:
    root: Path
    repo: GitRepo
    bare: Path
    shas: dict[str, str]
    server: HTTPServer

    def configure(self, *, preflight: str = "", health: bool = True, extra: str = "") -> Path:
        url = f'health = "{self.server.url_for("/__heartbeat__")}"\n' if health else ""
        return write_config(self.root, f"""
[repo]
path = "repo"
[services.worker]
paths = {json.dumps(PATHS)}
exclude = {json.dumps(EXCLUDE)}
deployed = {{ file = "deployed/worker.sha" }}
runbook = "https://runbooks.example.com/worker"
{url}
[services.worker.preflight]
{preflight}
{extra}""")

    def preflight(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
        capsys.readouterr()
        code = main(["preflight", "worker", *args, "--config", str(self.root / "deploywatch.toml"), "--format", "json",
                     "--now", NOW])
        out, err = capsys.readouterr()
        assert out, err
        document: dict[str, Any] = json.loads(out)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(document)]
        assert errors == []
        return code, document


def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")), format_checker=FormatChecker())


def statuses(document: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in document["checks"]}


def reasons(document: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["reason"] for c in document["checks"]}


@pytest.fixture
def scene(tmp_path: Path, httpserver: HTTPServer) -> Scene:
    """A clone of a bare remote, in sync: the worker deployed at ``base``, a mixed history since, a healthy
    heartbeat."""
    bare = tmp_path / "origin.git"
    repo = GitRepo(tmp_path / "repo")
    repo.git("init", "-q", "--bare", str(bare))
    shas = {"base": repo.commit("init", {"worker/app.py": "1\n", "shared/lib.py": "1\n", "web/site.py": "1\n",
                                          "db/schema.sql": "create table t (a int);\n"})}
    repo.commit("feat(worker): batch predictions", {"worker/app.py": "2\n"})
    repo.commit("fix: shared retry", {"shared/lib.py": "2\n"})
    repo.commit("web: new page", {"web/site.py": "2\n"})
    repo.commit("docs(worker): readme", {"worker/README.md": "hi\n"})  # excluded
    repo.checkout("topic", new=True)
    repo.commit("worker: tune", {"worker/tune.py": "1\n"})
    repo.commit("feat(shared)!: new ids", {"shared/ids.py": "1\n"})
    repo.checkout("main")
    repo.commit("chore: web deps", {"web/deps.txt": "1\n"})
    shas["tip"] = repo.merge("topic")
    repo.git("remote", "add", "origin", str(bare))
    repo.git("push", "-q", "-u", "origin", "main")
    write_deployed(tmp_path, "worker", shas["base"])
    httpserver.expect_request("/__heartbeat__").respond_with_json({"status": "ok", "checks": {"db": "ok"}})
    return Scene(tmp_path, repo, bare, shas, httpserver)


def test_all_clear_and_what_ships_equals_git(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    scene.configure(preflight='tests = "test -f worker/app.py"')
    code, doc = scene.preflight(capsys)
    assert statuses(doc) == dict.fromkeys(["clean", "branch", "synced", "ships", "schema", "tests", "move", "health"],
                                          "ok")
    assert (code, doc["status"], doc["move"]) == (0, "ok", "forward")
    oracle = relevant_commits(scene.repo, scene.shas["base"], scene.shas["tip"], PATHS, EXCLUDE)
    shipped = doc["ships"]["commits"]
    assert sorted(c["sha"] for c in shipped) == sorted(oracle) and len(oracle) == 4
    assert doc["ships"]["relevant_commits"] == len(oracle)
    subjects = scene.repo.git("log", "--no-walk=unsorted", "--format=%s", *oracle).splitlines()
    assert {c["sha"]: c["subject"] for c in shipped} == dict(zip(oracle, subjects, strict=True))
    kinds = Counter(commit_type(s) for s in subjects)
    assert doc["ships"]["composition"] == composition(subjects)
    assert doc["ships"]["composition"].startswith(f"{len(oracle)} commits: ")
    assert (kinds["feat"], kinds["fix"], kinds["other"]) == (2, 1, 1)
    assert all(c["author"] == "Test Author" for c in shipped)
    assert doc["runbook"] == "https://runbooks.example.com/worker"
    assert doc["deployed"]["commit"] == scene.shas["base"] and doc["target"]["commit"] == scene.shas["tip"]
    assert doc["tests"]["exit_code"] == 0 and doc["probes"][0]["status"] == "ok"


def test_composition_line() -> None:
    subjects = ["feat: a", "fix(x): b", "feat(y)!: c", "worker: d", "Revert stuff", "FIX: e"]
    assert composition(subjects) == "6 commits: 2 feat, 2 fix, 2 other"
    assert composition([]) == "no commits"


def test_a_dirty_tree_blocks_unless_not_required(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    scene.configure()
    (scene.repo.path / "worker" / "app.py").write_text("dirty\n", encoding="utf-8")
    (scene.repo.path / "stray.txt").write_text("x\n", encoding="utf-8")
    code, doc = scene.preflight(capsys)
    assert statuses(doc)["clean"] == "critical" and code == 2
    assert "1 changed file and 1 untracked file" in reasons(doc)["clean"]
    scene.configure(preflight="require_clean = false")
    code, doc = scene.preflight(capsys)
    assert statuses(doc)["clean"] == "ok" and "not required" in reasons(doc)["clean"] and code == 0


def test_the_remote(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    scene.configure()
    scene.repo.commit("worker: unpushed", {"worker/app.py": "3\n"})
    code, doc = scene.preflight(capsys)
    assert statuses(doc)["synced"] == "critical" and "1 commit not on origin/main" in reasons(doc)["synced"]
    scene.repo.git("push", "-q", "origin", "main")
    scene.repo.git("reset", "-q", "--hard", "HEAD~1")  # the remote now has a commit the target lacks
    code, doc = scene.preflight(capsys)
    assert statuses(doc)["synced"] == "warning" and "origin/main has 1 commit" in reasons(doc)["synced"]
    scene.repo.git("remote", "remove", "origin")
    code, doc = scene.preflight(capsys)
    assert statuses(doc)["synced"] == "unknown" and "no remote configured" in reasons(doc)["synced"]
    assert code == 3


def test_branch(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    scene.configure()
    scene.repo.checkout("feature", new=True)
    scene.repo.commit("worker: experiment", {"worker/x.py": "1\n"})
    code, doc = scene.preflight(capsys)
    assert statuses(doc)["branch"] == "critical" and "not on main" in reasons(doc)["branch"] and code == 2
    code, doc = scene.preflight(capsys, "--commit", "main")  # on feature, deploying main's tip
    assert statuses(doc)["branch"] == "warning" and doc["target"]["commit"] == scene.shas["tip"]
    scene.configure(preflight='require_branch = "release"')
    code, doc = scene.preflight(capsys, "--commit", "main")
    assert statuses(doc)["branch"] == "unknown" and "'release'" in reasons(doc)["branch"]


def test_downgrades_and_unrelated_history(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    scene.configure()
    write_deployed(scene.root, "worker", scene.shas["tip"])
    code, doc = scene.preflight(capsys, "--commit", scene.shas["base"])
    assert (statuses(doc)["move"], doc["move"], code) == ("critical", "downgrade", 2)
    assert doc["ships"]["relevant_commits"] == 0
    code, doc = scene.preflight(capsys, "--commit", scene.shas["base"], "--allow-downgrade")
    assert statuses(doc)["move"] == "warning" and "--allow-downgrade" in reasons(doc)["move"]
    orphan = scene.repo.orphan_commit("elsewhere", {"worker/app.py": "x\n"})
    write_deployed(scene.root, "worker", orphan)
    code, doc = scene.preflight(capsys)
    assert (statuses(doc)["move"], doc["move"]) == ("critical", "unrelated")
    oracle = relevant_commits(scene.repo, orphan, scene.shas["tip"], PATHS, EXCLUDE)
    assert sorted(c["sha"] for c in doc["ships"]["commits"]) == sorted(oracle)
    write_deployed(scene.root, "worker", scene.shas["tip"])
    code, doc = scene.preflight(capsys)
    assert (statuses(doc)["move"], doc["move"], doc["ships"]["relevant_commits"]) == ("ok", "current", 0)


def test_diverged(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    scene.configure()
    scene.repo.checkout("hotfix", new=True, start=scene.shas["base"])
    hotfix = scene.repo.commit("fix(worker): hotfix", {"worker/app.py": "hot\n"})
    scene.repo.checkout("main")
    write_deployed(scene.root, "worker", hotfix)
    code, doc = scene.preflight(capsys)
    assert (statuses(doc)["move"], doc["move"], code) == ("critical", "diverged", 2)
    assert "removes 1 commit" in reasons(doc)["move"]


def test_schema_changes_warn(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    scene.configure(preflight='schema_paths = ["db/**", "migrations/**"]')
    code, doc = scene.preflight(capsys)
    assert statuses(doc)["schema"] == "ok" and doc["schema_files"] == []
    scene.repo.commit("db: add column", {"db/schema.sql": "create table t (a int, b int);\n"})
    scene.repo.git("push", "-q", "origin", "main")
    code, doc = scene.preflight(capsys)
    assert (statuses(doc)["schema"], doc["schema_files"], code) == ("warning", ["db/schema.sql"], 1)


def test_tests_command(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    failing = ("echo collected 3; echo 'FAILED test_x: https://bot:hunter2secret@db.example.com'; "
               "echo 'boom' >&2; exit 1")
    scene.configure(preflight=f"tests = {json.dumps(failing)}")
    code, doc = scene.preflight(capsys)
    assert statuses(doc)["tests"] == "critical" and code == 2
    assert "failed (exit 1)" in reasons(doc)["tests"] and "boom" in doc["tests"]["output_tail"]
    assert "hunter2secret" not in json.dumps(doc) and "***@db.example.com" in reasons(doc)["tests"]
    scene.configure(preflight='tests = "sleep 30"\ntests_timeout = "1s"')
    code, doc = scene.preflight(capsys)
    assert statuses(doc)["tests"] == "critical" and doc["tests"]["exit_code"] is None
    scene.configure(preflight='tests = "true"')
    code, doc = scene.preflight(capsys, "--commit", "main~1")  # tests run in the work tree, not at the target
    assert statuses(doc)["tests"] == "warning" and "not the target" in reasons(doc)["tests"]


def test_health(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    scene.configure(health=False)
    code, doc = scene.preflight(capsys)
    assert statuses(doc)["health"] == "unknown" and code == 3  # no data is never ok
    scene.server.clear()
    scene.server.expect_request("/__heartbeat__").respond_with_json({"status": "error"}, status=500)
    scene.configure()
    code, doc = scene.preflight(capsys)
    assert statuses(doc)["health"] == "critical" and code == 2
    scene.configure(health=False, extra='[[probes]]\nname = "worker queue"\ncommand = "echo QUEUE WARN; exit 1"\n'
                                         '[[probes]]\nname = "workers elsewhere"\ncommand = "exit 2"\n')
    code, doc = scene.preflight(capsys)
    assert statuses(doc)["health"] == "warning" and [p["name"] for p in doc["probes"]] == ["worker queue"]


def test_unknown_deployed_commit(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    scene.configure()
    write_deployed(scene.root, "worker", "feedface" * 5)
    code, doc = scene.preflight(capsys)
    assert {n: statuses(doc)[n] for n in ("ships", "schema", "move")} == dict.fromkeys(("ships", "schema", "move"),
                                                                                      "unknown")
    assert doc["ships"] is None and doc["move"] is None and code == 3


def test_bad_input_is_one_line(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    config = scene.configure()
    assert main(["preflight", "nope", "--config", str(config)]) == 3
    assert "unknown service 'nope'" in capsys.readouterr().err
    assert main(["preflight", "worker", "--commit", "no-such-rev", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert "--commit 'no-such-rev' does not name a commit" in err and err.count("\n") == 1


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_human_formats(scene: Scene, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    scene.configure()
    code = main(["preflight", "worker", "--config", str(scene.root / "deploywatch.toml"), "--format", fmt,
                 "--now", NOW])
    out = capsys.readouterr().out
    assert code == 0
    assert "feat(worker): batch predictions" in out.replace("\\", "")
    assert "4 commits: 2 feat, 1 fix, 1 other" in out
    assert "runbooks.example.com/worker" in out
    assert "8 checks: 8 ok → ok (exit 0)" in out
