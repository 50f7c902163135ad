"""Deployed sources: how deploywatch learns the commit each service runs now.

A source is anything with a ``description`` and a ``read()`` that returns a :class:`Reading`:
what the source reported (a SHA, an abbreviated SHA or a tag, resolved through git later) or why
nothing usable came back. Sources never raise for a bad answer; a failed read is a reading with
an ``error``, which the drift engine turns into an ``unknown`` status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ...core.redact import mask
from .base import Reading, Source, parse_revision
from .command import CommandSource
from .file import FileSource
from .github import GitHubDeploymentsSource
from .ledger import LedgerSource, read_ledgers
from .url import UrlSource

if TYPE_CHECKING:
    from ...config import DeployedConfig, LoadedConfig

__all__ = [
    "CommandSource",
    "FileSource",
    "GitHubDeploymentsSource",
    "LedgerSource",
    "Reading",
    "Source",
    "UrlSource",
    "parse_revision",
    "read_all",
    "source_for",
]

MAX_CONCURRENT_READS = 8


def source_for(loaded: LoadedConfig, deployed: DeployedConfig, service: str = "") -> Source:
    """The source a ``deployed`` table describes (see :mod:`deploywatch.drift.sources.factory`)."""
    from .factory import source_for as build  # imports the config models, so only when needed

    return build(loaded, deployed, service)


def read_all(sources: Mapping[str, Source], *, max_workers: int = MAX_CONCURRENT_READS) -> dict[str, Reading]:
    """Read every source concurrently (at most ``max_workers`` at once); keys are service names."""
    # Local files answer in microseconds; only sources that wait (commands, HTTP) go to the pool.
    readings = {name: _safe_read(source) for name, source in sources.items() if isinstance(source, FileSource)}
    # Ledger sources share one store: opened once, in this thread, for all of them.
    readings.update(read_ledgers({n: s for n, s in sources.items() if isinstance(s, LedgerSource)}))
    slow = {name: source for name, source in sources.items() if name not in readings}
    if slow:
        from concurrent.futures import ThreadPoolExecutor

        from ...core.lazy import HTTP_MODULES, import_now

        if any(isinstance(source, UrlSource | GitHubDeploymentsSource) for source in slow.values()):
            import_now(HTTP_MODULES)  # not first from several reading threads at once

        workers = max(1, min(max_workers, len(slow)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deployed-source") as pool:
            futures = {name: pool.submit(_safe_read, source) for name, source in slow.items()}
            readings.update((name, future.result()) for name, future in futures.items())
    return {name: readings[name] for name in sources}


def _safe_read(source: Source) -> Reading:
    try:
        return source.read()
    except Exception as exc:  # a bug in one source must not sink the other services' readings
        return Reading(source.description, None, mask(f"source failed: {type(exc).__name__}: {exc}"))
