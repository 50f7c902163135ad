"""A real ``deploywatch serve`` in a subprocess, on a free port of 127.0.0.1, and the workspaces it serves."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from deploywatch.store import Store
from deploywatch.store.jobs import JobRunRecord

__all__ = ["NEVER", "TOKEN", "Daemon", "configure", "free_port", "one_service", "wait_for", "workspace"]

TOKEN = "dw-serve-TOKEN-9f4e1c"  # a marker: if it leaks into an answer or a log, it shows as itself
NEVER = "0 0 1 1 *"  # a schedule that will not come round during a test
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_service(tmp_path: Path, *, deployed: str = '{ file = "deployed/api.sha" }', schedule: str = "",
                server: str = "", extra: str = "") -> Path:
    """A workspace with one service ``api`` deployed at the tip of a one-commit repository, drift scheduled
    ``NEVER`` without catch-up and the test token; ``schedule`` and ``server`` add lines to their tables, ``extra``
    adds tables. Returns the config's path."""
    from testing.gitrepo import GitRepo

    tip = GitRepo(tmp_path / "repo").commit("api", {"api/main.py": "print('hi')\n"})
    (tmp_path / "deployed").mkdir()
    (tmp_path / "deployed" / "api.sha").write_text(tip + "\n", encoding="utf-8")
    schedule = schedule or f'drift = "{NEVER}"\ncatch_up = false'
    config = tmp_path / "deploywatch.toml"
    config.write_text(f"""
[repo]
path = "repo"

[services.api]
paths = ["api/**"]
deployed = {deployed}
{extra}
[schedule]
{schedule}

[server]
token = "{TOKEN}"
{server}
""", encoding="utf-8")
    return config


def configure(config: Path, *, schedule: str, server: str, replace: dict[str, str] | None = None) -> None:
    """Replace the config's ``[schedule]`` (with its subtables) and ``[server]`` blocks, and other lines."""
    kept: list[str] = []
    skipping = False
    for line in config.read_text(encoding="utf-8").splitlines():
        header = re.match(r"\s*\[\[?([A-Za-z0-9_.-]+)\]\]?", line)
        if header:
            skipping = header.group(1).split(".")[0] in ("schedule", "server")
        if not skipping:
            kept.append(line)
    text = "\n".join(kept) + "\n"
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text + "\n" + schedule.strip() + "\n\n" + server.strip() + "\n", encoding="utf-8")


@dataclass
class Daemon:
    """A ``deploywatch serve`` process."""

    config: Path
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    preexec: Callable[[], None] | None = None  # run in the child before it starts (resource limits)
    store_url: str | None = None  # the config's [store] url; None: the default SQLite file beside the config

    def __post_init__(self) -> None:
        self.log = self.config.parent / f"serve-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOYWATCH_")}
        self._log_file = self.log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deploywatch", "serve", "--config", str(self.config), "--listen",
             f"127.0.0.1:{self.port}", *self.args],
            stdout=self._log_file, stderr=subprocess.STDOUT, env={**env, **self.env}, cwd=self.config.parent,
            preexec_fn=self.preexec)  # noqa: PLW1509  # only resource.setrlimit: safe in the child
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)

    def wait_ready(self) -> Daemon:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the daemon exited with {self.proc.returncode}:\n{self.output()}")
            try:
                return self.http.get("/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for("the daemon to answer /healthz", up)
        return self

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(encoding="utf-8")

    def store(self) -> Store:
        return Store.open(self.store_url or f"sqlite:///{self.config.parent / '.deploywatch' / 'state.db'}")

    def post(self, path: str, token: str | None = TOKEN, headers: dict[str, str] | None = None,
             **kwargs: Any) -> httpx.Response:
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.post(path, headers={**auth, **(headers or {})}, **kwargs)

    def job_run(self, job_run_id: str) -> JobRunRecord | None:
        with self.store() as store:
            return next((r for r in store.job_runs(limit=100) if r.id == job_run_id), None)

    def run_job(self, job: str) -> JobRunRecord:
        """Start ``job`` through the API and wait until it has ended."""
        response = self.post(f"/api/runs/{job}")
        assert response.status_code == 202, response.text
        job_run_id = response.json()["job_run_id"]

        def ended() -> JobRunRecord | None:
            found = self.job_run(job_run_id)
            return found if found is not None and found.state != "running" else None

        return wait_for(f"{job} to end", ended)

    def terminate(self, timeout: float = 15.0) -> tuple[int, float]:
        """SIGTERM; return (exit code, seconds it took to exit)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - started

    def close(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log_file.close()


def workspace(demo: Path, target: Path, *, schedule: str | None = None, server: str | None = None,
              replace: dict[str, str] | None = None) -> Path:
    shutil.copytree(demo, target, symlinks=True)
    config = target / "deploywatch.toml"
    configure(config, schedule=schedule or f'[schedule]\ndrift = "{NEVER}"\ncanary = "{NEVER}"\ncheck = "{NEVER}"\n'
                                           "catch_up = false",
              server=server if server is not None else f'[server]\ntoken = "{TOKEN}"', replace=replace)
    return config
