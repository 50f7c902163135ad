"""Packaging: the version is written once; ``python -m build`` makes an sdist and a wheel (the wheel built from the
sdist) that ``twine check`` accepts and that install and run in a clean virtual environment; the Docker image runs
``deploywatch drift`` on a mounted repository when docker can run here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from deploywatch.core.version import __version__, describe
from testing.gitrepo import env_without_git

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_written_in_one_place() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/deploywatch/core/version.py"
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_version_from_a_checkout_names_its_git_describe() -> None:
    if not (ROOT / ".git").exists():
        assert describe() == __version__  # not a checkout: the version alone
        return
    oracle = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--tags"],
                            capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    assert describe() == f"{__version__} (git {oracle})"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out


def test_build_makes_an_sdist_and_a_wheel_that_twine_accepts(dist: Path) -> None:
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    assert [p.name for p in sdists] == [f"deploywatch-{__version__}.tar.gz"]
    assert [p.name for p in wheels] == [f"deploywatch-{__version__}-py3-none-any.whl"]
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, sdists + wheels)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
    for data in ("deploywatch/web/templates/overview.html", "deploywatch/report/templates/report.html",
                 "deploywatch/py.typed"):
        assert data in names, data
    assert any(n.startswith("deploywatch/web/static/uPlot") for n in names)
    with tarfile.open(sdists[0]) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {"pyproject.toml", "README.md", "LICENSE", "src/deploywatch/cli.py"} <= members
    assert not any(m.startswith(("tests/", "benchmarks/", ".venv/")) for m in members)


def test_the_wheel_installs_and_runs_in_a_clean_venv(dist: Path, tmp_path: Path) -> None:
    home = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    python = home / "bin" / "python"
    wheel = next(dist.glob("*.whl"))
    proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], capture_output=True,
                          text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    env = {**env_without_git(), "PATH": f"{home / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    version = subprocess.run([str(home / "bin" / "deploywatch"), "--version"], capture_output=True, text=True,
                             timeout=60, env=env, cwd=tmp_path, check=True)
    assert version.stdout.strip() == f"deploywatch {__version__}"  # installed, not a checkout: no git describe
    demo = subprocess.run([str(home / "bin" / "deploywatch"), "demo", str(tmp_path / "demo")], capture_output=True,
                          text=True, timeout=600, env=env, cwd=tmp_path, check=False)
    assert demo.returncode in (0, 1, 2), demo.stderr[-3000:]
    assert "deploywatch serve" in demo.stdout  # it ends by printing how to open the dashboard
    page = subprocess.run([str(home / "bin" / "deploywatch"), "report", "--format", "html", "--since", "7d"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path / "demo", check=False)
    assert page.returncode == 0 and page.stdout.startswith("<!DOCTYPE html>"), page.stderr[-2000:]


def _docker_usable() -> str | None:
    if shutil.which("docker") is None:
        return "docker is not installed"
    proc = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    return None if proc.returncode == 0 else "the docker daemon cannot run here: " + (proc.stderr.strip().splitlines()
                                                                                       or ["no answer"])[-1]


def test_the_image_runs_drift_on_a_mounted_repository(tmp_path: Path) -> None:
    reason = _docker_usable()
    if reason is not None:
        pytest.skip(reason)
    tag = f"deploywatch-test:{__version__}"
    built = subprocess.run(["docker", "build", "-t", tag, str(ROOT)], capture_output=True, text=True, timeout=1800,
                           check=False)
    assert built.returncode == 0, built.stderr[-3000:]
    repo = tmp_path / "repo"
    subprocess.run([sys.executable, "-m", "deploywatch", "demo", str(repo)], capture_output=True, timeout=600,
                   env=env_without_git(), check=True)
    run = subprocess.run(["docker", "run", "--rm", "-v", f"{repo}:/workspace/repo", "-e", "DEPLOYWATCH_REPO_URL=",
                          "--user", f"{os.getuid()}:{os.getgid()}", tag, "drift", "--config",
                          "/workspace/repo/deploywatch.toml", "--format", "json", "--no-alerts"],
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode in (0, 1, 2), run.stderr[-3000:]
    assert '"schema": "deploywatch.drift/v1"' in run.stdout
