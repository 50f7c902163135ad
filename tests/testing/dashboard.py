"""A demo workspace for the dashboard tests: planted secrets, a stored drift run and ledger entries, and the CLI's JSON
for the same store (what each page must show)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx

from testing.daemon import TOKEN, Daemon, workspace

__all__ = ["PLANTED", "PLANTED_CHECK", "Markup", "cli_json", "dashboard_workspace", "parse"]

NOW = "2026-12-10T12:00:00Z"
# A check whose where clause carries a credential-bearing URL: the page shows the clause and the warehouse's error
# (which quotes it), both masked.
PLANTED_CHECK = "phase2.boxscores.planted"
WAREHOUSE_SECRET = "https://etl:PlantedPassw0rd@warehouse.example.com/nba"
HOOK = "https://hooks.example.com/services/T000/B000/PlantedHookSecret7731"
PLANTED = ("PlantedHookSecret7731", "PlantedPassw0rd", "PlantedCiToken4411", TOKEN)


def cli(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``deploywatch ARGS --config CONFIG`` in the workspace."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOYWATCH_")}
    done = subprocess.run([sys.executable, "-m", "deploywatch", *args, "--config", str(config)], cwd=config.parent,
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    if check and (done.returncode not in (0, 1, 2, 3) or (done.returncode == 3 and not done.stdout)):
        raise AssertionError(f"deploywatch {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def cli_json(config: Path, *args: str) -> Any:
    """The JSON a command prints."""
    return json.loads(cli(config, *args, "--format", "json").stdout)


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": NOW, "GIT_COMMITTER_DATE": NOW, "GIT_AUTHOR_NAME": "Pat Planted",
           "GIT_AUTHOR_EMAIL": "pat@example.com", "GIT_COMMITTER_NAME": "Pat Planted",
           "GIT_COMMITTER_EMAIL": "pat@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=30,
                          env=env).stdout.strip()


@dataclass
class Dashboard:
    """The workspace and what it holds."""

    config: Path
    planted_commit: str
    ledger_commits: tuple[str, str]


def dashboard_workspace(demo: Path, target: Path, *, protect_reads: bool = False) -> Dashboard:
    """The demo with ``[web]`` links, a webhook sink, a check whose ``where`` carries a password, a commit whose
    subject carries secrets, a stored drift run, a stored canary run and two ledger entries of ``scrapers`` (the
    first with a secret in its URL and reason)."""
    server = f'[server]\ntoken = "{TOKEN}"\nprotect_reads = {str(protect_reads).lower()}'
    config = workspace(demo, target, server=server)
    with config.open("a", encoding="utf-8") as out:
        out.write('\n[web]\ncommit_url = "https://github.com/example/nba/commit/{sha}"\n'
                  'compare_url = "https://github.com/example/nba/compare/{from}...{to}"\n\n'
                  f'[[alerts.webhook]]\nname = "planted"\nurl = "{HOOK}"\n\n'
                  f'[[checks]]\nname = "{PLANTED_CHECK}"\nphase = "phase2"\ntable = "nba_raw.player_boxscores"\n'
                  f'where = "game_date = \'{WAREHOUSE_SECRET}\'"\nmetric = "row_count"\ncritical = "< 1"\n')
    repo = target / "repo"
    before = _git(repo, "rev-parse", "HEAD")
    (repo / "scrapers" / "planted.py").write_text("RETRIES = 3\n", encoding="utf-8")
    _git(repo, "add", "scrapers/planted.py")
    _git(repo, "commit", "-q", "--no-verify", "-m",
         f"scrapers: push to https://deploy:PlantedPassw0rd@registry.example.com and {HOOK}")
    planted = _git(repo, "rev-parse", "HEAD")
    cli(config, "drift", "--no-alerts", "--now", NOW)
    cli(config, "canary")  # at the demo's own date, as its stored canary runs
    cli(config, "record", "scrapers", before, "--by", "ci", "--now", "2026-12-09T12:00:00Z",
        "--url", "https://ci.example.com/job/7?token=PlantedCiToken4411", "--reason", "nightly")
    cli(config, "record", "scrapers", planted, "--status", "failed", "--by", "alice", "--now", "2026-12-10T11:00:00Z",
        "--reason", "probe failed: password=PlantedPassw0rd")
    return Dashboard(config, planted, (before, planted))


class Markup(HTMLParser):
    """What the security tests look for in a page: scripts, inline styles and handlers, links, forms, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self.scripts.append(found)
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"<{tag} {name}>")
        if tag == "style":
            self.inline.append("<style>")
        for name in ("href", "src", "action"):
            if found.get(name):
                self.links.append(str(found[name]))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(text: str) -> Markup:
    """``text`` parsed."""
    markup = Markup()
    markup.feed(text)
    markup.close()
    return markup


def origin(daemon: Daemon) -> dict[str, str]:
    """The Origin header of a form posted from the daemon's own pages."""
    return {"Origin": f"http://127.0.0.1:{daemon.port}"}


def csrf_of(client: httpx.Client, path: str = "/login") -> str:
    """The CSRF token of the form on ``path`` (the cookie it pairs with is now in ``client``)."""
    page = client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def signed_in(daemon: Daemon, *, timeout: float = 10) -> tuple[httpx.Client, str]:
    """A client signed in with the token through the login form, and its CSRF token."""
    client = httpx.Client(base_url=f"http://127.0.0.1:{daemon.port}", timeout=timeout)
    csrf = csrf_of(client)
    answer = client.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "/"}, headers=origin(daemon))
    assert answer.status_code == 303, answer.text
    return client, csrf
