"""``deployed = { github = { repo, environment } }``: the latest successful deployment in GitHub's Deployments API.

``GET {api_url}/repos/{repo}/deployments?environment=E&per_page=30`` lists deployments newest first; for each,
``GET …/deployments/{id}/statuses?per_page=1`` gives its latest status. The first deployment whose latest status
is ``success`` is what runs; its ``sha`` is the reading. A newer ``inactive`` one before it means the
environment's deployment was deactivated: unknown, never the older SHA. The token comes from the preset's
``token`` or ``${GITHUB_TOKEN}``, is sent only to ``api_url`` and never printed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from ...core.durations import format_age
from ...core.redact import mask, register_secret
from .base import Reading, parse_revision

if TYPE_CHECKING:
    import httpx

__all__ = ["GitHubDeploymentsSource"]

DEFAULT_TIMEOUT = 20.0
API_VERSION = "2022-11-28"
PAGE = 30  # deployments looked at; an environment whose last success is older than that is unknown
_ACTIVE = "success"
_PENDING = frozenset({"pending", "queued", "in_progress", "failure", "error"})  # newer attempts that never went live


class _Failed(Exception):
    """Why the API's answer holds no deployed commit; ``str`` is the reason."""


@dataclass(frozen=True)
class GitHubDeploymentsSource:
    """Asks GitHub which commit the latest successful deployment of ``environment`` in ``repo`` shipped."""

    repo: str
    environment: str
    api_url: str = "https://api.github.com"
    token: str | None = field(default=None, repr=False)  # None: ${GITHUB_TOKEN}
    timeout: float = DEFAULT_TIMEOUT

    @property
    def description(self) -> str:
        """``github REPO environment E`` (and the API host when it is not GitHub's)."""
        host = "" if self.api_url.rstrip("/") == "https://api.github.com" else f" via {mask(self.api_url)}"
        return f"github {self.repo} environment {self.environment}{host}"

    def read(self) -> Reading:
        """Ask the API now, within ``timeout`` for all requests together."""
        import httpx

        token = self.token or os.environ.get("GITHUB_TOKEN") or None
        if token:
            register_secret(token)
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                   "User-Agent": "deploywatch", **({"Authorization": f"Bearer {token}"} if token else {})}
        deadline = time.monotonic() + self.timeout
        try:
            with httpx.Client(timeout=self.timeout, headers=headers, follow_redirects=False) as client:
                sha = self._latest_success(client, deadline, bool(token))
        except _Failed as exc:
            return Reading(self.description, None, mask(f"github deployments of {self.repo} ({self.environment}): "
                                                        f"{exc}"))
        return Reading(self.description, sha)

    def _latest_success(self, client: httpx.Client, deadline: float, authenticated: bool) -> str:
        base = f"{self.api_url.rstrip('/')}/repos/{self.repo}/deployments"
        listed = self._get(client, base, {"environment": self.environment, "per_page": str(PAGE)}, deadline,
                           authenticated)
        deployments = [d for d in listed if isinstance(d, dict)] if isinstance(listed, list) else None
        if deployments is None:
            raise _Failed("the deployments answer is not a list")
        if not deployments:
            raise _Failed(f"no deployment of environment {self.environment!r}")
        newer: list[str] = []
        for deployment in deployments:
            statuses = self._get(client, f"{base}/{quote(str(deployment.get('id')), safe='')}/statuses",
                                 {"per_page": "1"}, deadline, authenticated)
            latest = statuses[0] if isinstance(statuses, list) and statuses and isinstance(statuses[0], dict) else {}
            state = str(latest.get("state") or "no status")
            if state == _ACTIVE:
                sha = deployment.get("sha")
                if not isinstance(sha, str):
                    raise _Failed(f"deployment {deployment.get('id')} has no sha")
                try:
                    return parse_revision(sha)
                except ValueError as exc:
                    raise _Failed(f"deployment {deployment.get('id')}: {exc}") from None
            if state not in _PENDING:  # inactive (deactivated), or a state this reader does not know
                raise _Failed(f"the latest deployment that is not pending or failed ({deployment.get('id')}) is "
                              f"{state}, so no deployment is live")
            newer.append(state)
        raise _Failed(f"no successful deployment among the latest {len(deployments)} "
                      f"({', '.join(sorted(set(newer)))})")

    def _get(self, client: httpx.Client, url: str, params: dict[str, str], deadline: float,
             authenticated: bool) -> object:
        import httpx

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Failed(f"timed out after {format_age(self.timeout)}")
        shown = mask(url)
        try:
            response = client.get(url, params=params, timeout=remaining)
        except httpx.TimeoutException:
            raise _Failed(f"GET {shown} timed out after {format_age(self.timeout)}") from None
        except httpx.HTTPError as exc:
            raise _Failed(f"GET {shown} failed: {exc or type(exc).__name__}") from None
        if response.status_code != 200:
            hint = ""
            if response.status_code in (401, 403, 404):
                hint = ("; is the repository right, and may the token read deployments?" if authenticated
                        else "; set GITHUB_TOKEN (or token) to a token that may read deployments")
            raise _Failed(f"GET {shown} returned HTTP {response.status_code}{hint}")
        try:
            return response.json()
        except ValueError:
            raise _Failed(f"GET {shown} returned invalid JSON") from None
