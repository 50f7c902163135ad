"""``deployed = { ledger = true }``: the commit of the service's last succeeded entry in the deploy ledger."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ...core.errors import DeploywatchError
from ...store.urls import display_url, sqlite_path
from .base import Reading

__all__ = ["LedgerSource", "read_ledgers"]


@dataclass(frozen=True)
class LedgerSource:
    """Reads the last succeeded ledger entry of ``service`` from the store at ``store_url``."""

    service: str
    store_url: str

    @property
    def description(self) -> str:
        """``ledger (STORE)``, the store's URL with its password hidden."""
        return f"ledger ({display_url(self.store_url)})"

    def read(self) -> Reading:
        """Ask the store now; no entry (or no store) is an error, never a guess."""
        return read_ledgers({self.service: self})[self.service]


def read_ledgers(sources: Mapping[str, LedgerSource]) -> dict[str, Reading]:
    """Read every ledger source (keys are service names) with one store opening and one query per store."""
    by_store: dict[str, dict[str, LedgerSource]] = {}
    for name, source in sources.items():
        by_store.setdefault(source.store_url, {})[name] = source
    readings: dict[str, Reading] = {}
    for url, group in by_store.items():
        readings.update(_read_store(url, group))
    return readings


def _read_store(url: str, sources: Mapping[str, LedgerSource]) -> dict[str, Reading]:
    from ...store import Store

    def failed(name: str, error: str) -> Reading:
        return Reading(sources[name].description, None, error)

    path = sqlite_path(url)
    if path is not None and not path.exists():  # reading must not create an empty store
        return {name: failed(name, f"no deploy of {s.service} is recorded: the store {path} does not exist (run "
                                   f"deploywatch record {s.service} COMMIT)") for name, s in sources.items()}
    try:
        with Store.open(url) as store:
            entries = store.last_succeeded_deployments(sorted({s.service for s in sources.values()}))
    except DeploywatchError as exc:
        return {name: failed(name, str(exc)) for name in sources}
    readings = {}
    for name, source in sources.items():
        entry = entries.get(source.service)
        readings[name] = (Reading(source.description, entry.to_commit) if entry is not None else
                          failed(name, f"no succeeded deploy of {source.service} in the ledger (run deploywatch "
                                       f"record {source.service} COMMIT)"))
    return readings
