"""A fake of GitHub's Deployments API (the subset the ``github`` deployed source reads), served on 127.0.0.1.

- ``GET /repos/{owner}/{repo}/deployments`` with ``environment`` and ``per_page`` (30 by default, at most 100):
  the repository's deployments of that environment, newest first, in GitHub's JSON shape;
- ``GET /repos/{owner}/{repo}/deployments/{id}/statuses`` with ``per_page``: its statuses, newest first.

Requests need ``Authorization: Bearer <token>``; without it, or with another token, the private repository is a
404 with GitHub's ``{"message": "Not Found", …}`` body, as GitHub answers. Every request is recorded.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from testing.http import QuietHandler, QuietServer, running

__all__ = ["DeploymentsAPI", "Request", "serve_deployments"]

_LIST = re.compile(r"/repos/([^/]+/[^/]+)/deployments")
_STATUSES = re.compile(r"/repos/([^/]+/[^/]+)/deployments/(\d+)/statuses")
_DOCS = "https://docs.github.com/rest/deployments/deployments#list-deployments"


@dataclass(frozen=True)
class Request:
    """One request the fake received: its path, query and Authorization header."""

    path: str
    query: dict[str, str]
    authorization: str | None


@dataclass
class DeploymentsAPI:
    """One private repository's deployments and their statuses, and the token that may read them."""

    repo: str
    token: str
    url: str = ""
    delay: float = 0.0  # seconds before every answer (bounded: a test never hangs on it)
    deployments: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # oldest first
    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deploy(self, sha: str, environment: str, *states: str) -> int:
        """Add a deployment of ``sha`` to ``environment`` whose statuses are ``states`` (in order); its id."""
        with self._lock:
            number = 1000 + len(self.deployments)
            api = f"{self.url}/repos/{self.repo}/deployments/{number}"
            self.deployments.append({
                "url": api, "id": number, "node_id": f"DE_kwDO{number}", "sha": sha, "ref": "main",
                "task": "deploy", "payload": {}, "original_environment": environment, "environment": environment,
                "description": None, "creator": {"login": "octocat", "id": 1, "type": "User"},
                "created_at": f"2026-12-01T10:{len(self.deployments):02d}:00Z",
                "updated_at": f"2026-12-01T10:{len(self.deployments):02d}:30Z",
                "statuses_url": f"{api}/statuses", "repository_url": f"{self.url}/repos/{self.repo}",
                "transient_environment": False, "production_environment": environment == "production"})
            self.statuses[number] = [
                {"url": f"{api}/statuses/{number * 10 + i}", "id": number * 10 + i, "state": state,
                 "creator": {"login": "octocat", "id": 1, "type": "User"}, "description": "",
                 "environment": environment, "target_url": "", "log_url": "",
                 "created_at": f"2026-12-01T10:{len(self.deployments) - 1:02d}:{i + 1:02d}Z",
                 "deployment_url": api, "repository_url": f"{self.url}/repos/{self.repo}"}
                for i, state in enumerate(states)]
            return number

    def answer(self, path: str, query: dict[str, str], authorization: str | None) -> tuple[int, object]:
        """The status and JSON body GitHub gives for one GET."""
        self.requests.append(Request(path, query, authorization))
        not_found = (404, {"message": "Not Found", "documentation_url": _DOCS, "status": "404"})
        if authorization != f"Bearer {self.token}":
            return not_found
        per_page = min(int(query.get("per_page", "30")), 100)
        with self._lock:
            if (found := _STATUSES.fullmatch(path)) and found.group(1) == self.repo:
                statuses = self.statuses.get(int(found.group(2)))
                return (200, list(reversed(statuses))[:per_page]) if statuses is not None else not_found
            if (found := _LIST.fullmatch(path)) and found.group(1) == self.repo:
                wanted = query.get("environment")
                matching = [d for d in self.deployments if wanted is None or d["environment"] == wanted]
                return 200, list(reversed(matching))[:per_page]
        return not_found


@contextmanager
def serve_deployments(repo: str, token: str) -> Iterator[DeploymentsAPI]:
    """Serve a :class:`DeploymentsAPI` for ``repo`` on a free port of 127.0.0.1 until the block ends."""
    api = DeploymentsAPI(repo, token)

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            time.sleep(min(api.delay, 5.0))
            status, body = api.answer(parts.path, dict(parse_qsl(parts.query)), self.headers.get("Authorization"))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
            self.end_headers()
            self.wfile.write(data)

    server = QuietServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    with running(server):
        yield api
