"""``preflight``: the checks a service must pass before it is deployed, each an item with a status and a reason.

Read-only: nothing here changes the repository (but ``git fetch`` when ``repo.fetch`` is set, as for drift),
the store or the service. The deployed commit comes from the service's ``deployed`` source, resolved as drift
resolves it; every git question goes through :mod:`deploywatch.drift.git`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..config import LoadedConfig
from ..core.durations import format_timestamp
from ..core.errors import UsageError
from ..core.redact import mask
from ..core.status import Status, worst
from ..drift import resolve_readings
from ..drift.workspace import Workspace
from ..health.probes import ProbeResult
from .items import Item
from .live_checks import check_health, check_tests, service_probes
from .repo_checks import Shipped, check_branch, check_clean, check_move, check_schema, check_ships, check_synced
from .verify import measure_checks, plan_post_deploy

__all__ = ["CHECK_ORDER", "PreflightReport", "run_preflight"]

CHECK_ORDER = ("clean", "branch", "synced", "ships", "schema", "tests", "move", "health")
_TITLES = {"ships": "What the deploy ships", "schema": "Schema changes", "move": "Move from deployed to target"}


@dataclass(frozen=True)
class PreflightReport:
    """Every preflight item of one service, and what they were measured on."""

    service: str
    generated_at: datetime
    branch: str
    target: str
    target_revision: str
    deployed_commit: str | None
    deployed_value: str | None
    deployed_source: str
    move: str | None
    allow_downgrade: bool
    items: tuple[Item, ...]
    runbook: str | None = None
    shipped: tuple[Shipped, ...] = ()
    composition: str | None = None
    schema_files: tuple[str, ...] = ()
    tests: dict[str, Any] | None = None
    probes: tuple[ProbeResult, ...] = field(default=())

    @property
    def status(self) -> Status:
        """The worst item's status."""
        return worst(i.status for i in self.items)

    def item(self, name: str) -> Item:
        """The item called ``name``."""
        return next(i for i in self.items if i.name == name)

    def to_json(self, *, max_commits: int | None = None) -> dict[str, Any]:
        """The ``deploywatch.preflight/v1`` document."""
        commits = self.shipped if max_commits is None else self.shipped[:max_commits]
        return {
            "schema": "deploywatch.preflight/v1", "generated_at": format_timestamp(self.generated_at),
            "status": str(self.status), "service": self.service, "runbook": self.runbook,
            "branch": self.branch, "target": {"revision": self.target_revision, "commit": self.target},
            "deployed": {"commit": self.deployed_commit,
                         "value": mask(self.deployed_value) if self.deployed_value is not None else None,
                         "source": mask(self.deployed_source)},
            "move": self.move, "allow_downgrade": self.allow_downgrade,
            "checks": [i.to_json() for i in self.items],
            "ships": None if self.composition is None else {
                "relevant_commits": len(self.shipped), "composition": self.composition,
                "commits": [c.to_json() for c in commits], "truncated": len(commits) < len(self.shipped)},
            "schema_files": list(self.schema_files),
            "tests": self.tests,
            "probes": [p.as_json() for p in self.probes],
        }


def run_preflight(workspace: Workspace, service: str, *, revision: str | None, allow_downgrade: bool,
                  now: datetime) -> PreflightReport:
    """Run every preflight check of ``service`` for the target ``revision`` (HEAD when None)."""
    workspace.select([service])  # an unknown name is a one-line error
    loaded, repo = workspace.loaded, workspace.repo
    config = loaded.config.services[service]
    preflight = config.preflight
    required_branch = preflight.require_branch or workspace.branch
    workspace.fetch()
    head = repo.resolve("HEAD")
    shown_revision = revision or "HEAD"
    target = repo.resolve(shown_revision)
    if target is None:
        raise UsageError(f"--commit {shown_revision!r} does not name a commit in {repo.path}; run git fetch?"
                         if revision else f"HEAD names no commit in {repo.path} (no commit yet?)")
    found = resolve_readings(repo, workspace.read_sources([service]))[service]
    deployed = found.commit

    items: dict[str, Item] = {}
    items["clean"] = check_clean(repo, required=preflight.require_clean)
    items["branch"] = check_branch(repo, required_branch, target)
    items["synced"] = check_synced(repo, repo_branch=workspace.branch, remote=loaded.config.repo.remote,
                                   required_branch=required_branch, target=target, required=preflight.require_synced)
    shipped: list[Shipped] = []
    schema_files: list[str] = []
    composition: str | None = None
    move: str | None = None
    if deployed is None:
        why = f"deployed commit unknown: {found.reason or 'no reading'}"
        for name in ("ships", "schema", "move"):
            items[name] = Item(name, _TITLES[name], Status.UNKNOWN, why)
    else:
        shipped, items["ships"] = check_ships(repo, deployed, target, loaded.service_paths(service))
        composition = items["ships"].details["composition"]
        schema_files, items["schema"] = check_schema(repo, deployed, target, preflight.schema_paths)
        move, items["move"] = check_move(repo, deployed, target, allow_downgrade=allow_downgrade)
    tests, items["tests"] = check_tests(preflight.tests, timeout=float(preflight.tests_timeout), cwd=repo.path,
                                        head=head, target=target)
    checks = _post_deploy_checks(loaded, service, now)
    probes, items["health"] = check_health(service_probes(loaded, service), service, cwd=loaded.base_dir,
                                           checks=checks)
    return PreflightReport(
        service, now, required_branch, target, shown_revision, deployed, found.reading.value, found.reading.source,
        move, allow_downgrade, tuple(items[n] for n in CHECK_ORDER), config.runbook, tuple(shipped), composition,
        tuple(schema_files), tests, tuple(probes))


def _post_deploy_checks(loaded: LoadedConfig, service: str, now: datetime) -> list[tuple[str, Status, str]]:
    """The service's post-deploy data checks, run now (nothing stored): (subject, status, why) each."""
    if not loaded.config.services[service].post_deploy.checks:
        return []
    try:
        checks = plan_post_deploy(loaded, service).checks
    except UsageError as exc:  # a pattern that names no check: the deploy refuses it; here it is unknown
        return [("post_deploy.checks", Status.UNKNOWN, str(exc))]
    return [(subject, status, why) for subject, status, why, _ in measure_checks(loaded, checks, now)]
