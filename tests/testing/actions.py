"""Run GitHub Actions steps locally: ``${{ }}`` expressions from a small context, each ``run:`` script with bash
as GitHub runs it (``bash --noprofile --norc -eo pipefail``), with ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``,
``GITHUB_PATH``, ``GITHUB_ACTION_PATH`` and ``GITHUB_EVENT_PATH`` set, and the outputs each step wrote read back.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


@dataclass
class Job:
    """One job's state: its context for expressions, the step outputs so far, PATH additions, the summary."""

    root: Path  # a scratch directory: the files GitHub would provide live here
    event: dict[str, Any] = field(default_factory=dict)
    github: dict[str, Any] = field(default_factory=dict)
    matrix: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, str]] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def summary(self) -> Path:
        return self.root / "step_summary.md"

    @property
    def event_path(self) -> Path:
        path = self.root / "event.json"
        path.write_text(json.dumps(self.event), encoding="utf-8")
        return path


def lookup(context: Mapping[str, Any], expression: str) -> Any:
    """A dotted name (``inputs.command``, ``steps.run.outputs.exit-code``, ``github.event.pull_request.number``)."""
    value: Any = context
    for part in expression.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(f"${{{{ {expression} }}}} is not in the test's context")
        value = value[part]
    return value


def evaluate(text: str, context: Mapping[str, Any], *, missing: str | None = None) -> str:
    """``text`` with every ``${{ name }}`` replaced (only dotted names: the workflows here need no more); a name not
    in ``context`` is an error unless ``missing`` says what it becomes."""
    def replace(match: re.Match[str]) -> str:
        try:
            value = lookup(context, match.group(1))
        except KeyError:
            if missing is None:
                raise
            return missing
        return value if isinstance(value, str) else json.dumps(value)

    return _EXPR.sub(replace, str(text))


def read_outputs(path: Path) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIMITER`` blocks, as GitHub reads ``$GITHUB_OUTPUT``."""
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        name, value = line.split("=", 1)
        outputs[name] = value
        i += 1
    return outputs


def run_script(job: Job, script: str, *, env: Mapping[str, str], cwd: Path, action_path: Path | None = None,
               timeout: float = 300) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run one ``run:`` script; return the process and the outputs it wrote."""
    index = len(list(job.root.glob("step-*.sh")))
    script_file = job.root / f"step-{index}.sh"
    script_file.write_text(script, encoding="utf-8")
    output, path_file = job.root / f"output-{index}", job.root / f"path-{index}"
    output.touch()
    path_file.touch()
    environ = {**os.environ, **job.env, **env,
               "PATH": os.pathsep.join([*reversed(job.path), job.env.get("PATH", os.environ["PATH"])]),
               "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(job.summary), "GITHUB_PATH": str(path_file),
               "GITHUB_EVENT_PATH": str(job.event_path), "RUNNER_TEMP": str(job.root / "runner_temp"),
               "GITHUB_ACTIONS": "true", "CI": os.environ.get("CI", "")}
    if action_path is not None:
        environ["GITHUB_ACTION_PATH"] = str(action_path)
    (job.root / "runner_temp").mkdir(exist_ok=True)
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)], cwd=cwd,
                          env=environ, capture_output=True, text=True, timeout=timeout, check=False)
    job.path += [line for line in path_file.read_text(encoding="utf-8").splitlines() if line]
    return proc, read_outputs(output)


@dataclass
class ActionRun:
    """What running the action did: each step's process, the action's outputs, the job summary."""

    processes: dict[str, subprocess.CompletedProcess[str]]
    outputs: dict[str, str]
    failed: str | None  # the id of the step that failed, if one did
    steps: dict[str, dict[str, str]]  # each step's outputs

    @property
    def stdout(self) -> str:
        return "".join(p.stdout for p in self.processes.values())


def run_action(action_dir: Path, job: Job, with_: Mapping[str, str], *, cwd: Path,
               skip: Mapping[str, dict[str, str]] | None = None) -> ActionRun:
    """Run the composite action in ``action_dir``/action.yml as a step with ``with_``; steps whose id is in ``skip``
    are not run and take the outputs given there (the install step, run once per test module)."""
    action = yaml.safe_load((action_dir / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(with_) - set(inputs)
    assert not unknown, f"inputs the action does not declare: {unknown}"
    inputs.update({k: str(v) for k, v in with_.items()})
    steps: dict[str, dict[str, dict[str, str]]] = {}
    processes: dict[str, subprocess.CompletedProcess[str]] = {}
    failed = None
    for number, step in enumerate(action["runs"]["steps"]):
        assert "uses" not in step, "the action uses no other action"
        assert step["shell"] == "bash"
        step_id = step.get("id", f"step{number}")
        context = {"inputs": inputs, "steps": steps, "github": {**job.github, "action_path": str(action_dir)}}
        if skip and step_id in skip:
            steps[step_id] = {"outputs": skip[step_id]}
            continue
        env = {k: evaluate(v, context) for k, v in step.get("env", {}).items()}
        workdir = cwd / evaluate(step.get("working-directory", "."), context)
        proc, outputs = run_script(job, evaluate(step["run"], context), env=env, cwd=workdir, action_path=action_dir)
        processes[step_id] = proc
        steps[step_id] = {"outputs": outputs}
        if proc.returncode != 0:
            failed = step_id
            break
    context = {"inputs": inputs, "steps": steps}
    # a step that did not run or did not write an output gives an empty string, as on GitHub
    declared = {name: evaluate(spec["value"], context, missing="") for name, spec in action["outputs"].items()}
    return ActionRun(processes, declared, failed, {k: v["outputs"] for k, v in steps.items()})
