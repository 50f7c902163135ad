"""The click definition of ``init``, added to the group by ``cli.py``."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["COMMANDS", "init"]


@click.command()
@click.option("--detect", "detect_only", is_flag=True, help="Print what would be written and why; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.option("--repo", "repo_path", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="The repository to scan (its top directory is used).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write (default: deploywatch.toml at the top of the repository).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default=None,
              help="Output format (default: table); json is deploywatch.init/v1.")
def init(detect_only: bool, force: bool, repo_path: Path, config_path: Path | None, output_format: str | None) -> int:
    """Find the services of the repository (with the files that show each) and write a commented config."""
    from .commands import init as command

    return command.run(repo_path=repo_path, config_path=config_path, detect_only=detect_only, force=force,
                       output_format=output_format)


COMMANDS = (init,)
