"""``deploywatch deployments [SERVICE…]``: the deploy ledger, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..core.durations import format_age, format_timestamp, parse_duration
from ..core.errors import UsageError
from ..core.render import console, emit_json, emit_text, markdown_table, short, table
from ..core.text import printable

__all__ = ["run"]

_HEADERS = ["ID", "SERVICE", "FROM", "TO", "STATUS", "HOW", "BY", "STARTED", "DURATION", "COMMITS", "REASON"]


def run(services: Sequence[str], *, config_path: Path | None, since: str, limit: int, output_format: str | None,
        now: datetime) -> int:
    """Print the ledger entries started within ``since`` (of ``services``); exit 0, or 3 for a bad argument."""
    from ..checks.runner import open_store
    from ..config import DRIFT_SECTIONS, load_config
    from ..deploy.ledger import deployment_json, deployments_document, lock_json

    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    loaded = load_config(config_path, sections=DRIFT_SECTIONS)
    known = list(loaded.config.services)
    unknown = [s for s in services if s not in known]
    if unknown:
        raise UsageError(f"unknown service {unknown[0]!r}; configured: {', '.join(known) or 'none'}")
    wanted = list(dict.fromkeys(services))
    with open_store(loaded) as store:
        store.reap_deployments(datetime.now(UTC))  # a deploy whose process died shows as abandoned, not started
        entries = store.deployments(wanted, since=now - timedelta(seconds=window), limit=limit)
        locks = [lock for lock in store.deploy_locks(wanted) if lock.live(datetime.now(UTC))]
    fmt = output_format or "table"
    if fmt == "json":
        emit_json({**deployments_document(entries), "locks": [lock_json(lock) for lock in locks]})
        return 0
    rows = []
    for entry in entries:
        item = deployment_json(entry)
        duration = item["duration_seconds"]
        rows.append([str(entry.id), entry.service, short(entry.from_commit) if entry.from_commit else "-",
                     short(entry.to_commit), entry.status, entry.how, _one_line(entry.by), item["started_at"],
                     "-" if duration is None else format_age(duration), str(len(entry.relevant_commits)),
                     _one_line(" ".join(filter(None, [entry.step and f"{entry.step}:", entry.reason])))])
    if fmt == "markdown":
        emit_text(markdown_table([h.title() for h in _HEADERS], rows))
    elif not rows:
        console().print(f"no deployments in the last {since}")
    else:
        console().print(table([(h, "right" if h in ("ID", "DURATION", "COMMITS") else "left") for h in _HEADERS],
                              rows, title=f"Deployments, newest first (last {since})"))
    for lock in locks:
        (emit_text if fmt == "markdown" else console().print)(
            f"{lock.service} is locked by {_one_line(lock.holder)} since {format_timestamp(lock.acquired_at)}")
    return 0


def _one_line(text: str) -> str:
    """Outside text as one printable line of a cell (``-`` when empty)."""
    return printable(" ".join(text.split())) or "-"
