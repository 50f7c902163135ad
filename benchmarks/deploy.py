"""Deploy benchmark: deploywatch's own overhead on a no-op deploy command, against running the bare command.

    .venv/bin/python benchmarks/deploy.py [--runs 9] [--workdir benchmarks/.work] [--profile] [--json]

Builds a small repository and a config with six services (``solo``, and ``svc1`` … ``svc5`` in group ``five``)
whose deploy command writes the deployed file the ``file`` source reads, so verify succeeds on its first reading
and nothing waits. Times, in rotated order per round: the bare command (``sh -c``), an in-process call of the
deploy engine, and ``deploywatch deploy`` in a fresh process, for one service and for the group; each deploy moves
to the other of two commits, so every run really changes something and writes the ledger. The target (issue 12):
overhead = deploy - bare command ≤ 0.5 s median for one service, ≤ 1 s for the 5-service group. Exit code: 0 all
met, 1 a deploy failed or did not land, 2 a target missed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _deploy_report
import _synthrepo
from _measure import compile_bytecode, run

GROUP = ("svc1", "svc2", "svc3", "svc4", "svc5")
SERVICES = ("solo", *GROUP)
CLI_TIMEOUT = 120.0
COMMAND = "echo {{ commit }} > %s/{{ service }}.sha"  # the deploy template; %s: the deployed folder


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ fixture


@dataclass
class Fixture:
    """The repository, the ops folder (deployed files, config, the ledger's store) and the two commits."""

    home: Path
    repo: Path
    ops: Path
    config: Path
    commits: tuple[str, str]  # A (older) and B (the tip)

    def deployed(self, service: str) -> str:
        return (self.ops / "deployed" / f"{service}.sha").read_text().strip()

    def next_commit(self, service: str) -> str:
        """The commit that changes what ``service`` runs: the other of A and B."""
        a, b = self.commits
        return a if self.deployed(service) == b else b

    def bare_command(self, service: str, commit: str) -> str:
        """The deploy command as deploywatch renders it (values shell-quoted)."""
        rendered = COMMAND.replace("{{ commit }}", shlex.quote(commit)).replace("{{ service }}", shlex.quote(service))
        return rendered % shlex.quote(str(self.ops / "deployed"))


def build_fixture(workdir: Path) -> Fixture:
    """A fresh repository (a few commits per service, two to shared/) and config; every service runs A."""
    home = workdir / "deploy"
    shutil.rmtree(home, ignore_errors=True)
    repo, ops = home / "repo", home / "ops"
    (ops / "deployed").mkdir(parents=True)
    repo.mkdir(parents=True)
    _synthrepo.git(repo, "init", "-q", "-b", "main")
    for key, value in (("user.name", "Bench"), ("user.email", "bench@example.com"), ("commit.gpgsign", "false")):
        _synthrepo.git(repo, "config", key, value)
    shas: list[str] = []
    for round_no in range(4):
        for name in (*SERVICES, "shared"):
            folder = repo / ("shared" if name == "shared" else f"services/{name}")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "app.py").write_text(f"VERSION = {round_no}\n")
            _synthrepo.git(repo, "add", "-A")
            _synthrepo.git(repo, "commit", "-q", "--no-verify", "-m", f"{name}: round {round_no}")
            shas.append(_synthrepo.git(repo, "rev-parse", "HEAD").strip())
    a, b = shas[len(shas) // 2], shas[-1]
    for name in SERVICES:
        (ops / "deployed" / f"{name}.sha").write_text(a + "\n")
    template = COMMAND % shlex.quote(str(ops / "deployed"))
    services = "".join(f"""
[services.{name}]
paths = ["services/{name}/**", "shared/**"]
{'group = "five"' if name in GROUP else ""}
deployed = {{ file = {json.dumps(str(ops / "deployed" / f"{name}.sha"))} }}
deploy = {json.dumps(template)}

[services.{name}.preflight]
require_synced = false
""" for name in SERVICES)
    config = ops / "deploywatch.toml"
    config.write_text(f'[repo]\npath = {json.dumps(str(repo))}\n\n[groups.five]\ndeploy_order = '
                      f'{json.dumps(list(GROUP))}\n{services}')
    return Fixture(home, repo, ops, config, (a, b))


# ------------------------------------------------------------------ the engine, in process, with a breakdown


@dataclass
class Breakdown:
    """Seconds per part of an in-process deploy, summed over the calls of one run."""

    parts: dict[str, float] = field(default_factory=dict)

    def add(self, part: str, seconds: float) -> None:
        self.parts[part] = self.parts.get(part, 0.0) + seconds


_ACTIVE = [Breakdown()]  # the breakdown the timers add to (one run at a time)


def _timed(part: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            _ACTIVE[0].add(part, time.perf_counter() - started)
    return wrapper


def instrument() -> None:
    """Wrap the engine's parts in timers (where the engine looks them up); the code that runs is unchanged."""
    from deploywatch.deploy import engine, steps
    from deploywatch.store import Store

    for module, name, part in ((engine, "run_preflight", "preflight"), (engine, "run_post_deploy", "post_deploy"),
                               (steps, "run_streamed", "command"), (steps, "verify_live", "verify")):
        setattr(module, name, _timed(part, getattr(module, name)))
    for method in ("begin_deployment", "finish_deployment", "deploy_locks", "renew_deploy_lock", "reap_deployments"):
        setattr(Store, method, _timed("lock/ledger", getattr(Store, method)))


def deploy_in_process(fx: Fixture, services: tuple[str, ...], group: str | None,
                      commit: str) -> tuple[float, Breakdown]:
    """``_context`` as ``deploywatch deploy`` builds it, then ``engine.deploy``; wall seconds and where they went."""
    from deploywatch.commands.deploy import _context
    from deploywatch.deploy.engine import DeployRequest, deploy

    parts = _ACTIVE[0] = Breakdown()
    shown = io.StringIO()  # the progress lines go here (stderr, as with --format json)
    started = time.perf_counter()
    with contextlib.redirect_stderr(shown):
        context = _context(fx.config, "json", None)
        parts.add("config + store open", time.perf_counter() - started)
        with context.store:
            report = deploy(context, DeployRequest(services, group, commit, yes=True, allow_downgrade=True),
                            now=datetime.now(UTC))
    wall = time.perf_counter() - started
    statuses = [o.status for o in report.outcomes]
    if report.exit_code != 0 or statuses != ["succeeded"] * len(statuses) or not statuses:
        raise SystemExit(f"in-process deploy failed (exit {report.exit_code}, {statuses}, blocked {report.blocked}):"
                         f"\n{shown.getvalue()[-1500:]}")
    return wall, parts


def profile(fx: Fixture, rounds: int, limit: int = 15) -> str:
    """cProfile of ``rounds`` in-process group deploys: the top functions by cumulative time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    for _ in range(rounds):
        commit = fx.next_commit(GROUP[0])
        profiler.enable()
        deploy_in_process(fx, (), "five", commit)
        profiler.disable()
        check_landed(fx, GROUP, commit)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)
    return out.getvalue()


# ------------------------------------------------------------------ fresh processes


def deploy_cli(fx: Fixture, args: Sequence[str]) -> float:
    """``python -m deploywatch deploy ARGS --yes --format json`` in a fresh process; its wall time."""
    cmd = [sys.executable, "-m", "deploywatch", "deploy", *args, "--yes", "--allow-downgrade", "--config",
           str(fx.config), "--format", "json"]
    m = run(cmd, timeout=CLI_TIMEOUT, cwd=fx.ops, env=_synthrepo.git_env())
    try:
        doc = json.loads(m.stdout)
    except ValueError:
        doc = {}
    if m.returncode != 0 or doc.get("status") != "succeeded":
        raise SystemExit(f"deploywatch deploy {' '.join(args)} failed (exit {m.returncode}): stdout "
                         f"{m.stdout[:400]!r}; stderr {m.stderr[-1500:].decode(errors='replace')!r}")
    return m.wall


def bare(fx: Fixture, services: Sequence[str], commit: str) -> float:
    """The deploy command itself, ``/bin/sh -c`` per service, one after the other; wall seconds."""
    total = 0.0
    for service in services:
        m = run(["/bin/sh", "-c", fx.bare_command(service, commit)], timeout=CLI_TIMEOUT, cwd=fx.repo)
        if m.returncode != 0:
            raise SystemExit(f"the bare command failed: {m.stderr.decode(errors='replace')}")
        total += m.wall
    return total


def check_landed(fx: Fixture, services: Sequence[str], commit: str) -> None:
    wrong = [s for s in services if fx.deployed(s) != commit]
    if wrong:
        raise SystemExit(f"{', '.join(wrong)} do not run {commit[:12]} after the deploy")


# ------------------------------------------------------------------ the race


@dataclass
class Results:
    """Wall seconds per contender per round, and the in-process breakdowns."""

    walls: dict[str, list[float]] = field(default_factory=dict)
    breakdowns: dict[str, list[Breakdown]] = field(default_factory=dict)


def contenders(fx: Fixture, results: Results) -> dict[str, Callable[[], float]]:
    def inproc(key: str, services: tuple[str, ...], group: str | None) -> Callable[[], float]:
        members = services or GROUP

        def go() -> float:
            commit = fx.next_commit(members[0])
            wall, parts = deploy_in_process(fx, services, group, commit)
            check_landed(fx, members, commit)
            results.breakdowns.setdefault(key, []).append(parts)
            return wall
        return go

    def cli(args: tuple[str, ...], members: tuple[str, ...]) -> Callable[[], float]:
        def go() -> float:
            commit = fx.next_commit(members[0])
            wall = deploy_cli(fx, (*args, "--commit", commit))
            check_landed(fx, members, commit)
            return wall
        return go

    # The bare command writes the file of an unused service name, so it changes no service's state.
    return {
        "bare": lambda: bare(fx, ["bare"], fx.commits[0]),
        "bare x5": lambda: bare(fx, [f"bare{i}" for i in range(len(GROUP))], fx.commits[0]),
        "in-process": inproc("in-process", ("solo",), None),
        "in-process group": inproc("in-process group", (), "five"),
        "cold CLI": cli(("solo",), ("solo",)),
        "cold CLI group": cli(("--group", "five"), GROUP),
    }


def race(fx: Fixture, runs: int) -> Results:
    """One warm-up round, then ``runs`` rounds with the order rotated so that noise falls on all alike."""
    results = Results()
    todo = contenders(fx, results)
    for func in todo.values():
        func()  # warm-up: imports, bytecode, page cache, the store's schema
    results.breakdowns.clear()
    results.walls = {name: [] for name in todo}
    order = list(todo)
    for round_no in range(runs):
        shift = round_no % len(order)
        for name in order[shift:] + order[:shift]:
            results.walls[name].append(todo[name]())
        log(f"round {round_no + 1}/{runs}: " + ", ".join(f"{n} {w[-1]:.3f}s" for n, w in results.walls.items()))
    return results


def slowest_imports(fx: Fixture, limit: int = 12) -> list[tuple[str, float]]:
    """The modules a cold ``deploywatch deploy`` spends most import time on (``-X importtime``, self time; the
    tool's own overhead inflates the figures a little)."""
    commit = fx.next_commit("solo")
    m = run([sys.executable, "-X", "importtime", "-m", "deploywatch", "deploy", "solo", "--yes", "--allow-downgrade",
             "--commit", commit, "--config", str(fx.config), "--format", "json"],
            timeout=CLI_TIMEOUT, cwd=fx.ops, env=_synthrepo.git_env())
    found: list[tuple[str, float]] = []
    for line in m.stderr.decode(errors="replace").splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S.*)$", line)
        if match:
            found.append((match.group(2).strip(), int(match.group(1)) / 1e6))
    total = sum(s for _, s in found)
    return [("(all imports)", total), *sorted(found, key=lambda f: -f[1])[:limit]]


def start_up(runs: int) -> dict[str, list[float]]:
    """``python -c pass`` and ``python -m deploywatch --help``: what a fresh process costs before it deploys."""
    commands = {"python -c pass": [sys.executable, "-c", "pass"],
                "python -m deploywatch --help": [sys.executable, "-m", "deploywatch", "--help"]}
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for round_no in range(runs + 1):
        for name, cmd in commands.items():
            m = run(cmd, timeout=CLI_TIMEOUT)
            if round_no:
                walls[name].append(m.wall)
    return walls


# ------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each contender (default 9)")
    parser.add_argument("--workdir", type=Path, default=Path(__file__).parent / ".work",
                        help="where the repository and config are built (default benchmarks/.work)")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile top-15 of in-process group deploys (always when a target is missed)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of tables")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("need --runs ≥ 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report; return 0, 1 (a deploy failed) or 2 (a target missed)."""
    args = parse_args(argv)
    load_before = os.getloadavg()
    log(compile_bytecode("deploywatch"))
    fx = build_fixture(args.workdir.resolve())
    log(f"repository {fx.repo}; config {fx.config}")
    instrument()
    results = race(fx, args.runs)
    log("measuring start-up …")
    startup = start_up(args.runs)
    report = _deploy_report.build(results.walls, results.breakdowns, startup, fx=fx,
                                  environment=_deploy_report.environment(load_before, os.getloadavg()))
    if args.profile or not all(r["pass"] for r in report["overheads"]):
        report["slowest_imports"] = [{"module": n, "self_s": round(s, 4)} for n, s in slowest_imports(fx)]
    if args.profile or report["exit_code"] == 2:
        log("profiling in-process group deploys …")
        report["profile"] = profile(fx, max(3, args.runs // 3))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_deploy_report.render(report))
    return int(report["exit_code"])


if __name__ == "__main__":
    sys.exit(main())
