"""The sink interface: a sink turns a :class:`~.model.Message` into its wire format and sends it once.

Sinks never compute status, never retry and never sleep: the delivery loop (:mod:`.delivery`) owns
attempts, backoff, rate limits and the outbox. A sink answers every attempt with a
:class:`~.model.Delivery` and raises nothing for network or HTTP trouble.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..config.alerts import SinkConfig
from .model import Delivery, Message

if TYPE_CHECKING:
    import httpx

__all__ = ["Sink"]


class Sink(Protocol):
    """One configured destination."""

    name: str
    config: SinkConfig
    # The delivery loop waits at least this long between two messages with the same rate key
    # (Slack allows one message per second per webhook).
    min_interval: float
    # Messages to this sink are grouped per run (Slack, webhook, Alertmanager) or sent one per
    # finding (GitHub: one issue per fingerprint).
    per_finding: bool

    @property
    def rate_key(self) -> str:
        """What ``min_interval`` applies to (e.g. a hash of the webhook URL); never a secret itself."""
        ...

    def deliver(self, message: Message, client: httpx.Client) -> Delivery:
        """Send ``message`` once and say what happened."""
        ...
