"""Drift benchmark: deploywatch against one ``git log`` walk (the floor) and per-service ``git rev-list``.

    .venv/bin/python benchmarks/drift.py [--commits 100000] [--services 50] [--repeat 5]
                                         [--workdir benchmarks/.work] [--incremental] [--json]
    .venv/bin/python benchmarks/drift.py --scale   # the scale row: 1,000,000 commits, 500 services

Builds (once, cached) a synthetic monorepo, places each service's deployed commit 0…20,000 commits
back, times the three contenders in alternation, checks deploywatch's counts against git and prints
the ratios set as targets (docs/drift-semantics.md). deploywatch runs with an empty walk cache (cold); with
``--incremental`` also warm: its cache kept by a run at the tip ``--new-commits`` first-parent commits back.
``--scale`` times cold deploywatch against the floor only (no naive contender: 500 rev-lists), checks a
sample of services against git and holds deploywatch's peak RSS to 1 GiB.
Exit code: 0 all good, 1 deploywatch missing, failing or
disagreeing with git, 2 a performance target missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _oracle
import _report
import _synthrepo
from _measure import Measured, Summary, Timeout, compile_bytecode, run

SCHEMA = "deploywatch.drift/v1"
DRIFT_TIMEOUT = 600.0
HELP_TIMEOUT = 60.0


@dataclass
class Sample:
    """One timed run of one contender (the naive one sums its 50 rev-lists)."""

    wall: float
    cpu: float
    max_rss_kib: int


@dataclass
class Fixture:
    """The generated repository, its config and what git says about each service."""

    home: Path
    repo: Path
    config: Path
    info: _synthrepo.BuildInfo
    deployed: dict[str, tuple[str, int]]
    oldest: str
    widest: int
    previous_config: Path | None = None  # --incremental: the config at the tip of the run before


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def deploywatch_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "deploywatch", *args]


# ------------------------------------------------------------------ contenders


def cache_folder(fx: Fixture, name: str, *, empty: bool = True, like: str | None = None) -> Path:
    """A walk-cache folder of the fixture: emptied, then (``like``) holding a copy of another one's files."""
    folder = fx.home / "walk-cache" / name
    folder.mkdir(parents=True, exist_ok=True)
    if empty:
        for old in folder.iterdir():
            old.unlink()
    if like is not None:
        for kept in (fx.home / "walk-cache" / like).iterdir():
            shutil.copyfile(kept, folder / kept.name)
    return folder


def run_deploywatch(fx: Fixture, cache: Path, config: Path | None = None) -> tuple[Sample, dict[str, Any]]:
    """``deploywatch drift --format json`` for every service with the walk cache in ``cache``; fail unless it
    prints the v1 schema."""
    m = run(deploywatch_cmd("drift", "--config", str(config or fx.config), "--format", "json"), cwd=fx.home,
            env={**_synthrepo.git_env(), "DEPLOYWATCH_CACHE_DIR": str(cache), "DEPLOYWATCH_WALK_CACHE": "1"},
            timeout=DRIFT_TIMEOUT)
    try:
        doc = json.loads(m.stdout)
    except ValueError:
        doc = None
    if m.returncode not in (0, 1, 2, 3) or not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise SystemExit(f"deploywatch drift failed (exit {m.returncode}); stdout starts "
                         f"{m.stdout[:300]!r}; stderr ends {m.stderr[-1500:].decode(errors='replace')!r}")
    return Sample(m.wall, m.cpu, m.max_rss_kib), doc


def run_floor(fx: Fixture) -> Sample:
    """One plain ``git log --name-only`` over the widest range, output read and dropped."""
    m = run(["git", "-C", str(fx.repo), "log", "--name-only", "--format=%H", f"{fx.oldest}..main"],
            env=_synthrepo.git_env(), timeout=DRIFT_TIMEOUT, keep_stdout=False)
    _check_git(m, "git log")
    return Sample(m.wall, m.cpu, m.max_rss_kib)


def run_naive(fx: Fixture) -> tuple[Sample, dict[str, int]]:
    """Per service, sequentially: ``git rev-list --count --no-merges --full-history D..main -- specs``."""
    counts: dict[str, int] = {}
    cpu, rss = 0.0, 0
    started = time.perf_counter()
    for name, sha, _ in _synthrepo.iter_services(fx.deployed):
        m = run(["git", "-C", str(fx.repo), "rev-list", "--count", "--no-merges", "--full-history",
                 f"{sha}..main", "--", *_synthrepo.pathspecs(name)],
                env=_synthrepo.git_env(), timeout=DRIFT_TIMEOUT)
        _check_git(m, "git rev-list")
        counts[name] = int(m.stdout)
        cpu += m.cpu
        rss = max(rss, m.max_rss_kib)
    return Sample(time.perf_counter() - started, cpu, rss), counts


_SELF_RSS_WRAPPER = """
import atexit, os, resource, runpy, sys
def _report():
    with open(os.environ["DWBENCH_RSS_FILE"], "w") as out:
        out.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
atexit.register(_report)
sys.argv = ["deploywatch", *sys.argv[1:]]
runpy.run_module("deploywatch", run_name="__main__", alter_sys=True)
"""


def deploywatch_self_rss(fx: Fixture) -> int | None:
    """Peak RSS (KiB) of the deploywatch Python process alone, without the git it runs (one untimed run)."""
    out = fx.home / "self-rss.txt"
    out.unlink(missing_ok=True)
    env = {**_synthrepo.git_env(), "DWBENCH_RSS_FILE": str(out),
           "DEPLOYWATCH_CACHE_DIR": str(cache_folder(fx, "rss"))}
    run([sys.executable, "-c", _SELF_RSS_WRAPPER, "drift", "--config", str(fx.config), "--format", "json"],
        cwd=fx.home, env=env, timeout=DRIFT_TIMEOUT, keep_stdout=False)
    return int(out.read_text()) if out.is_file() else None


def _check_git(m: Measured, what: str) -> None:
    if m.returncode != 0:
        raise SystemExit(f"{what} failed ({m.returncode}): {m.stderr.decode(errors='replace')[-500:]}")


def deploywatch_available() -> str | None:
    """None when ``deploywatch drift`` exists, else why not."""
    try:
        m = run(deploywatch_cmd("drift", "--help"), timeout=HELP_TIMEOUT)
    except Timeout as exc:
        return str(exc)
    if m.returncode == 0:
        return None
    lines = m.stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit code {m.returncode}"


# ------------------------------------------------------------------ phases


def prepare(args: argparse.Namespace) -> Fixture:
    """Build or reuse the repository, then (re)write the deployed files and the config."""
    spec = _synthrepo.RepoSpec(args.commits, args.services, args.seed, args.merge_every)
    home, info = _synthrepo.build(args.workdir.resolve(), spec, sys.stderr)
    repo = home / "repo"
    chain = _synthrepo.first_parent_chain(repo)
    max_behind = args.commits // 5 if args.max_behind is None else args.max_behind
    # --incremental: the deployed commits are ones the run before (at the tip --new-commits back) could see, so that
    # the warm run has that many new commits to take in, as the daemon's next run would.
    skip = args.new_commits if args.incremental else 0
    deployed = {name: (sha, back + skip) for name, (sha, back)
                in _synthrepo.choose_deployed(chain[skip:], args.services, max_behind, args.seed).items()}
    config = _synthrepo.write_config(home, deployed)
    oldest, widest = max(deployed.values(), key=lambda d: d[1])
    fx = Fixture(home, repo, config, info, deployed, oldest, widest)
    if args.incremental:
        fx.previous_config = home / "deploywatch-previous.toml"
        previous = config.read_text().replace('branch = "main"', f'branch = "main~{args.new_commits}"')
        fx.previous_config.write_text(previous)
    return fx


class InProcess:
    """``_drift_daemon.py`` kept running: drift measured as the daemon's job measures it (imports and config done)."""

    def __init__(self, fx: Fixture) -> None:
        helper = Path(__file__).with_name("_drift_daemon.py")
        self.proc = subprocess.Popen([sys.executable, str(helper), str(fx.config)], cwd=fx.home,
                                     env=_synthrepo.git_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit("the in-process contender (_drift_daemon.py) did not start; is deploywatch installed?")

    def measure(self, cache: Path, previous: Path | None = None) -> tuple[Sample, dict[str, Any]]:
        """One timed drift run with the walk cache in ``cache`` (after an untimed one with the ``previous`` config,
        the daemon's run before)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{cache}\t{previous}\n" if previous else f"{cache}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the in-process contender ended (exit {self.proc.wait(DRIFT_TIMEOUT)})")
        answer = json.loads(line)
        return Sample(answer["wall"], answer["cpu"], 0), answer["document"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(DRIFT_TIMEOUT)


def prime(fx: Fixture) -> None:
    """Keep the walk of the run before (the tip ``--new-commits`` back) in the ``primed`` cache folder."""
    assert fx.previous_config is not None
    run_deploywatch(fx, cache_folder(fx, "primed"), fx.previous_config)
    if not any((fx.home / "walk-cache" / "primed").iterdir()):
        raise SystemExit("deploywatch drift kept no walk in its cache folder")


def sample_services(deployed: dict[str, tuple[str, int]], size: int | None) -> set[str]:
    """``size`` services spread evenly over the deployed range by commits back (the oldest and the
    newest always among them); every service when ``size`` is None or not smaller than their number."""
    ranked = sorted(deployed, key=lambda name: (deployed[name][1], name))
    if size is None or size >= len(ranked):
        return set(ranked)
    if size == 1:
        return {ranked[-1]}
    return {ranked[round(k * (len(ranked) - 1) / (size - 1))] for k in range(size)}


def ask_git(fx: Fixture, sample: int | None = None) -> list[_oracle.Expected]:
    """Git's answer per service, or per service of an even ``sample`` of them (untimed; also warms the page
    cache for every contender)."""
    brought = _oracle.on_branch_times(fx.repo, fx.oldest)
    chosen = sample_services(fx.deployed, sample)
    return [_oracle.expected(fx.repo, name, sha, back, brought)
            for name, sha, back in _synthrepo.iter_services(fx.deployed) if name in chosen]


@dataclass
class Race:
    """Every timed sample per contender, and what each timed run answered."""

    samples: dict[str, list[Sample]]
    documents: list[dict[str, Any]]
    naive_counts: list[dict[str, int]]


def race(fx: Fixture, repeat: int, with_deploywatch: bool, with_naive: bool = True) -> Race:
    """Time the contenders ``repeat`` times each, rotating their order every round so that noise
    (other processes, CPU frequency) falls on all of them alike."""
    result = Race({}, [], [])

    def deploywatch() -> Sample:
        sample, doc = run_deploywatch(fx, cache_folder(fx, "cold"))
        result.documents.append(doc)
        return sample

    def warm() -> Sample:
        sample, doc = run_deploywatch(fx, cache_folder(fx, "warm", like="primed"))
        result.documents.append(doc)
        return sample

    def in_process(folder: str, previous: Path | None) -> Callable[[], Sample]:
        def measure() -> Sample:
            assert daemon is not None
            sample, doc = daemon.measure(cache_folder(fx, folder), previous)
            result.documents.append(doc)
            return sample
        return measure

    def naive() -> Sample:
        sample, counts = run_naive(fx)
        result.naive_counts.append(counts)
        return sample

    contenders: dict[str, Callable[[], Sample]] = {"floor": lambda: run_floor(fx)}
    if with_naive:
        contenders["naive"] = naive
    daemon = None
    if with_deploywatch:
        contenders = {"deploywatch": deploywatch, **contenders}
        deploywatch()  # warm-up: byte-compile, fill the page cache
        result.documents.clear()
        if fx.previous_config:
            prime(fx)
            daemon = InProcess(fx)
            contenders = {"daemon_warm": in_process("daemon-warm", fx.previous_config), "warm": warm,
                          "daemon_cold": in_process("daemon-cold", None), **contenders}
            contenders["daemon_cold"]()  # its warm-up: the first run in a process fills its own caches
            result.documents.clear()
    run_floor(fx)
    result.samples = {name: [] for name in contenders}
    order = list(contenders)
    for round_no in range(repeat):
        shift = round_no % len(order)
        for name in order[shift:] + order[:shift]:
            result.samples[name].append(contenders[name]())
        log(f"round {round_no + 1}/{repeat}: "
            + ", ".join(f"{name} {s[-1].wall:.3f}s" for name, s in result.samples.items()))
    if daemon is not None:
        daemon.close()
    return result


def cold_start(runs: int) -> dict[str, Summary]:
    """Median wall time of ``python -c pass``, ``python -m deploywatch --help`` and the console script,
    after one warm-up round (bytecode written, files in the page cache)."""
    commands = {"python -c pass": [sys.executable, "-c", "pass"],
                "python -m deploywatch --help": deploywatch_cmd("--help")}
    script = Path(sys.executable).parent / "deploywatch"
    if script.is_file():
        commands["deploywatch --help (console script)"] = [str(script), "--help"]
    walls: dict[str, list[float]] = {name: [] for name in commands}
    broken: set[str] = set()
    for round_no in range(runs + 1):
        for name, cmd in commands.items():
            if name in broken:
                continue
            m = run(cmd, timeout=HELP_TIMEOUT)
            if m.returncode != 0:
                broken.add(name)
                log(f"{name} failed ({m.returncode}): {m.stderr.decode(errors='replace')[-300:]}")
            elif round_no:
                walls[name].append(m.wall)
    return {name: Summary.of(w) for name, w in walls.items() if w and name not in broken}


def slowest_imports(limit: int = 10) -> list[tuple[str, float]]:
    """The modules ``deploywatch --help`` spends most import time on (``python -X importtime``):
    the top level and two levels below it, by cumulative time."""
    m = run([sys.executable, "-X", "importtime", "-m", "deploywatch", "--help"], timeout=HELP_TIMEOUT)
    found: list[tuple[str, float]] = []
    for line in m.stderr.decode(errors="replace").splitlines():
        # "import time: self | cumulative | name", the name indented two spaces per nesting level.
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S.*)$", line)
        if match and len(match.group(2)) <= 4:
            found.append(("  " * (len(match.group(2)) // 2) + match.group(3).strip(), int(match.group(1)) / 1e6))
    return sorted(found, key=lambda f: -f[1])[:limit]


# ------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="store_true",
                        help="the scale row: defaults 1,000,000 commits, 500 services, 3 rounds, 12 services checked "
                             "against git; cold deploywatch against the floor only, peak RSS held to 1 GiB")
    parser.add_argument("--commits", type=int, default=None,
                        help="commits on main (default 100000; 1000000 with --scale)")
    parser.add_argument("--services", type=int, default=None, help="services (default 50; 500 with --scale)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed runs of each contender (default 5; 3 with --scale)")
    parser.add_argument("--check", type=int, default=None,
                        help="services checked against git, spread over the deployed range, the oldest "
                             "among them (default all; 12 with --scale)")
    parser.add_argument("--workdir", type=Path, default=Path(__file__).parent / ".work",
                        help="where repositories are built and cached (default benchmarks/.work)")
    parser.add_argument("--seed", type=int, default=7, help="RNG seed of the history (default 7)")
    parser.add_argument("--max-behind", type=int, default=None,
                        help="oldest deployed commit, in first-parent commits back (default commits/5)")
    parser.add_argument("--merge-every", type=int, default=50, help="main commits between merges (~)")
    parser.add_argument("--cold-runs", type=int, default=9, help="runs per start-up command (default 9)")
    parser.add_argument("--incremental", action="store_true",
                        help="also time a warm run: the walk cache kept by a run --new-commits back")
    parser.add_argument("--new-commits", type=int, default=10,
                        help="with --incremental: first-parent commits since the run before (default 10)")
    parser.add_argument("--per-service", action="store_true", help="also print a row per service")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    args = parser.parse_args(argv)
    scale = {"commits": 1_000_000, "services": 500, "repeat": 3, "check": 12} if args.scale else {}
    defaults = {"commits": 100_000, "services": 50, "repeat": 5, "check": None, **scale}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.check is not None and args.check < 1:
        parser.error("need --check ≥ 1")
    if args.services < 1 or args.commits < args.services * 4 or args.repeat < 1 or args.cold_runs < 1:
        parser.error("need --services ≥ 1, --commits ≥ 4 × services, --repeat ≥ 1, --cold-runs ≥ 1")
    if args.new_commits < 1:
        parser.error("need --new-commits ≥ 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report; return 0, 1 (deploywatch wrong or absent) or 2 (slow)."""
    args = parse_args(argv)
    load_before = os.getloadavg()
    fx = prepare(args)
    checked = args.services if args.check is None else min(args.check, args.services)
    log(f"asking git for the expected answers ({checked} of {args.services} services) …")
    wanted = ask_git(fx, args.check)
    missing = deploywatch_available()
    log(compile_bytecode("deploywatch"))
    if missing:
        log(f"deploywatch drift is not available ({missing}); timing git only")
    result = race(fx, args.repeat, with_deploywatch=missing is None, with_naive=not args.scale)
    for exp in wanted if result.naive_counts else ():
        counts = {c[exp.name] for c in result.naive_counts}
        exp.naive_count = counts.pop() if len(counts) == 1 else -1
    verdicts = [_oracle.compare(doc, wanted) for doc in result.documents]
    startup: dict[str, Summary] = {}
    self_rss = None
    if missing is None:
        log("measuring start-up and memory …" if not args.scale else "measuring memory …")
        startup = {} if args.scale else cold_start(args.cold_runs)  # the scale row is about the walk
        self_rss = deploywatch_self_rss(fx)
    help_slow = any(s.median > _report.TARGET_HELP_SECONDS for k, s in startup.items() if "deploywatch" in k)
    report = _report.build(fx, wanted, result, verdicts, startup, missing, self_rss, scale=args.scale,
                           environment=_report.environment(load_before, os.getloadavg()),
                           imports=slowest_imports() if help_slow else [])
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_report.render(report, per_service=args.per_service))
    return int(report["exit_code"])


if __name__ == "__main__":
    sys.exit(main())
