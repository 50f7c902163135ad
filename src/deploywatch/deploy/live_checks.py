"""The preflight checks that run something: the service's tests command and its health probes, now."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import LoadedConfig
from ..config.health import ProbeConfig
from ..core.durations import format_age
from ..core.procs import Outcome, run_shell, signal_name
from ..core.redact import clip, mask
from ..core.render import short
from ..core.status import Status, worst
from ..core.text import plural
from ..health.probes import ProbeResult, probe_configs, program_name, run_probes
from .items import Item

__all__ = ["check_health", "check_tests", "output_tail", "service_probes"]

_TAIL_LINES = 5
_TAIL_CHARS = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def output_tail(outcome: Outcome, lines: int = _TAIL_LINES, chars: int = _TAIL_CHARS) -> str:
    """The last ``lines`` non-empty lines of a command's stdout, then stderr, joined by ``" | "``, masked before
    it is cut to its last ``chars`` characters."""
    found = [ln.strip() for stream in (outcome.stdout, outcome.stderr)
             for ln in stream.decode("utf-8", errors="replace").splitlines() if ln.strip()]
    text = mask(_CONTROL.sub(" ", " | ".join(found[-lines:])))
    return text if len(text) <= chars else "..." + text[-chars:]


def check_tests(command: str | None, *, timeout: float, cwd: Path, head: str | None,
                target: str) -> tuple[dict[str, Any] | None, Item]:
    """Run the service's ``preflight.tests`` in the work tree (a failure is critical); its record and the item.

    Passing tests prove the target only when the work tree is at the target: otherwise the item is a warning."""
    title = "Tests"
    if command is None:
        return None, Item("tests", title, Status.OK, "no tests configured (preflight.tests)")
    started = time.monotonic()
    outcome = run_shell(command, timeout=timeout, cwd=cwd)
    seconds = time.monotonic() - started
    tail = output_tail(outcome)
    record: dict[str, Any] = {"command": program_name(command), "exit_code": outcome.returncode,
                              "seconds": round(seconds, 3), "output_tail": tail}
    took = format_age(seconds) if seconds >= 1 else f"{seconds:.1f}s"
    code = outcome.returncode
    if code is None:
        return record, Item("tests", title, Status.CRITICAL, f"{outcome.problem or 'did not run'}"
                                                              + (f": {tail}" if tail else ""))
    if code != 0:
        why = f"killed by {signal_name(-code)}" if code < 0 else f"failed (exit {code})"
        return record, Item("tests", title, Status.CRITICAL, clip(f"{why} after {took}" + (f": {tail}" if tail else ""),
                                                                  _TAIL_CHARS))
    if head != target:
        where = f"HEAD {short(head)}" if head else "an unborn HEAD"
        return record, Item("tests", title, Status.WARNING,
                            f"passed in {took}, but in the work tree at {where}, not the target {short(target)}")
    return record, Item("tests", title, Status.OK, f"passed in {took}")


def service_probes(loaded: LoadedConfig, service: str) -> list[ProbeConfig]:
    """The probes of ``service``: its ``health`` URL (``"<service> health"``), every ``[[probes]]`` entry whose
    name is the service's or starts with it and a space (``"prediction-worker heartbeat"``), and the probes its
    ``post_deploy.probes`` names."""
    named = set(loaded.config.services[service].post_deploy.probes)
    return [p for p in probe_configs(loaded)
            if p.name == service or p.name.startswith(f"{service} ") or p.name in named]


def check_health(probes: Sequence[ProbeConfig], service: str, *, cwd: Path,
                 checks: Sequence[tuple[str, Status, str]] = ()) -> tuple[list[ProbeResult], Item]:
    """Run the service's probes now, with the results of its post-deploy data ``checks`` (subject, status, why)
    measured by the caller; none at all is unknown (no data is never ok)."""
    title = "Current health"
    if not probes and not checks:
        return [], Item("health", title, Status.UNKNOWN,
                        f"no probe for {service}: set services.{service}.health or a [[probes]] entry named "
                        f"'{service} …'")
    results = run_probes(probes, cwd=cwd)
    found = [(r.name, r.status, r.summary) for r in results] + list(checks)
    status = worst(s for _, s, _ in found)
    bad = [(n, s, why) for n, s, why in found if s is not Status.OK]
    what = " and ".join(filter(None, [plural(len(results), "probe") if results else "",
                                      plural(len(checks), "post-deploy check") if checks else ""]))
    if not bad:
        return results, Item("health", title, Status.OK, f"{what} ok: " + "; ".join(f"{n}: {why}"
                                                                                   for n, _, why in found))
    return results, Item("health", title, status,
                         f"{len(bad)} of {what} not ok: " + "; ".join(f"{n} {s}: {why}" for n, s, why in bad))
