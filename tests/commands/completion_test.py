"""``deploywatch completion SHELL``: the printed script, sourced in the real shell, completes deploywatch.

Each test runs the installed ``deploywatch`` console script from a real bash, zsh or fish, so the whole round
trip is real: the script the command prints, the shell's registration, and the ``_DEPLOYWATCH_COMPLETE``
protocol the script speaks to deploywatch (``COMP_WORDS``/``COMP_CWORD``). bash is always present; zsh and fish
tests skip only where that shell is not installed, and never in CI (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deploywatch.cli import main

BIN = Path(sys.executable).parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def shell(argv: list[str], tmp_path: Path) -> str:
    """Run a shell command line with the venv's ``deploywatch`` first on PATH and no user start-up files."""
    assert (BIN / "deploywatch").exists(), "the deploywatch console script is not installed"
    env = {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(tmp_path),
           "LANG": "C.UTF-8", "TERM": "dumb", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_completion_bash_registers_in_a_real_bash(tmp_path: Path) -> None:
    script = "source <(deploywatch completion bash); complete -p deploywatch"
    out = shell(["bash", "--norc", "--noprofile", "-c", script], tmp_path)
    assert out.strip() == "complete -o nosort -F _deploywatch_completion deploywatch"


BASH_COMPLETE = """\
source <(deploywatch completion bash)
complete_words() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()
    # as bash calls a -F function: the command, the word being completed, the word before it
    _deploywatch_completion "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\\n' "${COMPREPLY[@]}"
    echo --
}
complete_words deploywatch dr
complete_words deploywatch ph
complete_words deploywatch completion ''
complete_words deploywatch affected --for
"""


def test_bash_completes_commands_and_shells(tmp_path: Path) -> None:
    out = shell(["bash", "--norc", "--noprofile", "-c", BASH_COMPLETE], tmp_path)
    drift, phases, shells, option, _ = out.split("--\n")
    assert drift.split() == ["drift"]
    assert phases.split() == ["phases"]
    assert shells.split() == ["bash", "zsh", "fish"]
    assert option.split() == ["--format"]


ZSH_COMPLETE = """\
autoload -U compinit && compinit -u -D
source <(deploywatch completion zsh)
print -r -- "registered: $_comps[deploywatch]"
# Outside a completion widget zsh refuses compadd/_describe: stand in for them to print what would be offered.
_describe() { print -rl -- ${(P)3}; }
compadd() { print -rl -- ${(P)${@[-1]}}; }
words=(deploywatch dr); CURRENT=2; _deploywatch_completion; print -- --
words=(deploywatch completion ''); CURRENT=3; _deploywatch_completion; print -- --
"""


@pytest.mark.skipif(shutil.which("zsh") is None and not IN_CI, reason="zsh is not installed")
def test_completion_zsh_registers_and_completes_in_a_real_zsh(tmp_path: Path) -> None:
    out = shell(["zsh", "-f", "-c", ZSH_COMPLETE], tmp_path)
    registered, rest = out.split("\n", 1)
    assert registered == "registered: _deploywatch_completion"
    drift, shells, _ = rest.split("--\n")
    assert [line.split(":")[0] for line in drift.splitlines()] == ["drift"]
    assert "How far each service" in drift  # the command's help, shown by zsh beside it
    assert sorted(shells.split()) == ["bash", "fish", "zsh"]


@pytest.mark.skipif(shutil.which("fish") is None and not IN_CI, reason="fish is not installed")
def test_completion_fish_completes_in_a_real_fish(tmp_path: Path) -> None:
    script = ("deploywatch completion fish | source; complete -C 'deploywatch dr'; echo ==; "
              "complete -C 'deploywatch completion '")
    out = shell(["fish", "--no-config", "-c", script], tmp_path)
    drift, shells = out.split("==\n")
    assert [line.split("\t")[0] for line in drift.splitlines()] == ["drift"]
    assert sorted(line.split("\t")[0] for line in shells.splitlines()) == ["bash", "fish", "zsh"]


def test_completion_of_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "tcsh"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tcsh" in err and "bash" in err
    assert main(["completion"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SHELL" in err and "bash, zsh or fish" in err
