"""The kill switch and the breaker's reset: ``remediate pause|resume|reset`` and what ``remediate status`` shows."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..config.remediate import RemediateSettings
from ..store.remediation import AuditRecord

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["STATUS_SCHEMA", "pause", "reset", "resume", "status"]

STATUS_SCHEMA = "deploywatch.remediate-status/v1"
_FLEET = "fleet"


def _switch(store: Store, *, by: str, now: datetime, decision: str, reason: str, change: dict[str, Any],
            kind: str = "switch") -> dict[str, Any]:
    fleet = {**store.remediation_states().get(_FLEET, {}), **change}
    fleet = {key: value for key, value in fleet.items() if value is not None}
    store.record_remediation([AuditRecord(at=now, kind=kind, subject=_FLEET, decision=decision, reason=reason,
                                          actor=by)], {_FLEET: fleet}, now)
    return fleet


def pause(store: Store, *, by: str, reason: str, now: datetime) -> dict[str, Any]:
    """Stop every remediation until :func:`resume` (the state and an audit row in one transaction)."""
    return _switch(store, by=by, now=now, decision="paused", reason=reason or "paused",
                   change={"paused": True, "paused_by": by, "paused_at": now.isoformat(), "pause_reason": reason})


def resume(store: Store, *, by: str, reason: str, now: datetime) -> dict[str, Any]:
    """End a pause."""
    return _switch(store, by=by, now=now, decision="resumed", reason=reason or "resumed",
                   change={"paused": None, "paused_by": None, "paused_at": None, "pause_reason": None})


def reset(store: Store, *, by: str, reason: str, now: datetime) -> dict[str, Any]:
    """Reset a tripped breaker."""
    return _switch(store, by=by, now=now, decision="reset", reason=reason or "reset", change={"breaker": None},
                   kind="breaker")


def _running(lock: dict[str, Any] | None, now: datetime) -> dict[str, Any] | None:
    """The run lock as ``status`` shows it: ``lapsed`` once its holder stopped renewing it past ``until``."""
    if not lock:
        return None
    return {**lock, "lapsed": datetime.fromisoformat(lock["until"]) <= now}


def status(store: Store, settings: RemediateSettings, *, now: datetime) -> dict[str, Any]:
    """``deploywatch.remediate-status/v1``: enabled, paused, the breaker, every service's and rule's state."""
    states = store.remediation_states()
    fleet = states.get(_FLEET, {})
    breaker = fleet.get("breaker")
    return {"schema": STATUS_SCHEMA, "generated_at": now.isoformat().replace("+00:00", "Z"),
            "enabled": settings.enabled, "paused": bool(fleet.get("paused")), "paused_by": fleet.get("paused_by"),
            "breaker": breaker if isinstance(breaker, dict) else None, "running": _running(states.get("lock"), now),
            "services": {k.removeprefix("service:"): v for k, v in states.items() if k.startswith("service:")},
            "rules": {k.removeprefix("rule:"): v for k, v in states.items() if k.startswith("rule:")}}
