"""A simulated fleet for rollout tests: a real HTTP "platform" on 127.0.0.1 that serves versions, traffic weights and
error-rate samples and can be told to fail, and one real script (stdlib urllib) that deploywatch's deploy, traffic,
version and analysis commands run."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from testing.gitrepo import GitRepo, write_config
from testing.platform import process_env

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
PLATFORM_PY = '''#!/usr/bin/env python3
"""pretend_platform.py URL ACTION SERVICE [ARG]: talk to the pretend platform (deploy, traffic, version, metrics)."""
import sys
import urllib.error
import urllib.request

url, action, service, *rest = sys.argv[1:]
query = {"deploy": "commit", "traffic": "weight", "metrics": "target"}
arg = f"&{query[action]}={rest[0]}" if rest else ""
method = "POST" if action in ("deploy", "traffic") else "GET"
request = urllib.request.Request(f"{url}/{action}?service={service}{arg}", method=method)
try:
    with urllib.request.urlopen(request, timeout=60) as answer:
        sys.stdout.write(answer.read().decode())
except urllib.error.HTTPError as exc:
    print(f"platform refused {action}: {exc.code} {exc.read().decode()}", file=sys.stderr)
    sys.exit(1)
'''


@dataclass
class ServiceState:
    """One service on the platform: the stable revision, the canary and its weight, and every weight set."""

    stable: str
    canary: str | None = None
    weight: int = 0
    weights: list[int] = field(default_factory=list)


@dataclass
class PlatformState:
    """What the platform serves, and how it misbehaves (set by the test, read by the handler)."""

    services: dict[str, ServiceState] = field(default_factory=dict)
    good: list[float] = field(default_factory=lambda: [0.001, 0.002, 0.003, 0.002, 0.001, 0.002])
    bad: list[float] = field(default_factory=lambda: [0.04, 0.05, 0.06, 0.05, 0.04, 0.05])
    bad_from: dict[str, int] = field(default_factory=dict)  # commit → the weight from which its samples are bad
    bad_service_from: dict[str, int] = field(default_factory=dict)  # service → the weight from which its are bad
    no_data_services: set[str] = field(default_factory=set)  # services whose canary has no samples at all
    samples_of: dict[str, list[float]] = field(default_factory=dict)  # commit → its samples, whatever the weight
    no_data: set[str] = field(default_factory=set)  # commits with no samples at all
    refuse_weights: set[int] = field(default_factory=set)  # traffic commands for these weights fail
    hold: threading.Event | None = None  # set: metrics requests wait until it is cleared … released
    release: threading.Event = field(default_factory=threading.Event)
    metrics_asked: threading.Event = field(default_factory=threading.Event)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # bodies POSTed to /hook (deploywatch's webhook)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def samples(self, service: str, target: str) -> list[float]:
        state = self.services[service]
        commit = state.canary if target == "canary" and state.canary else state.stable
        if commit in self.no_data or (target == "canary" and service in self.no_data_services):
            return []
        if target == "canary" and service in self.bad_service_from and state.weight >= self.bad_service_from[service]:
            return self.bad
        if commit in self.samples_of:
            return self.samples_of[commit]
        if commit in self.bad_from and state.weight >= self.bad_from[commit]:
            return self.bad
        return self.good


class _Handler(BaseHTTPRequestHandler):
    state: PlatformState

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _answer(self, code: int, text: str) -> None:
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        state = self.state
        service = state.services.get(query.get("service", ""))
        if service is None:
            return self._answer(404, "no such service")
        if url.path == "/version":
            return self._answer(200, (service.canary or service.stable) + "\n")
        if url.path == "/metrics":
            state.metrics_asked.set()
            if state.hold is not None and state.hold.is_set():
                state.release.wait(30)
            with state.lock:
                values = state.samples(query["service"], query.get("target", "canary"))
            return self._answer(200, "".join(f"{v}\n" for v in values))
        return self._answer(404, "unknown path")

    def do_POST(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        state = self.state
        if url.path == "/hook":
            length = int(self.headers.get("Content-Length") or 0)
            with state.lock:
                state.alerts.append(json.loads(self.rfile.read(length) or b"{}"))
            return self._answer(200, "ok")
        with state.lock:
            service = state.services.get(query.get("service", ""))
            if service is None:
                return self._answer(404, "no such service")
            if url.path == "/deploy":
                commit = query["commit"]
                if commit == service.stable:  # a rollback: the canary goes, all traffic to stable
                    service.canary, service.weight = None, 0
                else:  # a new revision, with no traffic
                    service.canary, service.weight = commit, 0
                return self._answer(200, f"{query['service']}: {commit} deployed with no traffic\n")
            if url.path == "/traffic":
                weight = int(query["weight"])
                if weight in state.refuse_weights:
                    return self._answer(500, f"traffic {weight} refused")
                if service.canary is None and weight > 0:
                    return self._answer(409, "no canary revision to send traffic to")
                service.weight = weight
                service.weights.append(weight)
                return self._answer(200, f"{query['service']}: canary at {weight}%\n")
        return self._answer(404, "unknown path")


@dataclass
class Fleet:
    """The repository, the ops directory (script, config) and the running platform."""

    repo: GitRepo
    ops: Path
    config: Path
    shas: dict[str, str]
    state: PlatformState
    url: str

    def service(self, name: str = "web") -> ServiceState:
        """The platform's view of ``name``."""
        return self.state.services[name]

    def configure(self, analysis: str = "", *, steps: str = "[10, 25, 50, 100]", extra: str = "",
                  lease: str = "60s") -> None:
        """Write the config: service ``web`` deployed through the platform, with a rollout and ``analysis``."""
        run = f"{sys.executable} {self.ops / 'pretend_platform.py'} {self.url}"
        write_config(self.ops, f"""[repo]
path = "../repo"

[deploy]
lease = "{lease}"

[services.web]
paths = ["web/**"]
deployed = {{ command = "{run} version web" }}
deploy = "{run} deploy {{{{ service }}}} {{{{ commit }}}}"

[services.web.preflight]
require_synced = false

[services.web.verify]
timeout = "5s"
interval = "1s"

[services.web.rollout]
traffic = "{run} traffic {{{{ service }}}} {{{{ weight }}}}"
steps = {steps}
interval = "0s"
{analysis}
{extra}""")

    def configure_group(self, analyses: dict[str, str], *, extra: str = "") -> None:
        """Write the config: each service of ``analyses`` (in deploy order, group ``pair``) deployed through the
        platform with a rollout judged by its analysis TOML."""
        run = f"{sys.executable} {self.ops / 'pretend_platform.py'} {self.url}"
        blocks = [f"""[services.{name}]
paths = ["{name}/**"]
group = "pair"
deployed = {{ command = "{run} version {name}" }}
deploy = "{run} deploy {{{{ service }}}} {{{{ commit }}}}"

[services.{name}.preflight]
require_synced = false

[services.{name}.verify]
timeout = "5s"
interval = "1s"

[services.{name}.rollout]
traffic = "{run} traffic {{{{ service }}}} {{{{ weight }}}}"
steps = [10, 25, 50, 100]
interval = "0s"
{analysis.replace("services.web.", f"services.{name}.")}
""" for name, analysis in analyses.items()]
        order = ", ".join(f'"{name}"' for name in analyses)
        write_config(self.ops, f'[repo]\npath = "../repo"\n\n[groups.pair]\ndeploy_order = [{order}]\n\n'
                     + "\n".join(blocks) + extra)

    def metrics_command(self) -> str:
        """The analysis command that prints the samples of ``{{ target }}``."""
        script = self.ops / "pretend_platform.py"  # not platform.py: a daemon started in ops would import it
        return f"{sys.executable} {script} {self.url} metrics {{{{ service }}}} {{{{ target }}}}"

    def cli(self, *args: str, timeout: float = 90) -> tuple[int, str, str]:
        """Run ``deploywatch ARGS --config …`` in a real process; exit code, stdout, stderr."""
        proc = subprocess.run([sys.executable, "-m", "deploywatch", *args, "--config", str(self.config)],
                              capture_output=True, text=True, timeout=timeout, env=process_env(), check=False)
        return proc.returncode, proc.stdout, proc.stderr

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start ``deploywatch ARGS --config … --format json`` without waiting for it."""
        return subprocess.Popen([sys.executable, "-m", "deploywatch", *args, "--config", str(self.config),
                                 "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=process_env())

    def json(self, *args: str) -> tuple[int, dict[str, Any], str]:
        """``cli`` with ``--format json``: exit code, the document (valid against its schema), stderr."""
        code, out, err = self.cli(*args, "--format", "json")
        assert out, err
        return code, valid(json.loads(out)), err

    def status(self, service: str = "web") -> dict[str, Any]:
        """``deploywatch rollout status SERVICE --format json``."""
        _, document, err = self.json("rollout", "status", service)
        assert document["schema"] == "deploywatch.rollout/v1", err
        return document

    def ledger(self, service: str = "web") -> list[dict[str, Any]]:
        """The service's ledger entries, newest first (``deploywatch deployments``)."""
        code, document, err = self.json("deployments", service)
        assert code == 0, err
        entries: list[dict[str, Any]] = document["deployments"]
        return entries


def valid(document: dict[str, Any]) -> dict[str, Any]:
    """``document``, once it validates against the schema (docs/schemas/) its ``schema`` field names."""
    from jsonschema import Draft202012Validator, FormatChecker

    name = document["schema"].removeprefix("deploywatch.").removesuffix("/v1")
    schema = json.loads((SCHEMAS / f"{name}.v1.json").read_text())
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert problems == [], problems
    return document


def build_fleet(git_repo: GitRepo, tmp_path: Path) -> Iterator[Fleet]:
    """A history ``base`` → ``web1``; the platform runs ``base`` for web; yields the fleet, then stops the server."""
    shas = {"base": git_repo.commit("base", {"web/app.py": "1\n"})}
    shas["web1"] = git_repo.commit("web: one", {"web/app.py": "2\n"})
    ops = tmp_path / "ops"
    ops.mkdir()
    (ops / "pretend_platform.py").write_text(PLATFORM_PY)
    state = PlatformState(services={"web": ServiceState(stable=shas["base"])})
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="platform", daemon=True)
    thread.start()
    try:
        fleet = Fleet(git_repo, ops, ops / "deploywatch.toml", shas, state,
                      f"http://127.0.0.1:{server.server_address[1]}")
        fleet.configure()
        yield fleet
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
