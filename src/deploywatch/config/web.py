"""``[web]``: how the dashboard and the report link commits and ranges to the code host."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from .types import Model, http_url

__all__ = ["WebConfig"]


def _commit_url(value: str) -> str:
    if "{sha}" not in value:
        raise ValueError("must contain {sha}, e.g. 'https://github.com/ORG/REPO/commit/{sha}'")
    http_url(value.replace("{sha}", "0"))  # the URL it makes must be a valid one
    return value


def _compare_url(value: str) -> str:
    if "{from}" not in value or "{to}" not in value:
        raise ValueError("must contain {from} and {to}, e.g. 'https://github.com/ORG/REPO/compare/{from}...{to}'")
    http_url(value.replace("{from}", "0").replace("{to}", "1"))
    return value


class WebConfig(Model):
    """``[web]``: link templates; ``{sha}``, ``{from}`` and ``{to}`` are replaced by full commit SHAs."""

    commit_url: Annotated[str, AfterValidator(_commit_url)] | None = None
    compare_url: Annotated[str, AfterValidator(_compare_url)] | None = None

    def commit_link(self, sha: str) -> str | None:
        """The URL of commit ``sha``, when ``commit_url`` is set."""
        return self.commit_url.replace("{sha}", sha) if self.commit_url else None

    def compare_link(self, start: str, end: str) -> str | None:
        """The URL comparing ``start`` with ``end``, when ``compare_url`` is set."""
        return self.compare_url.replace("{from}", start).replace("{to}", end) if self.compare_url else None
