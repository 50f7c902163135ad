"""A synthetic monorepo for the drift benchmark, built with one ``git fast-import`` process.

The history is mostly linear on ``main`` with a short side branch merged every ~50 commits; each
commit changes 1-3 files chosen with a seeded RNG (mostly one service, sometimes ``shared/``,
sometimes ``docs/`` or root files). Every changed file gets a new, unique blob, so no commit is
accidentally empty. The build is cached per parameter set: a rerun with the same parameters reuses it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

# Bump when the shape of the generated history changes, so cached repositories are rebuilt.
GENERATOR_VERSION = 1
GIT_TIMEOUT = 300.0
# fast-import's time grows with commits and with the width of services/ (a 500-entry tree rewritten per commit:
# 100k commits x 500 services took 330s on a loaded machine), so its limit grows with the commits.
FAST_IMPORT_TIMEOUT = 900.0
FAST_IMPORT_SECONDS_PER_COMMIT = 0.01
START_TIME = 1_672_531_200  # 2023-01-01T00:00:00Z
AUTHORS = (
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "grace@example.com"),
    ("Linus Torvalds", "linus@example.com"),
    ("Margaret Hamilton", "margaret@example.com"),
    ("Ken Thompson", "ken@example.com"),
    ("Barbara Liskov", "barbara@example.com"),
    ("deploy-bot", "bot@example.com"),
)
SHARED_FILES = (
    "shared/README.md",
    *(f"shared/lib/{m}.py" for m in ("auth", "cache", "config", "db", "http", "logging", "metrics",
                                      "queue", "retry", "tracing")),
    *(f"shared/proto/{m}.proto" for m in ("common", "events", "models")),
    *(f"shared/schemas/{m}.json" for m in ("order", "customer", "event")),
)
ROOT_FILES = ("README.md", "Makefile", ".github/workflows/ci.yml", "pyproject.toml")


def git_env() -> dict[str, str]:
    """Our environment minus inherited ``GIT_*`` variables, with prompts off and messages in English."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "LANGUAGE": "C"})
    return env


def git(repo: Path, *args: str, timeout: float = GIT_TIMEOUT) -> str:
    """Run ``git -C REPO ARGS`` in a clean environment; return stdout, raise on failure."""
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, timeout=timeout,
                          env=git_env(), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed ({proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode()


def service_name(index: int) -> str:
    """``svc00``, ``svc01`` … (two digits up to 100 services)."""
    return f"svc{index:02d}" if index < 100 else f"svc{index}"


def service_files(name: str) -> tuple[str, ...]:
    """The 14 files of one service: code, tests, config and two Markdown files."""
    base = f"services/{name}"
    return (
        f"{base}/README.md",
        f"{base}/docs/runbook.md",
        f"{base}/Dockerfile",
        f"{base}/pyproject.toml",
        f"{base}/config/app.yaml",
        *(f"{base}/src/{name}/{m}.py" for m in ("__init__", "app", "handlers", "models", "db", "settings")),
        *(f"{base}/tests/test_{m}.py" for m in ("app", "handlers", "models")),
    )


@dataclass(frozen=True)
class RepoSpec:
    """The parameters a generated repository is keyed by."""

    commits: int
    services: int
    seed: int
    merge_every: int = 50

    @property
    def key(self) -> str:
        """A directory name that changes whenever the generated history would."""
        return (f"drift-c{self.commits}-s{self.services}-seed{self.seed}-m{self.merge_every}"
                f"-v{GENERATOR_VERSION}")


@dataclass
class BuildInfo:
    """What a build produced; saved beside the repository and reloaded on a cache hit."""

    spec: dict[str, int]
    commits: int
    merges: int
    files: int
    build_seconds: float
    stream_bytes: int
    cached: bool = field(default=False)


class _Stream:
    """Writes the fast-import command stream and allocates marks."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.next_mark = 1
        self.written = 0
        self._buf: list[bytes] = []
        self._buffered = 0

    def mark(self) -> int:
        m = self.next_mark
        self.next_mark += 1
        return m

    def emit(self, data: bytes) -> None:
        self._buf.append(data)
        self._buffered += len(data)
        if self._buffered >= 1 << 20:
            self.flush()

    def flush(self) -> None:
        if self._buf:
            chunk = b"".join(self._buf)
            self.out.write(chunk)
            self.written += len(chunk)
            self._buf.clear()
            self._buffered = 0

    def blob(self, content: bytes) -> int:
        m = self.mark()
        self.emit(b"blob\nmark :%d\ndata %d\n%s\n" % (m, len(content), content))
        return m

    def commit(self, ref: str, when: int, author: tuple[str, str], message: str,
               parents: tuple[int, ...], changes: list[tuple[str, int]]) -> int:
        m = self.mark()
        who = f"{author[0]} <{author[1]}> {when} +0000".encode()
        msg = message.encode()
        parts = [b"commit %s\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\n"
                 % (ref.encode(), m, who, who, len(msg), msg)]
        if parents:
            parts.append(b"from :%d\n" % parents[0])
            parts.extend(b"merge :%d\n" % p for p in parents[1:])
        parts.extend(b"M 100644 :%d %s\n" % (blob, path.encode()) for path, blob in changes)
        parts.append(b"\n")
        self.emit(b"".join(parts))
        return m


class _History:
    """Chooses what each commit changes; keeps the clock and the branch tips."""

    def __init__(self, spec: RepoSpec, stream: _Stream) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.stream = stream
        self.clock = START_TIME
        self.count = 0
        self.merges = 0
        self.names = [service_name(i) for i in range(spec.services)]
        self.files = {name: service_files(name) for name in self.names}
        # Some services are much busier than others (a mild Zipf-like skew, shuffled by the seed).
        weights = [1.0 / (rank + 1) ** 0.7 for rank in range(spec.services)]
        self.rng.shuffle(weights)
        self.weights = weights
        self.docs = ("docs/index.md", "docs/architecture.md", "docs/img/overview.svg",
                     *(f"docs/services/{n}.md" for n in self.names))
        self.blobs: dict[str, int] = {}

    def all_files(self) -> list[str]:
        return [*ROOT_FILES, *SHARED_FILES, *self.docs, *(p for n in self.names for p in self.files[n])]

    def _content(self, path: str) -> bytes:
        lines = [f"# {path}", f"# revision {self.count}"]
        lines += [f"value_{k} = {self.rng.randrange(1_000_000)}" for k in range(self.rng.randint(2, 8))]
        return ("\n".join(lines) + "\n").encode()

    def _pick_paths(self) -> tuple[list[str], str]:
        """1-3 distinct paths for one commit and a subject line describing them."""
        rng = self.rng
        service = rng.choices(self.names, self.weights)[0]
        own = self.files[service]
        code, markdown = own[2:], own[:2]
        roll = rng.random()
        if roll < 0.68:
            pool = markdown if rng.random() < 0.1 else code
            paths = rng.sample(pool, rng.randint(1, min(3, len(pool))))
            subject = f"{service}: {rng.choice(('fix', 'feat', 'refactor', 'test', 'chore'))} change"
        elif roll < 0.76:
            paths = rng.sample(SHARED_FILES, rng.randint(1, 3))
            subject = "shared: update library"
        elif roll < 0.83:
            paths = [rng.choice(code), *rng.sample(SHARED_FILES, rng.randint(1, 2))]
            subject = f"{service}+shared: cross-cutting change"
        elif roll < 0.91:
            paths = rng.sample(self.docs, rng.randint(1, 3))
            subject = "docs: update"
        elif roll < 0.96:
            paths = [rng.choice(code), f"docs/services/{service}.md"]
            subject = f"{service}: change with docs"
        else:
            paths = rng.sample(ROOT_FILES, rng.randint(1, 2))
            subject = "repo: tooling"
        return paths, subject

    def _tick(self) -> int:
        self.clock += self.rng.randint(30, 600)
        return self.clock

    def commit(self, ref: str, parents: tuple[int, ...]) -> tuple[int, list[str]]:
        """One ordinary commit on ``ref``; returns its mark and the paths it changed."""
        paths, subject = self._pick_paths()
        changes = []
        for path in paths:
            blob = self.stream.blob(self._content(path))
            self.blobs[path] = blob
            changes.append((path, blob))
        self.count += 1
        mark = self.stream.commit(ref, self._tick(), self.rng.choice(AUTHORS), f"{subject} #{self.count}",
                                  parents, changes)
        return mark, paths

    def root(self) -> int:
        changes = [(p, self.stream.blob(self._content(p))) for p in self.all_files()]
        self.blobs.update(changes)
        self.count += 1
        return self.stream.commit("refs/heads/main", self._tick(), AUTHORS[0], "initial import", (), changes)

    def build(self) -> None:
        """Emit the whole history: ``spec.commits`` commits reachable from ``main``."""
        spec, rng = self.spec, self.rng
        tip = self.root()
        until_merge = rng.randint(spec.merge_every * 4 // 5, spec.merge_every * 6 // 5)
        while self.count < spec.commits:
            remaining = spec.commits - self.count
            until_merge -= 1
            side_len, main_len = rng.randint(2, 5), rng.randint(0, 3)
            if until_merge <= 0 and remaining >= side_len + main_len + 1:
                tip = self._merge(tip, side_len, main_len)
                until_merge = rng.randint(spec.merge_every * 4 // 5, spec.merge_every * 6 // 5)
            else:
                tip, _ = self.commit("refs/heads/main", (tip,))
        self.stream.emit(b"done\n")
        self.stream.flush()

    def _merge(self, fork: int, side_len: int, main_len: int) -> int:
        """A topic branch forked at ``fork``, interleaved with ``main_len`` commits on main, then merged.

        The merge takes the topic's version of the files only the topic changed, as a clean merge would.
        """
        topic, tip = fork, fork
        topic_paths: dict[str, int] = {}
        main_paths: set[str] = set()
        steps = ["topic"] * side_len + ["main"] * main_len
        self.rng.shuffle(steps)
        for step in steps:
            if step == "topic":
                topic, paths = self.commit("refs/heads/topic", (topic,))
                topic_paths.update((p, self.blobs[p]) for p in paths)
            else:
                tip, paths = self.commit("refs/heads/main", (tip,))
                main_paths.update(paths)
        changes = [(p, b) for p, b in topic_paths.items() if p not in main_paths]
        for path, blob in changes:
            self.blobs[path] = blob
        self.count += 1
        self.merges += 1
        return self.stream.commit("refs/heads/main", self._tick(), self.rng.choice(AUTHORS),
                                  f"Merge branch 'topic-{self.merges}' #{self.count}", (tip, topic), changes)


def _feed(proc: subprocess.Popen[bytes], spec: RepoSpec) -> tuple[_History, int]:
    assert proc.stdin is not None
    stream = _Stream(proc.stdin)
    stream.emit(b"feature done\n")
    history = _History(spec, stream)
    history.build()
    proc.stdin.close()
    return history, stream.written


def _fast_import(repo: Path, spec: RepoSpec) -> tuple[_History, int]:
    """Pipe the generated stream into one ``git fast-import``; kill it if it outlives the timeout."""
    errors = repo.parent / "fast-import.err"
    with errors.open("wb") as err:
        proc = subprocess.Popen(["git", "-C", str(repo), "fast-import", "--quiet", "--done"],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, env=git_env())
        timer = threading.Timer(max(FAST_IMPORT_TIMEOUT, spec.commits * FAST_IMPORT_SECONDS_PER_COMMIT), proc.kill)
        timer.start()
        try:
            history, written = _feed(proc, spec)
            code = proc.wait()
        except BrokenPipeError:
            code = proc.wait()
            history, written = None, 0
        finally:
            timer.cancel()
    if code != 0 or history is None:
        raise RuntimeError(f"git fast-import failed ({code}): {errors.read_text(errors='replace')[-2000:]}")
    errors.unlink()
    return history, written


def build(workdir: Path, spec: RepoSpec, log: IO[str]) -> tuple[Path, BuildInfo]:
    """The fixture directory for ``spec`` (``<workdir>/<key>/repo``), built unless already cached."""
    home = workdir / spec.key
    marker = home / "build.json"
    repo = home / "repo"
    if marker.is_file() and (repo / ".git").is_dir():
        info = BuildInfo(**json.loads(marker.read_text()))
        info.cached = True
        return home, info
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    print(f"building {spec.commits} commits into {repo} …", file=log, flush=True)
    started = time.perf_counter()
    git(home, "init", "-q", "-b", "main", "repo")
    history, written = _fast_import(repo, spec)
    git(repo, "update-ref", "-d", "refs/heads/topic")
    git(repo, "reset", "-q", "--hard", "main")
    # A repository that has seen `git gc` has a commit-graph; give git (both sides) the same help.
    git(repo, "commit-graph", "write", "--reachable")
    elapsed = time.perf_counter() - started
    total = int(git(repo, "rev-list", "--count", "main"))
    if total != spec.commits:
        raise RuntimeError(f"generator bug: main has {total} commits, wanted {spec.commits}")
    info = BuildInfo(spec=asdict(spec), commits=total, merges=history.merges, files=len(history.all_files()),
                     build_seconds=round(elapsed, 2), stream_bytes=written)
    marker.write_text(json.dumps(asdict(info), indent=2) + "\n")
    return home, info


def first_parent_chain(repo: Path, branch: str = "main") -> list[str]:
    """SHAs of ``branch``'s first-parent chain, tip first."""
    return git(repo, "rev-list", "--first-parent", branch).split()


def choose_deployed(chain: list[str], services: int, max_behind: int, seed: int) -> dict[str, tuple[str, int]]:
    """Distinct deployed commits per service on the first-parent chain, 0…max_behind commits back.

    One service is current (0 back) and one sits exactly ``max_behind`` back (the widest range); the
    rest are spread at random in between. Returns ``{service: (sha, first-parent commits back)}``.
    """
    limit = min(max_behind, len(chain) - 1)
    if limit + 1 < services:
        raise ValueError(f"cannot place {services} distinct deployed commits within {limit} commits")
    rng = random.Random(seed * 7919 + 1)
    offsets = [0, limit, *rng.sample(range(1, limit), services - 2)] if services > 1 else [0]
    rng.shuffle(offsets)
    return {service_name(i): (chain[back], back) for i, back in enumerate(offsets[:services])}


def write_config(home: Path, deployed: dict[str, tuple[str, int]]) -> Path:
    """Write ``deployed/<service>.sha`` files and ``deploywatch.toml`` beside the repository."""
    folder = home / "deployed"
    folder.mkdir(exist_ok=True)
    lines = ['[repo]', 'path = "repo"', 'branch = "main"', '', '[defaults]',
             'exclude = ["**/*.md", "docs/**"]']
    for name, (sha, _) in deployed.items():
        (folder / f"{name}.sha").write_text(sha + "\n")
        lines += ['', f'[services.{name}]', f'paths = ["services/{name}/**", "shared/**"]',
                  f'deployed = {{ file = "deployed/{name}.sha" }}']
    config = home / "deploywatch.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def pathspecs(name: str) -> list[str]:
    """The git pathspecs equivalent to a service's ``paths`` and the shared ``exclude``."""
    return [f":(glob)services/{name}/**", ":(glob)shared/**", ":(glob,exclude)**/*.md", ":(glob,exclude)docs/**"]


def iter_services(deployed: dict[str, tuple[str, int]]) -> Iterator[tuple[str, str, int]]:
    """``(service, deployed sha, commits back)`` in service order."""
    for name in sorted(deployed):
        sha, back = deployed[name]
        yield name, sha, back
