"""``deploywatch contains COMMIT``: is a commit (or a cherry-pick of it) deployed, and where?"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..core.durations import format_timestamp
from ..core.errors import UsageError
from ..core.render import console, emit_json, emit_text, markdown_table, short, styled, table
from ..drift.contains import ContainsResult, check_services
from ..drift.workspace import open_workspace

__all__ = ["run"]


def run(commit: str, *, config_path: Path | None, output_format: str | None, now: datetime) -> int:
    """Check every service; exit 0 when all known contain it, 1 when some do not, 3 when any is unknown."""
    workspace = open_workspace(config_path)
    repo = workspace.repo
    workspace.fetch()
    target = repo.resolve(commit)
    if target is None:
        raise UsageError(f"{commit!r} does not name a commit in {repo.path}; run git fetch, or check the SHA")
    described = repo.describe([target])[target]
    results = check_services(workspace, target, is_merge=len(described.parents) > 1)
    document = {"schema": "deploywatch.contains/v1", "generated_at": format_timestamp(now), "commit": target,
                "subject": described.subject, "services": [r.to_json() for r in results]}
    if output_format == "json":
        emit_json(document)
    else:
        _render(target, described.subject, results, markdown=output_format == "markdown")
    if any(r.contains is None for r in results):
        return 3
    return 1 if any(r.contains is False for r in results) else 0


def _render(target: str, subject: str, results: list[ContainsResult], *, markdown: bool) -> None:
    rows = [[r.name, short(r.deployed_commit), _word(r.contains), r.via or "-", "yes" if r.relevant else "no",
             r.reason] for r in results]
    if markdown:
        emit_text(f"### Is `{short(target)}` {subject} deployed?\n")
        emit_text(markdown_table(["Service", "Deployed", "Contains", "Via", "Touches its paths", "Reason"],
                                 [[row[0], f"`{row[1]}`", *row[2:]] for row in rows]))
        return
    for row, result in zip(rows, results, strict=True):
        row[2] = styled(row[2], _style(result.contains))
    console().print(table([("SERVICE", "left"), ("DEPLOYED", "left"), ("CONTAINS", "left"), ("VIA", "left"),
                           ("TOUCHES PATHS", "left"), ("REASON", "left")], rows, title=f"{short(target)} {subject}"))


def _word(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def _style(value: bool | None) -> str:
    return {True: "green", False: "yellow", None: "magenta"}[value]
