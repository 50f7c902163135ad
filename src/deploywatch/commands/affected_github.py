"""``deploywatch affected --format github``: step outputs compatible with dorny/paths-filter, and a job summary.

An annotation is printed for each service whose deployed commit is unknown.

Outputs (appended to ``$GITHUB_OUTPUT``): ``changes`` (a JSON array of the affected services, for a matrix),
``any``, ``unknown`` (a JSON array), ``services`` (as ``changes``, kept for older workflows) and, per configured
service, ``<service>`` (``true``, ``false`` or ``unknown``), ``<service>_files``, ``<service>_count`` and
``<service>_commits`` (JSON arrays, newest commit first); ``all`` holds every one of them in one JSON object
(the action passes it on as ``fromJSON(steps.ID.outputs.all)``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.ci import CiCase, workflow_commands, write_summary
from ..core.errors import UsageError
from ..core.render import markdown_table, markdown_text, short
from ..core.status import Status
from ..core.text import plural

if TYPE_CHECKING:
    from .affected import Change

__all__ = ["RESERVED", "outputs", "summary", "write_github"]

RESERVED = ("changes", "any", "unknown", "services", "all")  # outputs about every service


def _check_names(names: Sequence[str]) -> None:
    """A service's own output must not overwrite one about every service (a service named ``any``)."""
    clash = [n for n in names if n in RESERVED or any(n == f"{other}{suffix}" for other in names
                                                      for suffix in ("_files", "_count", "_commits"))]
    if clash:
        raise UsageError(f"service {clash[0]!r}: --format github writes a step output of that name for something "
                         f"else ({', '.join(RESERVED)} and SERVICE_files/_count/_commits); rename the service")


def outputs(change: Change, names: Sequence[str]) -> dict[str, str]:
    """The step outputs, in the order they are written."""
    affected = {a.name: a for a in change.affected}
    unknown = {u.name for u in change.unknown}
    changes = [n for n in names if n in affected]
    result = {"changes": json.dumps(changes), "any": "true" if changes else "false",
              "unknown": json.dumps(sorted(unknown)), "services": json.dumps(changes)}
    for name in names:
        entry = affected.get(name)
        result[name] = "unknown" if name in unknown else "true" if entry else "false"
        result[f"{name}_files"] = json.dumps(entry.files if entry else [])
        result[f"{name}_count"] = str(len(entry.files) if entry else 0)
        result[f"{name}_commits"] = json.dumps(entry.commits if entry else [])
    # a composite action passes on only the outputs it declares: the per-service ones travel in `all`
    result["all"] = json.dumps({k: json.loads(v) if v.startswith("[") else v for k, v in result.items()})
    return result


def summary(change: Change, names: Sequence[str]) -> str:
    """The job summary: each affected service with its files and commits, then the unknown ones."""
    since = "its deployed commit" if change.revs.get("base") == "deployed" else f"`{short(change.revs.get('base'))}`"
    rows = [[a.name, "<br>".join(f"`{markdown_text(f)}`" for f in a.files), str(len(a.commits)),
             f"`{short(a.base)}`" if a.base else since] for a in change.affected]
    lines = [f"### Affected services: {len(change.affected)} of {len(names)}", ""]
    if rows:
        lines += [markdown_table(["Service", "Files", "Commits", "Since"], rows), ""]
    lines += [f"- **{u.name}**: unknown — {markdown_text(u.reason)}" for u in change.unknown]
    return "\n".join(lines)


def write_github(change: Change, names: Sequence[str]) -> None:
    """Append the outputs to ``$GITHUB_OUTPUT``, the summary to ``$GITHUB_STEP_SUMMARY``, print annotations and the
    affected services one a line."""
    _check_names(names)
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        raise UsageError("--format github needs $GITHUB_OUTPUT (set by GitHub Actions)")
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in outputs(change, names).items())
    except OSError as exc:
        raise UsageError(f"cannot write $GITHUB_OUTPUT ({target}): {exc.strerror}") from None
    cases = [CiCase("affected", u.name, Status.UNKNOWN, f"{u.name}: deployed commit unknown ({u.reason}); what "
                    "deploying it would ship cannot be said") for u in change.unknown]
    for line in workflow_commands(cases):
        sys.stdout.write(line + "\n")
    write_summary(summary(change, names))
    for entry in change.affected:
        sys.stdout.write(entry.name + "\n")
    if change.unknown:
        sys.stdout.write(f"{plural(len(change.unknown), 'service')} unknown\n")
