"""Findings: the unit every collector emits (drift per service, a check per group …).

A finding's identity is its fingerprint, a hash of kind and subject: its status and summary may
change from run to run, the fingerprint does not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .redact import mask, mask_values
from .status import Status

__all__ = ["Finding", "fingerprint"]


def fingerprint(kind: str, subject: str) -> str:
    """A stable id for ``kind``/``subject`` (16 hex digits of SHA-256)."""
    return hashlib.sha256(f"{kind}\0{subject}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Finding:
    """One thing a run found: what (kind, subject), how bad (status), and why (summary, details)."""

    kind: str
    subject: str
    status: Status
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)
    # What routing and silences match on besides kind and subject: service, group, check, phase, table …
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Findings are printed, stored and sent: a reason quoting a URL or an error is masked once, here.
        object.__setattr__(self, "summary", mask(self.summary))
        object.__setattr__(self, "details", mask_values(self.details))

    @property
    def fingerprint(self) -> str:
        """The finding's stable identity across runs."""
        return fingerprint(self.kind, self.subject)

