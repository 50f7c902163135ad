"""After the deploy command: verify that the service runs the new commit, then soak and run its post-deploy checks.

Neither trusts the deploy command's exit code, and no data is never success: a source that cannot be read, a
probe that has nothing to say or a check that is ``unknown`` is a failure once the time is up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..core.durations import format_age
from ..core.errors import UsageError
from ..core.redact import mask, mask_values
from ..core.render import short
from ..core.status import Status, worst
from ..core.text import plural
from ..drift import resolve_readings

if TYPE_CHECKING:
    from ..config import LoadedConfig
    from ..config.checks import CheckConfig
    from ..config.health import ProbeConfig
    from ..drift.workspace import Workspace

__all__ = ["PostDeployPlan", "Step", "measure_checks", "plan_post_deploy", "run_post_deploy", "verify_live"]

Waiter = Callable[[str, float], None]  # (what is awaited, seconds) → sleeps, showing progress on a terminal


def sleep_waiter(_what: str, seconds: float) -> None:
    """Sleep ``seconds`` (the default waiter)."""
    time.sleep(max(0.0, seconds))


@dataclass(frozen=True)
class Step:
    """One step of a deploy (preflight, deploy, verify, post_deploy, rollback …) and how it ended."""

    name: str
    status: Status
    detail: str
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Critical or unknown: the deploy failed here."""
        return self.status in (Status.CRITICAL, Status.UNKNOWN)

    def as_json(self) -> dict[str, Any]:
        """The step as ``deploywatch.deploy/v1`` shows it."""
        return {"name": self.name, "status": str(self.status), "detail": mask(self.detail),
                "seconds": round(self.seconds, 3), **mask_values(self.data)}


def verify_live(workspace: Workspace, service: str, expected: str, *, timeout: float, interval: float,
                wait: Waiter = sleep_waiter, name: str = "verify") -> Step:
    """Read the service's ``deployed`` source until it reports ``expected`` (resolved through git), at most
    ``timeout`` seconds, every ``interval``; a ``ledger`` source has no independent reading (a warning)."""
    started = time.monotonic()
    if workspace.loaded.config.services[service].deployed.kind == "ledger":
        return Step(name, Status.WARNING, "not verified: deployed = { ledger = true } has no reading of its own "
                                          "(the post-deploy checks are the only evidence)")
    deadline = started + timeout
    reads = 0
    last = "no reading yet"
    while True:
        reads += 1
        found = resolve_readings(workspace.repo, workspace.read_sources([service]))[service]
        took = time.monotonic() - started
        if found.commit == expected:
            return Step(name, Status.OK, f"the source reports {short(expected)} after {_took(took)} "
                                         f"({plural(reads, 'reading')})", took, {"readings": reads})
        if found.commit is not None:
            last = f"it still reports {short(found.commit)}"
        else:
            last = f"no reading: {found.reason or 'unknown'}"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Step(name, Status.CRITICAL, f"the source did not report {short(expected)} within "
                                               f"{format_age(timeout)} ({plural(reads, 'reading')}): {last}",
                        time.monotonic() - started, {"readings": reads})
        wait(f"verify: waiting for {short(expected)} ({last})", min(interval, remaining))


def _took(seconds: float) -> str:
    return format_age(seconds) if seconds >= 1 else f"{seconds:.1f}s"


@dataclass(frozen=True)
class PostDeployPlan:
    """What must pass after verify: probes and data checks, after a soak of ``wait`` seconds."""

    wait: float
    probes: tuple[ProbeConfig, ...]
    checks: tuple[CheckConfig, ...]

    @property
    def empty(self) -> bool:
        """Nothing to run."""
        return not self.probes and not self.checks


def plan_post_deploy(loaded: LoadedConfig, service: str) -> PostDeployPlan:
    """The service's post-deploy probes and checks, by name; one that names nothing is a UsageError naming the
    config key."""
    from ..checks.selection import matches
    from ..health.probes import probe_configs

    settings = loaded.config.services[service].post_deploy
    key = f"services.{service}.post_deploy"
    probes_by_name = {p.name: p for p in probe_configs(loaded)}
    probes = []
    for name in settings.probes:
        if name not in probes_by_name:
            known = ", ".join(probes_by_name) or "none"
            raise UsageError(f"{key}.probes: no probe is named {name!r} (probes: {known}) in "
                             f"{loaded.shown or loaded.path}")
        probes.append(probes_by_name[name])
    checks: list[CheckConfig] = []
    for pattern in settings.checks:
        found = [c for c in loaded.config.checks if matches(pattern, c)]
        if not found:
            raise UsageError(f"{key}.checks: {pattern!r} matches no check name or phase in "
                             f"{loaded.shown or loaded.path}")
        checks += [c for c in found if c not in checks]
    return PostDeployPlan(float(settings.wait), tuple(probes), tuple(checks))


def run_post_deploy(loaded: LoadedConfig, plan: PostDeployPlan, *, now: Callable[[], datetime],
                    wait: Waiter = sleep_waiter) -> Step:
    """Soak, then run the probes and checks of ``plan``: critical or unknown fails, a warning warns."""
    from ..health.probes import run_probes

    started = time.monotonic()
    if plan.empty:
        return Step("post_deploy", Status.OK, "no post-deploy checks configured (post_deploy.checks, .probes)")
    if plan.wait > 0:
        wait(f"post-deploy: soaking {format_age(plan.wait)}", plan.wait)
    statuses: list[Status] = []
    bad: list[str] = []
    data: dict[str, Any] = {"probes": [], "checks": []}
    if plan.probes:
        for result in run_probes(plan.probes, cwd=loaded.base_dir):
            statuses.append(result.status)
            data["probes"].append(result.as_json())
            if result.status is not Status.OK:
                bad.append(f"probe {result.name} {result.status}: {result.summary}")
    for subject, check_status, why, measured in measure_checks(loaded, plan.checks, now()) if plan.checks else []:
        statuses.append(check_status)
        if measured:
            data["checks"].append(measured)
        if check_status is not Status.OK:
            bad.append(f"{subject} {check_status}: {why}")
    status = worst(statuses)
    total = len(plan.probes) + len(data["checks"])
    took = time.monotonic() - started
    if not bad:
        return Step("post_deploy", status, f"{plural(total, 'check')} ok", took, data)
    return Step("post_deploy", status, f"{len(bad)} of {plural(total, 'check')} not ok: " + "; ".join(bad[:5])
                + (f"; …and {len(bad) - 5} more" if len(bad) > 5 else ""), took, data)


def measure_checks(loaded: LoadedConfig, checks: Sequence[CheckConfig],
                   now: datetime) -> list[tuple[str, Status, str, dict[str, Any]]]:
    """Run data ``checks`` now, storing nothing: (``check SUBJECT``, status, why, its JSON) per result; no result
    at all is one unknown row (no data is never ok)."""
    from ..checks.runner import run_checks

    report = run_checks(loaded, checks, now=now, record=False)
    if not report.results:
        return [(", ".join(c.name for c in checks), Status.UNKNOWN, "the checks gave no result", {})]
    return [(f"check {r.subject}", r.status, r.reason or r.shown_value, r.as_json()) for r in report.results]
