"""``deploywatch drift``: drift of every service, as a table, Markdown or ``deploywatch.drift/v1`` JSON."""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.ci import CiCase
from ..core.durations import format_age
from ..core.redact import mask
from ..core.render import (
    console,
    emit_report,
    markdown_table,
    markdown_text,
    short,
    status_counts,
    status_style,
    styled,
    table,
)
from ..core.text import plural
from ..drift import DEFAULT_MAX_COMMITS, DriftReport, ServiceDrift, record_drift
from ..drift.skew import find_skew
from ..drift.workspace import open_workspace
from ..notify.model import AlertMode

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..drift.prefetch import Prefetch
    from ..store import Store
from .skew import describe as describe_skew

__all__ = ["ci_cases", "render_markdown", "render_table", "run"]

SHOWN_COMMITS = 3  # relevant commits a table or Markdown lists per service without --max-commits


def run(services: Sequence[str], *, config_path: Path | None, output_format: str | None, now: datetime,
        max_commits: int | None, prefetch: Prefetch | None = None, alert_mode: AlertMode | None = None) -> int:
    """Measure drift, store the run, notify, and print it; the exit code is the worst service status.
    ``max_commits``: relevant commits listed per service (None: 3 in a table or Markdown, 20 in JSON)."""
    started_at = datetime.now(UTC)
    opening: Future[Store] | None = None
    try:
        workspace = open_workspace(config_path)
        # The store opens (connecting, migrations) while git works.
        opening = _open_store_in_background(workspace.loaded) if store_in_use(workspace.loaded) else None
        report = workspace.drift(services, now=now, prefetch=prefetch,
                                 max_commits=DEFAULT_MAX_COMMITS if max_commits is None else max_commits)
    except BaseException:
        if prefetch is not None:
            prefetch.cancel()
        if opening is not None:
            opening.add_done_callback(_close_opened)  # nothing will be recorded in it
        raise
    if opening is not None:
        store = opening.result()
        try:
            record_drift(store, report, workspace.loaded.config.alerts, alert_mode or AlertMode(),
                   started_at=started_at, now=now)
        finally:
            store.close()
    shown = SHOWN_COMMITS if max_commits is None else max_commits
    emit_report(output_format, report, as_json=DriftReport.to_json,
                markdown=functools.partial(render_markdown, shown=shown),
                text=functools.partial(render_table, shown=shown),
                ci=functools.partial(ci_cases, config=workspace.loaded), now=now)
    return report.status.exit_code


def ci_cases(report: DriftReport, *, config: LoadedConfig | None = None) -> tuple[str, list[CiCase]]:
    """One case per service for ``--format junit``/``github``: its status, reason and what to deploy; annotations
    point at the service's table in the config file when that is inside the repository."""
    from ..config.file import find_line

    config_file = _repo_relative(config) if config is not None else None
    cases = []
    for s in report.services:
        detail = [s.composition, *(f"{short(c.sha)} {c.subject}" for c in s.commits)]
        if s.deploy and s.status.value in ("warning", "critical"):
            detail.append(f"deploy: {s.deploy}")
        cases.append(CiCase("drift", s.name, s.status, f"{s.name}: {s.reason}", "\n".join(d for d in detail if d),
                            file=config_file, line=find_line(config.text or "", ("services", s.name))
                            if config is not None and config_file else None))
    return "deploywatch drift", cases


def _repo_relative(loaded: LoadedConfig) -> str | None:
    """The config file relative to the repository (where an annotation points), when it is inside it."""
    try:
        return loaded.path.resolve().relative_to(loaded.repo_path.resolve()).as_posix()
    except ValueError:
        return None


def store_in_use(loaded: LoadedConfig) -> bool:
    """Whether a drift run is recorded: when alert sinks are configured (routing needs the store), when
    ``[store] url`` is set, or when the default store exists already (canary, check or serve made it). A plain
    ``deploywatch drift`` in a fresh checkout (a CI job, say) leaves no files behind."""
    from ..store.urls import default_store_url, sqlite_path

    config = loaded.config
    if config.alerts.configured or config.store.url:
        return True
    default = sqlite_path(default_store_url(loaded.base_dir))
    return default is not None and default.exists()


def _open_store_in_background(loaded: LoadedConfig) -> Future[Store]:
    from ..checks.runner import open_store, store_url
    from ..core.lazy import import_now
    from ..store.dialect import import_driver

    # Imported here, not first in the thread while this one imports what the sources need (httpx):
    # concurrent first imports of the packages both use fail (see import_now). git runs meanwhile.
    import_now(["deploywatch.store.database", "deploywatch.notify.dispatch"])
    import_driver(store_url(loaded))
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deploywatch-store")
    future = pool.submit(open_store, loaded)
    pool.shutdown(wait=False)
    return future


def _close_opened(opening: Future[Store]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()


def _behind_cell(s: ServiceDrift) -> str:
    if s.commits_behind is None:
        return "-"
    text = f"{s.relevant_commits_behind}/{s.commits_behind}"
    return text + (f" (+{s.commits_ahead} ahead)" if s.commits_ahead else "")


def _subjects(s: ServiceDrift, shown: int) -> str:
    subjects = [c.subject for c in s.commits[:shown]]
    more = (s.relevant_commits_behind or 0) - len(subjects)
    if more > 0:
        subjects.append(f"…and {more} more")
    return "\n".join(subjects) if subjects else ("-" if s.reported is not None else "")


def render_table(report: DriftReport, *, shown: int = SHOWN_COMMITS) -> None:
    """Print the drift table (the newest ``shown`` relevant commits of each service) and, for every service
    that is not ok, what it is and what to do."""
    out = console()
    columns = [("SERVICE", "left"), ("DEPLOYED", "left"), ("STATE", "left"), ("RELEVANT/BEHIND", "right"),
               ("AGE", "right"), ("STATUS", "left"), ("NEWEST RELEVANT COMMITS", "left")]
    rows = [[s.name, short(s.deployed_commit or s.reported), s.state.value, _behind_cell(s),
             format_age(s.drift_age_seconds), styled(s.status.value, status_style(s.status)), _subjects(s, shown)]
            for s in report.services]
    out.print(table(columns, rows, title=f"Drift against {report.branch} @ {short(report.tip)}"))
    for s in report.services:
        if s.commits_behind or s.commits_ahead or s.status.value != "ok":
            line = f"  {s.name}: " + (f"{s.composition} · " if s.composition else "") + s.reason
            if s.deployed_commit is None:
                line += f" (deployed source: {s.source})"
            out.print(styled(line, status_style(s.status) if s.status.value != "ok" else ""), soft_wrap=True)
            if s.status.value in ("warning", "critical") and s.deploy:
                out.print(styled(mask(f"      deploy: {s.deploy}"), "dim"))
    skewed = [g for g in find_skew(report) if g.pairs]
    for group in skewed:
        out.print(styled(f"  skew in group {group.name}:", "yellow"))
        out.print(textwrap.indent(describe_skew(group, markdown=False, header=False), "  "), markup=False)
    out.print(f"{plural(len(report.services), 'service')}: {status_counts([s.status for s in report.services])} "
              f"→ {report.status.value} (exit {report.status.exit_code})")


def render_markdown(report: DriftReport, *, shown: int = SHOWN_COMMITS) -> str:
    """The drift report as GitHub-flavoured Markdown, listing the newest ``shown`` relevant commits."""
    headers = ["Service", "Deployed", "State", "Relevant / behind", "Age", "Status", "Newest relevant commits"]
    rows = [[s.name, f"`{short(s.deployed_commit or s.reported)}`", s.state.value, _behind_cell(s),
             format_age(s.drift_age_seconds), f"**{s.status.value}**" if s.status.value != "ok" else "ok",
             "<br>".join(markdown_text(line) for line in _subjects(s, shown).splitlines())] for s in report.services]
    lines = [f"### Drift against `{report.branch}` @ `{short(report.tip)}`: **{report.status.value}**", "",
             markdown_table(headers, rows), ""]
    for s in report.services:
        if s.commits_behind or s.commits_ahead or s.status.value != "ok":
            note = (f"{s.composition}; " if s.composition else "") + s.reason
            lines.append(f"- **{s.name}**: {markdown_text(note)}")
            if s.deploy and s.status.value in ("warning", "critical"):
                lines.append(mask(f"  - deploy: `{s.deploy}`"))
    for group in find_skew(report):
        if group.pairs:
            lines += ["", f"**Skew in group {group.name}**", "", describe_skew(group, markdown=True, header=False)]
    return "\n".join(lines)
