"""``deploywatch record SERVICE COMMIT``: add a deploy done elsewhere (CI, Argo CD, by hand) to the ledger."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..core.render import emit_json, emit_text, short
from ..core.text import plural, printable

__all__ = ["run"]


def run(service: str, commit: str, *, config_path: Path | None, status: str, url: str | None, by: str | None,
        reason: str | None, output_format: str | None, now: datetime) -> int:
    """Record the entry; exit 0, or 3 for an unknown service or commit."""
    from ..checks.runner import open_store
    from ..deploy.ledger import deployments_document, record_deployment
    from ..drift.workspace import open_workspace

    workspace = open_workspace(config_path)
    with open_store(workspace.loaded) as store:
        entry = record_deployment(workspace.loaded, store, workspace.repo, service, commit, now=now, status=status,
                                  url=url, by=by, reason=reason)
    if (output_format or "table") == "json":
        emit_json(deployments_document([entry]))
        return 0
    since = (f"{plural(len(entry.relevant_commits), 'relevant commit')} since {short(entry.from_commit)}"
             if entry.from_commit else "the service's first entry")
    emit_text(printable(f"recorded deployment {entry.id}: {service} {short(entry.to_commit)} {entry.status} "
                        f"by {entry.by} ({since})"))
    return 0
