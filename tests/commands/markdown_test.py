"""Every ``--format markdown`` is valid GitHub-flavoured Markdown, checked by rendering it (issue 10, 3.8).

The demo workspace (plus a service whose deployed source reads nothing) is rendered by every command that
has a Markdown format; markdown-it-py parses the result with GFM tables. Lines meant as separate lines are
never soft breaks inside one paragraph, every table row has the header's number of cells and none is empty,
and notes are separate list items.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from deploywatch.cli import cli
from testing.gitrepo import env_without_git

NOW = "2026-11-23T09:00:00Z"
COMMANDS = {
    "drift": ["drift", "--no-alerts"],
    "contains": ["contains", ":/^fix.worker.: skip players"],
    "affected": ["affected", "--base", "main~6", "--head", "main"],
    "skew": ["skew"],
    "canary": ["canary", "--no-alerts"],
    "gate": ["gate", "phase3_to_phase4", "--no-alerts"],
    "check": ["check", "--no-alerts"],
    "history": ["history", "phase4.vegas_line_coverage.yesterday"],
    "phases": ["phases"],
    "preflight": ["preflight", "prediction-worker"],
    "deployments": ["deployments"],
    "report": ["report", "--since", "30d"],
    "deploy": ["deploy", "scrapers", "--dry-run"],
    "rollback": ["rollback", "prediction-coordinator", "--to", "main", "--reason", "drill | twice\nor | more"],
    "remediate": ["remediate"],
}
# These print the deploy report (commands/deploy.py emit_deploy_report), whose Markdown `deploy` and `rollback`
# check; they need a rollout under way, which the demo does not have.
SAME_AS_DEPLOY = {"rollout resume", "rollout abort", "rollout promote"}
_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("markdown") / "demo"
    subprocess.run([sys.executable, "-m", "deploywatch", "demo", str(directory), "--now", NOW], capture_output=True,
                   timeout=300, check=True, env=env_without_git())
    with (directory / "deploywatch.toml").open("a", encoding="utf-8") as config:
        config.write('\n[services.lost-service]\npaths = ["lost/**"]\ndeployed = { file = "deployed/lost.sha" }\n')
    for record in (["prediction-worker", "main~5"], ["prediction-worker", "main", "--status", "failed", "--reason",
                                                     "verify | timed out\nafter 10m"]):
        subprocess.run([sys.executable, "-m", "deploywatch", "record", *record, "--now", NOW], cwd=directory,
                       capture_output=True, timeout=120, env=env_without_git(), check=True)
    return directory


def markdown(demo: Path, args: list[str]) -> str:
    proc = subprocess.run([sys.executable, "-m", "deploywatch", *args, "--format", "markdown", "--now", NOW],
                          cwd=demo, capture_output=True, text=True, timeout=120, env=env_without_git(), check=False)
    assert proc.returncode in (0, 1, 2, 3) and proc.stdout, proc.stderr
    return proc.stdout


def parse(text: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(text)


def _inline(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if t.type == "inline"]


def assert_valid(text: str) -> list[Token]:
    """The structural rules every Markdown output keeps; returns the tokens."""
    tokens = parse(text)
    lines = text.splitlines()
    soft = [t.content for t in _inline(tokens) if any(c.type == "softbreak" for c in t.children or [])]
    assert soft == [], "separate lines ran together into one paragraph"
    for index, token in enumerate(tokens):
        if token.type != "table_open":
            continue
        assert token.map is not None
        header = lines[token.map[0]]
        width = len(_CELL_SEPARATOR.split(header.strip().strip("|")))
        for line in lines[token.map[0]:token.map[1]]:
            assert len(_CELL_SEPARATOR.split(line.strip().strip("|"))) == width, line
        end = next(i for i in range(index, len(tokens)) if tokens[i].type == "table_close")
        cells = [t for t in tokens[index:end] if t.type == "inline"]
        assert [c.map for c in cells if not c.content.strip()] == [], "a table has empty cells"
    return tokens


def _markdown_commands(group: click.Group, prefix: str = "") -> set[str]:
    found = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _markdown_commands(command, f"{prefix}{name} ")
        for param in command.params:
            if isinstance(param, click.Option) and "--format" in param.opts and isinstance(param.type, click.Choice) \
                    and "markdown" in param.type.choices:
                found.add(prefix + name)
    return found


def test_every_command_with_a_markdown_format_is_checked() -> None:
    assert _markdown_commands(cli) == set(COMMANDS) | SAME_AS_DEPLOY


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_markdown_is_valid(demo: Path, name: str) -> None:
    text = markdown(demo, COMMANDS[name])
    tokens = assert_valid(text)
    assert any(t.type in ("table_open", "bullet_list_open", "heading_open") for t in tokens)


def _list_items(tokens: list[Token]) -> list[str]:
    """The text of every list item's first paragraph."""
    items = []
    for index, token in enumerate(tokens):
        if token.type == "list_item_open":
            items.append(next(t.content for t in tokens[index:] if t.type == "inline"))
    return items


def test_drift_notes_and_skew_lines_are_separate_list_items(demo: Path) -> None:
    items = _list_items(parse(markdown(demo, COMMANDS["drift"])))
    notes = [i for i in items if i.startswith("**")]
    assert {n.split("**")[1] for n in notes} == {"scrapers", "raw-processors", "analytics-processors", "precompute",
                                                 "prediction-worker", "grading", "lost-service"}
    deploys = [i for i in items if i.startswith("deploy")]
    assert len(deploys) == 4  # warning and critical services with a deploy command: a note of their own
    assert not any("Deploy" in n or "deploy:" in n for n in notes)
    assert any(i.startswith("runs: prediction-worker") for i in items)
    assert any(i.startswith("prediction-coordinator runs 1 shared-code commit") for i in items)
    assert any("shared: normalise player ids" in i for i in items)


def test_skew_groups_list_each_line(demo: Path) -> None:
    items = _list_items(parse(markdown(demo, COMMANDS["skew"])))
    assert sum(i.startswith("runs:") for i in items) == 2
    assert "no differences in shared code" in items


def test_an_unknown_service_shows_values_not_empty_cells(demo: Path) -> None:
    tokens = parse(markdown(demo, COMMANDS["drift"]))
    rows = [t.content for t in _inline(tokens)]
    at = rows.index("lost-service")
    assert all(cell.strip() for cell in rows[at:at + 7])
    assert "unknown" in rows[at:at + 7][2]


def test_text_from_commits_cannot_change_the_structure() -> None:
    from deploywatch.core.render import markdown_table, markdown_text

    rows = [[markdown_text("a | b <!-- hidden"), markdown_text("*me*")], ["", "x"]]
    text = markdown_table(["Subject", "Author"], rows)
    tokens = assert_valid(text)
    cells = [t.content for t in _inline(tokens)]
    assert cells[2:] == ["a | b &lt;!-- hidden", "\\*me\\*", "-", "x"]
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<!--" not in html and "<em>" not in html
