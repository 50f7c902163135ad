"""Documentation is tested: every option and config key is documented, and embedded output is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from pydantic import BaseModel

from deploywatch import config
from deploywatch.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found += _commands(command, full + " ")
        else:
            found.append((full, command))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(cli))
def test_every_option_is_documented(name: str, command: click.Command) -> None:
    page = DOCS / "commands" / f"{name.replace(' ', '-')}.md"
    assert page.exists(), f"no page for deploywatch {name}"
    text = page.read_text(encoding="utf-8")
    for param in command.params:
        if isinstance(param, click.Option):
            assert any(opt in text for opt in param.opts), f"{name}: {param.opts[0]} is not documented"
        else:
            assert param.human_readable_name.upper().rstrip("S") in text.upper(), f"{name}: {param.name}"


def _keys(model: type[BaseModel]) -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        keys.add(field.alias or name)
        for arg in _model_args(field.annotation):
            keys |= _keys(arg)
    return keys


def _model_args(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _model_args(arg)]


def test_every_config_key_is_documented() -> None:
    text = (DOCS / "config.md").read_text(encoding="utf-8")
    missing = sorted(k for k in _keys(config.Config)
                     if f"`{k}`" not in text and f"{k} =" not in text and f"[{k}" not in text)
    assert missing == []


def test_every_embedded_command_runs_at_a_fixed_now() -> None:
    """docs/generate.py adds ``--now`` to every command it embeds (the demo is built at the same instant), so
    each embedded command must take ``--now``: otherwise its output would be an error, or the wall clock's."""
    import re
    import shlex

    blocks = re.compile(r"<!-- run: (?P<cmd>[^>]+?) -->")
    commands = [m.group("cmd") for path in [ROOT / "README.md", *DOCS.rglob("*.md")]
                for m in blocks.finditer(path.read_text(encoding="utf-8"))]
    assert commands
    for command in commands:
        args = shlex.split(command)[1:]
        found: click.Command = cli
        while isinstance(found, click.Group):
            found = found.commands[args.pop(0)]
        assert any("--now" in p.opts for p in found.params if isinstance(p, click.Option)), command


def test_embedded_output_is_current() -> None:
    proc = subprocess.run([sys.executable, str(DOCS / "generate.py"), "--check"], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_architecture_names_every_module() -> None:
    """docs/architecture.md is the living map: a module missing from it fails here."""
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    package = ROOT / "src" / "deploywatch"
    missing = []
    for module in sorted(package.rglob("*.py")):
        relative = module.relative_to(package).as_posix()
        listed_by_name = module.parent.name in ("commands", "demo") and f"`{module.stem}`" in text
        if f"`{relative}`" not in text and not listed_by_name:
            missing.append(relative)
    assert missing == []
