"""Package attributes imported on first use (PEP 562), so that importing a package stays cheap.

    __getattr__, __dir__ = lazy_attributes(__name__, {"Store": "database"})

makes ``package.Store`` import ``package.database`` the first time it is asked for (and keep it).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["HTTP_MODULES", "import_now", "lazy_attributes"]

# What the first HTTP request with httpx imports: the package, its transport (httpcore, h11, certifi, loaded with
# the first client) and the IDNA codec (the first host name).
HTTP_MODULES = ("httpx", "httpcore", "h11", "certifi", "encodings.idna")


def import_now(modules: Iterable[str]) -> None:
    """Import ``modules`` in this thread, before starting threads that would otherwise import them first.

    Python's imports are not safe for the concurrent first use of packages whose modules import each other
    (SQLAlchemy, httpx, sqlglot's dialects): one thread sees the other's partially initialised module
    (``ImportError``) or the two deadlock (``_DeadlockError``).
    """
    for module in dict.fromkeys(modules):
        importlib.import_module(module)


def lazy_attributes(package: str, table: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``: each name of ``table`` is imported from
    the submodule it maps to on first use."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *table])

    return __getattr__, __dir__
