"""``deploywatch skew``: services in a group whose deployed commits differ in code they share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ..core.durations import format_timestamp
from ..core.errors import UsageError
from ..core.render import console, emit_json, emit_text, markdown_text, short, status_style, styled
from ..core.status import Status, worst
from ..core.text import plural
from ..drift.skew import GroupSkew, find_skew
from ..drift.workspace import open_workspace

__all__ = ["describe", "run"]

_LISTED = 5


def run(groups: Sequence[str], *, config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Print skew per group; exit 0 none, 1 skew, 3 a member's deployed commit is unknown."""
    workspace = open_workspace(config_path)
    configured = {s.group for s in workspace.loaded.config.services.values() if s.group}
    unknown = [g for g in groups if g not in configured]
    if unknown:
        raise UsageError(f"unknown group {unknown[0]!r}; configured: {', '.join(sorted(configured)) or 'none'}")
    members = [n for n, s in workspace.loaded.config.services.items()
               if s.group and (not groups or s.group in groups)]
    # Without two services in a group there is nothing to compare (and no source to ask).
    result = find_skew(workspace.drift(members, now=now, max_commits=0), groups) if len(members) > 1 else []
    status = worst((g.status for g in result), empty=Status.OK)
    if output_format == "json":
        emit_json({"schema": "deploywatch.skew/v1", "generated_at": format_timestamp(now),
                   "status": str(status), "groups": [g.to_json() for g in result]})
    elif output_format == "markdown":
        emit_text("\n\n".join(describe(g, markdown=True) for g in result) or "No group has two or more services.")
    else:
        out = console()
        for group in result:
            out.print(styled(f"{group.name}: {group.status}", status_style(group.status)))
            out.print(describe(group, markdown=False, header=False), markup=False)
        if not result:
            out.print("No group has two or more services.")
    return status.exit_code


def describe(group: GroupSkew, *, markdown: bool, header: bool = True) -> str:
    """Plain sentences: which service runs which shared commits another does not; in Markdown, a list (and a
    heading) so that each sentence stays a line of its own."""
    tick, item, text = ("`", "- ", markdown_text) if markdown else ("", "  ", str)
    lines = [f"### {group.name}: {group.status}" if markdown else f"{group.name}: {group.status}"] if header else []
    if header and markdown:
        lines.append("")
    runs = ", ".join(f"{n} @ {tick}{short(c)}{tick}" for n, c in group.services)
    lines.append(f"{item}runs: {runs}")
    for name in group.unknown:
        lines.append(f"{item}{name}: deployed commit unknown, cannot compare")
    if not group.pairs and not group.unknown:
        lines.append(f"{item}no differences in shared code")
    for pair in group.pairs:
        lines.append(f"{item}{pair.service} runs {plural(len(pair.commits), 'shared-code commit')} "
                     f"not yet in {pair.missing_in}:")
        for commit in pair.commits[:_LISTED]:
            lines.append(f"  {item}{tick}{short(commit.sha)}{tick} {text(commit.subject)} "
                         f"({text(', '.join(commit.files[:3]))})")
        if len(pair.commits) > _LISTED:
            lines.append(f"  {item}…and {len(pair.commits) - _LISTED} more")
    return "\n".join(lines)
