"""One thing is singular: "1 service", "1 changed file" (issue 10, 3.9)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploywatch.cli import main
from testing.gitrepo import GitRepo, write_config, write_deployed

NOW = "2026-10-01T00:00:00Z"
SRC = Path(__file__).resolve().parents[2] / "src" / "deploywatch"


@pytest.fixture
def one_service(tmp_path: Path) -> Path:
    repo = GitRepo(tmp_path / "repo")
    base = repo.commit("base", {"worker/w.py": "1"})
    repo.commit("worker: one change", {"worker/w.py": "2"})
    write_deployed(tmp_path, "worker", base)
    service = '[services.worker]\npaths = ["worker/**"]\ndeployed = { file = "deployed/worker.sha" }\n'
    return write_config(tmp_path, '[repo]\npath = "repo"\n' + service)


def test_drift_of_one_service(one_service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["drift", "--config", str(one_service), "--now", NOW, "--no-alerts"])
    out = capsys.readouterr().out
    assert "1 service: " in out
    assert "1 services" not in out
    assert "1 relevant commit behind" in out


def test_affected_by_one_changed_file(one_service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["affected", "--config", str(one_service), "--files", "worker/w.py", "--format", "table"]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 service affected by 1 changed file" in " ".join(out.split())  # the title may wrap


def test_check_of_one_healthy_service(one_service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_deployed(one_service.parent, "worker", GitRepo(one_service.parent / "repo").head())
    main(["check", "--config", str(one_service), "--now", NOW, "--no-alerts"])
    out = capsys.readouterr().out
    assert " 1 service runs what matters on main" in out
    assert "1 services" not in out


def test_no_hand_written_plurals_in_the_source() -> None:
    """Plurals go through :func:`deploywatch.core.text.plural`; a conditional ``s`` beside it is how "1 files"
    creeps back in."""
    pattern = re.compile(r"""['"]s['"] if |else ['"]s['"]|\{['"]{2} if [^}]*else ['"]s['"]\}""")
    found = [f"{path.relative_to(SRC)}:{n}" for path in sorted(SRC.rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert found == []
