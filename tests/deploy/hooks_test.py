"""``deploywatch hooks``: real pushes to a local bare remote run the installed hook, which names what they affect."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from deploywatch.cli import main
from deploywatch.deploy.hooks import BACKUP_SUFFIX, MARKER
from deploywatch.drift.git import clean_env
from testing.gitrepo import GitRepo, write_config, write_deployed

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[repo]
path = "repo"
[defaults]
warn_commits = 1
critical_commits = 1
[services.worker]
paths = ["worker/**"]
deployed = { file = "deployed/worker.sha" }
deploy = "./bin/deploy.sh {{ service }} {{ commit }}"
[services.analytics]
paths = ["analytics/**"]
deployed = { file = "deployed/analytics.sha" }
[services.docs]
paths = ["docs/**"]
deployed = { file = "deployed/docs.sha" }
"""
PREFIXES = {"worker/": "worker", "analytics/": "analytics", "docs/": "docs"}


class Scene:
    """A repository with a bare ``origin``; worker is one relevant commit behind main (critical), the rest current."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.repo = GitRepo(tmp_path / "repo")
        base = self.repo.commit("base", {"worker/w.py": "1", "analytics/a.py": "1", "docs/d.md": "1"})
        tip = self.repo.commit("worker: a fix not yet deployed", {"worker/w.py": "2"})
        self.config = write_config(tmp_path, CONFIG)
        write_deployed(tmp_path, "worker", base)
        write_deployed(tmp_path, "analytics", tip)
        write_deployed(tmp_path, "docs", tip)
        subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], check=True, timeout=60,
                       env=clean_env())
        self.repo.git("remote", "add", "origin", str(tmp_path / "origin.git"))
        self.repo.git("push", "-q", "--no-verify", "origin", "main")
        self.hooks = tmp_path / "repo" / ".git" / "hooks"

    def deploywatch(self, *args: str) -> int:
        return main([*args, "--config", str(self.config)])

    def push(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``git push`` as a person runs it; ``output`` is what they see (the hook's and git's, interleaved)."""
        return subprocess.run(["git", "push", "origin", *args], cwd=self.repo.path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=120, env=clean_env(), check=False)

    def remote_has(self, ref: str) -> str | None:
        proc = subprocess.run(["git", "rev-parse", "--verify", "-q", ref], cwd=self.root / "origin.git",
                              capture_output=True, text=True, timeout=60, env=clean_env(), check=False)
        return proc.stdout.strip() or None

    def expected(self, base: str, head: str) -> set[str]:
        """The oracle: the services owning the files ``git diff --name-only base...head`` lists."""
        files = self.repo.git("diff", "--name-only", "--no-renames", f"{base}...{head}").splitlines()
        return {service for f in files for prefix, service in PREFIXES.items() if f.startswith(prefix)}


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    return Scene(tmp_path)


def named(output: str) -> set[str]:
    """Services the hook listed (lines ``  NAME  deploy: …`` or ``  NAME  (no deploy command configured)``)."""
    return {line.split()[0] for line in output.splitlines() if line.startswith("  ")} & set(PREFIXES.values())


def test_pre_push_names_the_affected_services_and_their_deploy_commands(scene: Scene) -> None:
    assert scene.deploywatch("hooks", "install") == 0
    hook = scene.hooks / "pre-push"
    assert MARKER in hook.read_text() and hook.stat().st_mode & stat.S_IXUSR
    scene.repo.checkout("feature", new=True)
    scene.repo.commit("worker and docs", {"worker/w.py": "3", "docs/d.md": "2"})
    pushed = scene.push("feature")  # a new branch: compared with main's merge-base
    assert pushed.returncode == 0, pushed.stdout
    assert named(pushed.stdout) == scene.expected("main", "feature") == {"worker", "docs"}
    assert "deploy: ./bin/deploy.sh {{ service }} {{ commit }}" in pushed.stdout  # as configured
    assert "refs/heads/feature: 2 of 3 services affected (2 files changed)" in pushed.stdout
    before = scene.repo.head()
    scene.repo.commit("analytics only", {"analytics/a.py": "2"})
    again = scene.push("feature")  # an existing branch: only the new commits
    assert again.returncode == 0, again.stdout
    assert named(again.stdout) == scene.expected(before, "feature") == {"analytics"}


def test_without_block_on_drift_a_critical_service_never_blocks(scene: Scene) -> None:
    assert scene.deploywatch("hooks", "install", "--pre-push") == 0
    scene.repo.commit("worker again", {"worker/w.py": "4"})
    pushed = scene.push("main")
    assert pushed.returncode == 0, pushed.stdout
    assert named(pushed.stdout) == {"worker"}
    assert scene.remote_has("main") == scene.repo.head()


def test_block_on_drift_stops_a_push_touching_a_critical_service(scene: Scene) -> None:
    assert scene.deploywatch("hooks", "install", "--block-on-drift") == 0
    scene.repo.checkout("feature", new=True)
    scene.repo.commit("analytics only", {"analytics/a.py": "2"})
    assert scene.push("feature").returncode == 0  # analytics is current: not blocked
    scene.repo.commit("worker", {"worker/w.py": "5"})
    blocked = scene.push("feature")
    assert blocked.returncode != 0
    assert "worker drift is critical" in blocked.stdout
    assert "push blocked" in blocked.stdout
    assert scene.remote_has("feature") != scene.repo.head()


def test_an_existing_hook_is_chained_then_restored_byte_for_byte(scene: Scene) -> None:
    legacy = scene.hooks / "pre-push"
    content = b"#!/bin/sh\n# team hook\necho legacy hook ran >&2\ncat > \"$(dirname \"$0\")/../legacy-stdin\"\n"
    legacy.write_bytes(content)
    legacy.chmod(0o750)
    assert scene.deploywatch("hooks", "install") == 0
    backup = scene.hooks / f"pre-push{BACKUP_SUFFIX}"
    assert backup.read_bytes() == content
    scene.repo.commit("worker", {"worker/w.py": "6"})
    pushed = scene.push("main")
    assert pushed.returncode == 0, pushed.stdout
    assert "legacy hook ran" in pushed.stdout and named(pushed.stdout) == {"worker"}
    stdin = (scene.root / "repo" / ".git" / "legacy-stdin").read_text().split()
    assert stdin[1] == scene.repo.head() and stdin[2] == "refs/heads/main"  # git's ref lines reached it
    assert scene.deploywatch("hooks", "install") == 0  # idempotent: the backup stays the team's hook
    assert backup.read_bytes() == content
    assert scene.deploywatch("hooks", "uninstall") == 0
    assert legacy.read_bytes() == content
    assert stat.S_IMODE(legacy.stat().st_mode) == 0o750
    assert not backup.exists()


def test_a_failing_chained_hook_still_stops_the_push(scene: Scene) -> None:
    (scene.hooks / "pre-push").write_text("#!/bin/sh\necho no pushes on friday >&2\nexit 1\n")
    (scene.hooks / "pre-push").chmod(0o755)
    assert scene.deploywatch("hooks", "install") == 0
    scene.repo.commit("docs", {"docs/d.md": "3"})
    pushed = scene.push("main")
    assert pushed.returncode != 0
    assert "no pushes on friday" in pushed.stdout


def test_a_second_foreign_hook_needs_force(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    (scene.hooks / "pre-push").write_text("#!/bin/sh\nexit 0\n")
    (scene.hooks / f"pre-push{BACKUP_SUFFIX}").write_text("#!/bin/sh\n# older\n")
    assert scene.deploywatch("hooks", "install") == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err
    assert scene.deploywatch("hooks", "install", "--force") == 0
    assert (scene.hooks / f"pre-push{BACKUP_SUFFIX}").read_text() == "#!/bin/sh\nexit 0\n"


def test_core_hooks_path_is_honoured(scene: Scene) -> None:
    scene.repo.git("config", "core.hooksPath", ".githooks")
    assert scene.deploywatch("hooks", "install") == 0
    assert MARKER in (scene.root / "repo" / ".githooks" / "pre-push").read_text()
    assert not (scene.hooks / "pre-push").exists()
    scene.repo.commit("analytics", {"analytics/a.py": "7"})
    pushed = scene.push("main")
    assert named(pushed.stdout) == {"analytics"}


def test_a_broken_config_never_blocks_a_push(scene: Scene) -> None:
    assert scene.deploywatch("hooks", "install", "--block-on-drift") == 0
    scene.config.write_text("[services.worker\n", encoding="utf-8")
    scene.repo.commit("worker", {"worker/w.py": "8"})
    pushed = scene.push("main")
    assert pushed.returncode == 0, pushed.stdout
    notes = [line for line in pushed.stdout.splitlines() if line.startswith("deploywatch:")]
    assert len(notes) == 1 and "not blocking" in notes[0]
    assert scene.remote_has("main") == scene.repo.head()


def test_a_missing_interpreter_never_blocks_a_push(scene: Scene) -> None:
    assert scene.deploywatch("hooks", "install", "--block-on-drift") == 0
    hook = scene.hooks / "pre-push"
    hook.write_text(hook.read_text().replace("python=", "python=/nonexistent/python #"))
    scene.repo.commit("worker", {"worker/w.py": "9"})
    pushed = scene.push("main")
    assert pushed.returncode == 0 and "hook skipped" in pushed.stdout


def test_post_merge_shows_the_affected_services_and_their_drift(scene: Scene) -> None:
    assert scene.deploywatch("hooks", "install", "--post-merge") == 0
    assert not (scene.hooks / "pre-push").exists()  # only what was asked for
    scene.repo.checkout("feature", new=True)
    scene.repo.commit("worker", {"worker/w.py": "10"})
    scene.repo.checkout("main")
    merged = subprocess.run(["git", "merge", "--no-ff", "--no-edit", "feature"], cwd=scene.repo.path,
                            capture_output=True, text=True, timeout=120, env=clean_env(), check=False)
    assert merged.returncode == 0, merged.stderr
    output = merged.stdout + merged.stderr
    assert "affects 1 of 3 services" in output
    line = next(ln for ln in output.splitlines() if ln.startswith("  worker"))
    assert "critical" in line and "3 behind: 2 relevant" in line  # the merge commit is elsewhere


def test_uninstall_leaves_a_foreign_hook_alone(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    (scene.hooks / "post-merge").write_text("#!/bin/sh\n")
    assert scene.deploywatch("hooks", "uninstall") == 0
    out = capsys.readouterr().out
    assert "no deploywatch pre-push hook" in out and "not deploywatch's hook" in out
    assert (scene.hooks / "post-merge").read_text() == "#!/bin/sh\n"


def test_install_outside_a_git_repository_is_one_line_exit_3(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "repo").mkdir()
    config = write_config(tmp_path, CONFIG)
    assert main(["hooks", "install", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a git repository" in err
    assert main(["hooks", "uninstall", "--config", str(config)]) == 3


def test_the_pre_commit_framework_manifest(scene: Scene) -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert set(hooks) == {"deploywatch-config", "deploywatch-affected"}
    for hook in hooks.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python" and hook["pass_filenames"] is False
    assert hooks["deploywatch-config"]["entry"] == "deploywatch config check"
    import re

    pattern = re.compile(hooks["deploywatch-config"]["files"])
    assert pattern.search("deploywatch.toml") and pattern.search("sub/pyproject.toml")
    assert not pattern.search("src/app.py")
    affected = hooks["deploywatch-affected"]
    assert affected["stages"] == ["pre-push"] and affected["always_run"] is True
    # what pre-commit runs: the entry with PRE_COMMIT_FROM_REF/TO_REF in the environment
    scene.repo.checkout("feature", new=True)
    scene.repo.commit("docs", {"docs/d.md": "4"})
    env = clean_env({"PRE_COMMIT_FROM_REF": scene.repo.head("main"), "PRE_COMMIT_TO_REF": scene.repo.head(),
                     "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/feature"})
    import sys

    proc = subprocess.run([sys.executable, "-m", "deploywatch", *affected["entry"].split()[1:],
                           "--config", str(scene.config)], capture_output=True, text=True, timeout=120, env=env,
                          stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0, proc.stderr
    assert named(proc.stdout) == {"docs"}
