"""The command group: entry points, public API, error handling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

import deploywatch
from deploywatch.cli import cli, main


def test_python_m_deploywatch_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "deploywatch", "--help"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0
    for command in ("drift", "contains", "affected", "skew", "config", "demo"):
        assert command in proc.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert deploywatch.__version__ in capsys.readouterr().out


def test_all_is_sorted_and_complete() -> None:
    assert list(deploywatch.__all__) == sorted(deploywatch.__all__)
    assert set(deploywatch.__all__) == set(deploywatch._LAZY)  # every lazily exported name is public
    for name in deploywatch.__all__:
        assert getattr(deploywatch, name) is not None
    with pytest.raises(AttributeError):
        _ = deploywatch.no_such_name


# The public API as of issue 11's restructure: a name may be added, never removed (modules moved, names did not).
PUBLIC_API = {
    "CanaryReport", "CheckResult", "Config", "ConfigError", "DeploywatchError", "DriftReport", "Finding", "GateResult",
    "GitError", "Glob", "GlobError", "GroupSkew", "LoadedConfig", "Reading", "RelevantCommit", "Repo", "ServiceDrift",
    "ServicePaths", "ServiceSpec", "Source", "State", "Status", "UsageError", "Workspace", "compile_glob",
    "find_config", "find_skew", "load_config", "measure_drift", "open_workspace", "read_all", "run_canary",
    "run_gate", "worst",
}  # fmt: skip


def test_the_public_api_only_grows() -> None:
    assert PUBLIC_API - set(deploywatch.__all__) == set()


def test_the_public_load_config_validates_data_checks(tmp_path: Path) -> None:
    """``deploywatch.load_config`` names a data check whose metric cannot compile (the config package's own
    loader cannot: it sits below the checks domain)."""
    from deploywatch.config import load_config as load_structure

    path = tmp_path / "deploywatch.toml"
    path.write_text('[[checks]]\nname = "rows"\ntable = "orders"\nmetric = "no_such_metric(id)"\n', encoding="utf-8")

    assert load_structure(path).config.checks[0].name == "rows"
    with pytest.raises(deploywatch.ConfigError) as caught:
        deploywatch.load_config(path)
    assert "checks[0].metric" in str(caught.value)
    assert ":4" in str(caught.value)


def test_help_does_not_import_heavy_modules() -> None:
    code = "import sys; from deploywatch.cli import main; main(['--help']); print(sorted(sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = proc.stdout
    for heavy in ("'pydantic'", "'rich'", "'httpx'"):
        assert heavy not in loaded


def test_usage_errors_exit_3_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift", "--now", "yesterday-ish"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "invalid timestamp" in err
    assert main(["no-such-command"]) == 3
    assert main(["drift", "--format", "xml"]) == 3


def test_missing_config_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["drift"]) == 3
    err = capsys.readouterr().err
    assert "no deploywatch.toml found" in err
    assert "Traceback" not in err


def test_every_command_has_help_text() -> None:
    for name, command in cli.commands.items():
        assert command.help, name


def _leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        found += _leaf_commands(command, path) if isinstance(command, click.Group) else [path]
    return found


@pytest.mark.parametrize("words", _leaf_commands(cli), ids=" ".join)
def test_every_command_line_mistake_is_one_line(words: tuple[str, ...], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no config here: a command that parsed its arguments stops at that, in one line
    for mistake in ([], ["--no-such-option"], ["--format"]) if words != ("demo",) else (["--no-such-option"],):
        assert main([*words, *mistake]) == 3, mistake
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("deploywatch: "), (mistake, err)
