"""The web benchmark's fixture: a synthetic monorepo, a 100-service config and a year of stored runs and deploys.

The repository comes from :mod:`_synthrepo` with its clock moved so that its history ends shortly before now.
Drift runs every 30 minutes carry one finding per service whose figures come from that history: the tip at the run's
time, the service's live commit from the ledger, commits behind on main's first-parent chain, relevant ones (the
first-parent changes touching the service's paths or ``shared/``, Markdown and ``docs/`` excluded) and the drift
age of the oldest of them. A daily canary run stores metrics for the data checks, a daily ``check`` run a health
score. The ledger has ``ledger`` entries (succeeded, failed, rolled back) spread over the services and the year.
"""

from __future__ import annotations

import bisect
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import _synthrepo

DAY = 86400
SLOT = 1800  # a drift run every 30 minutes
CHECKS = (("orders.rows", None, "row_count", "< 1000", "< 100", "count"),
          ("orders.null_email", None, "percent(email IS NULL)", "> 1%", "> 5%", "percent"),
          ("orders.rows_per_region", "region", "row_count", "< 200", "< 50", "count"),
          ("events.coverage", "source", "percent(user_id IS NOT NULL)", "< 95%", "< 90%", "percent"),
          ("events.freshness", None, "freshness(loaded_at)", "> 2h", "> 6h", "seconds"))
GROUPS = 12  # groups of the grouped checks


@dataclass
class StoreFixture:
    """Where things are and what was stored."""

    home: Path
    config: Path
    database: Path
    services: list[str]
    checks: list[str]
    runs: int
    findings: int
    metrics: int
    ledger: int
    build_seconds: float
    cached: bool


def _chain(repo: Path) -> tuple[list[str], list[int], list[set[str]], list[tuple[str, str]]]:
    """main's first-parent chain, oldest first: SHAs, committer times, the files each changed, (subject, author)."""
    out = _synthrepo.git(repo, "log", "--first-parent", "--reverse", "--diff-merges=first-parent", "--name-only",
                         "--format=%x00%H %ct %an%x09%s")
    shas, times, files, texts = [], [], [], []
    for block in out.split("\x00")[1:]:
        head, *paths = block.strip("\n").split("\n")
        sha, ct, rest = head.split(" ", 2)
        author, subject = rest.split("\t", 1)
        shas.append(sha)
        times.append(int(ct))
        files.append({p for p in paths if p})
        texts.append((subject, author))
    return shas, times, files, texts


def _relevant(name: str, paths: set[str]) -> bool:
    return any((p.startswith(f"services/{name}/") or p.startswith("shared/")) and not p.endswith(".md")
               and "/docs/" not in p and not p.startswith("docs/") for p in paths)


def _config(home: Path, services: list[str], repo: Path) -> Path:
    lines = ['[repo]', f'path = "{repo}"', 'branch = "main"', '', '[defaults]', 'exclude = ["**/*.md", "docs/**"]', '',
             '[web]', 'commit_url = "https://git.example.com/acme/mono/commit/{sha}"',
             'compare_url = "https://git.example.com/acme/mono/compare/{from}...{to}"', '',
             '[warehouse]', 'url = "duckdb:///warehouse.duckdb"', '',
             '[store]', f'url = "sqlite:///{home / "deploywatch.db"}"']
    for name, group, metric, warn, critical, _ in CHECKS:
        lines += ['', '[[checks]]', f'name = "{name}"', f'phase = "{name.split(".")[0]}"',
                  f'table = "raw.{name.split(".")[0]}"', f'metric = "{metric}"', f'warn = "{warn}"',
                  f'critical = "{critical}"', *([f'group_by = "{group}"'] if group else [])]
    for name in services:
        lines += ['', f'[services.{name}]', f'paths = ["services/{name}/**", "shared/**"]',
                  f'deployed = {{ file = "deployed/{name}.sha" }}',
                  f'deploy = "deploy-tool ship {name} {{{{ commit }}}}"']
    (home / "deployed").mkdir(exist_ok=True)
    config = home / "deploywatch.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _ledger(rng: random.Random, services: list[str], shas: list[str], times: list[int], start: int, end: int,
            total: int) -> tuple[list[dict[str, Any]], dict[str, list[tuple[int, int]]]]:
    """Ledger rows and, per service, (finished time, chain index) of each succeeded entry, oldest first."""
    rows: list[dict[str, Any]] = []
    live: dict[str, list[tuple[int, int]]] = {}
    per = total // len(services)
    for name in services:
        moments = sorted(rng.randrange(start + 3600, end - 3600) for _ in range(per - 1))
        first = bisect.bisect_right(times, start - DAY) - 1
        entries = [(start - DAY, max(0, first))]
        current = entries[0][1]
        rows.append(_entry(name, None, shas[current], "succeeded", "deploy", start - DAY))
        ok: list[tuple[int, int]] = [(start - DAY + 300, current)]
        for moment in moments:
            target = bisect.bisect_right(times, moment) - 1
            if target <= current:
                target = min(current + 1, len(shas) - 1)
            roll = rng.random()
            status = "succeeded" if roll < 0.88 else ("failed" if roll < 0.95 else "rolled_back")
            rows.append(_entry(name, shas[current], shas[target], status, "deploy", moment,
                               step="verify" if status != "succeeded" else None,
                               reason="verify timed out" if status != "succeeded" else None))
            if status == "succeeded":
                current = target
                ok.append((moment + 300, current))
        live[name] = ok
    return rows, live


def _entry(service: str, from_commit: str | None, to_commit: str, status: str, how: str, started: int,
           step: str | None = None, reason: str | None = None) -> dict[str, Any]:
    return {"service": service, "from_commit": from_commit, "to_commit": to_commit, "status": status, "how": how,
            "by": "ci-bot", "started_at": started, "finished_at": started + 300, "step": step, "reason": reason}


def build(workdir: Path, *, services: int, commits: int, days: int, ledger: int, seed: int,
          log: Any) -> StoreFixture:
    """The fixture for these parameters, built unless a build of today's date exists (times are relative to now)."""
    today = datetime.now(UTC).date()
    home = workdir / f"web-s{services}-c{commits}-d{days}-l{ledger}-seed{seed}-{today.isoformat()}"
    marker = home / "build.json"
    if marker.is_file():
        saved = json.loads(marker.read_text())
        saved.update(home=Path(saved["home"]), config=Path(saved["config"]), database=Path(saved["database"]),
                     cached=True)
        return StoreFixture(**saved)
    started = time.perf_counter()
    end = int(time.time()) // SLOT * SLOT
    start = end - days * DAY
    # ~315 s between commits on average: start the clock so the history ends about a day before now.
    _synthrepo.START_TIME = end - commits * 315 - DAY
    spec = _synthrepo.RepoSpec(commits=commits, services=services, seed=seed)
    repo_home, _ = _synthrepo.build(home, spec, log)
    target = repo_home / "repo"
    names = [_synthrepo.service_name(i) for i in range(services)]
    config = _config(home, names, target.relative_to(home))
    print("reading main's first-parent history …", file=log, flush=True)
    shas, times, files, texts = _chain(target)
    relevant_idx = {n: [i for i, f in enumerate(files) if _relevant(n, f)] for n in names}
    rng = random.Random(seed)
    ledger_rows, live = _ledger(rng, names, shas, times, start, end, ledger)
    for name in names:
        (home / "deployed" / f"{name}.sha").write_text(shas[live[name][-1][1]] + "\n")
    database = home / "deploywatch.db"
    _create_store(database)
    counts = _fill(database, rng, names, shas, times, texts, relevant_idx, live, ledger_rows, start, end, log)
    fx = StoreFixture(home, config, database, names, [c[0] for c in CHECKS], *counts, len(ledger_rows),
                      round(time.perf_counter() - started, 1), False)
    marker.write_text(json.dumps({**fx.__dict__, "home": str(home), "config": str(config),
                                  "database": str(database), "cached": False}, indent=2) + "\n")
    return fx


def _create_store(database: Path) -> None:
    """An empty store at the latest schema, made by deploywatch itself."""
    from deploywatch.store import Store

    database.unlink(missing_ok=True)
    Store.open(f"sqlite:///{database}").close()


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _fill(database: Path, rng: random.Random, names: list[str], shas: list[str], times: list[int],
          texts: list[tuple[str, str]], relevant_idx: dict[str, list[int]], live: dict[str, list[tuple[int, int]]],
          ledger_rows: list[dict[str, Any]], start: int, end: int, log: Any) -> tuple[int, int, int]:
    """Insert runs, findings, metrics and ledger rows with the store's own insert functions, in a few transactions."""
    from deploywatch.store import Store
    from deploywatch.store import deployments as ledger_queries
    from deploywatch.store.deployments import DeploymentRecord
    from deploywatch.store.queries import insert_run
    from deploywatch.store.records import FindingRecord, MetricRecord, RunRecord

    def ts(epoch: int) -> datetime:
        return datetime.fromtimestamp(epoch, UTC)

    store = Store.open(f"sqlite:///{database}")
    runs = findings = metrics = 0
    live_times = {n: [t for t, _ in live[n]] for n in names}
    slots = list(range(start, end, SLOT))
    print(f"storing {len(slots)} drift runs x {len(names)} services …", file=log, flush=True)
    chunk = 500
    for first in range(0, len(slots), chunk):
        with store._writing() as tx:
            for moment in slots[first:first + chunk]:
                tip = bisect.bisect_right(times, moment) - 1
                run_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
                found, worst = [], 0
                for name in names:
                    k = bisect.bisect_right(live_times[name], moment) - 1
                    deployed = live[name][max(k, 0)][1]
                    behind = max(0, tip - deployed)
                    idx = relevant_idx[name]
                    lo, hi = bisect.bisect_right(idx, deployed), bisect.bisect_right(idx, tip)
                    relevant = hi - lo if behind else 0
                    age = moment - times[idx[lo]] if relevant else None
                    status = ("ok" if not relevant else "critical" if age and age > 7 * DAY
                              else "warning" if age and age > DAY else "ok")
                    worst = max(worst, ("ok", "warning", "critical").index(status))
                    commits = [{"sha": shas[i], "subject": texts[i][0], "author": texts[i][1],
                                "on_branch_at": _iso(times[i])} for i in idx[lo:min(hi, lo + 5)]] if relevant else []
                    details = {"service": name, "group": None, "state": "behind" if behind else "current",
                               "status": status, "deployed_commit": shas[deployed], "tip": shas[tip],
                               "commits_behind": behind, "relevant_commits_behind": relevant, "commits_ahead": 0,
                               "drift_age_seconds": age, "reason": f"{relevant} relevant commits behind main",
                               "deploy": f"deploy-tool ship {name} {shas[tip]}", "commits": commits}
                    found.append(FindingRecord(run_id, "drift", name, status, f"{name} {status}: {relevant} "
                                               "relevant commits behind main", _fingerprint("drift", name), details))
                status = ("ok", "warning", "critical")[worst]
                run = RunRecord(run_id, "drift", ts(moment), ts(moment + 2), None, status, worst, None,
                                {"branch": "main", "tip": shas[tip], "services": len(names)})
                insert_run(tx, run, found, ())
                runs += 1
                findings += len(found)
        print(f"  {min(first + chunk, len(slots))}/{len(slots)} drift runs", file=log, flush=True)
    print("storing daily canary and check runs, the ledger …", file=log, flush=True)
    with store._writing() as tx:
        for day_start in range(start - start % DAY, end, DAY):
            run_date = date.fromtimestamp(day_start - DAY)
            at = day_start + 7 * 3600
            if at >= end:
                break
            run_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
            found_c: list[FindingRecord] = []
            points: list[MetricRecord] = []
            for name, group_by, _, _, _, unit in CHECKS:
                for group in ([f"{group_by}-{g:02d}" for g in range(GROUPS)] if group_by else [None]):
                    value = {"count": rng.gauss(5000, 800), "percent": rng.uniform(0, 100),
                             "seconds": rng.uniform(0, 9000)}[unit]
                    status = "ok" if rng.random() < 0.9 else rng.choice(("warning", "critical"))
                    subject = f"{name}[{group}]" if group else name
                    points.append(MetricRecord(run_id, name, group, "metric", run_date, ts(at), value, status,
                                               rng.random() < 0.02))
                    found_c.append(FindingRecord(run_id, "check", subject, status, f"{subject} {status}",
                                                 _fingerprint("check", subject),
                                                 {"name": name, "group": group, "unit": unit, "value": value,
                                                  "phase": name.split(".")[0]}))
            insert_run(tx, RunRecord(run_id, "canary", ts(at), ts(at + 20), run_date, "ok", 0, None, {}), found_c,
                       points)
            check_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
            insert_run(tx, RunRecord(check_id, "check", ts(at + 1800), ts(at + 1830), run_date, "ok", 0,
                                     round(rng.uniform(70, 100), 1), {"verdict": "healthy"}), (), ())
            runs += 2
            findings += len(found_c)
            metrics += len(points)
        for row in ledger_rows:
            ledger_queries.insert(tx, DeploymentRecord(
                row["service"], row["to_commit"], row["status"], row["how"], row["by"], ts(row["started_at"]),
                row["from_commit"], ts(row["finished_at"]), row["step"], row["reason"]))
    store.close()
    return runs, findings, metrics


def _fingerprint(kind: str, subject: str) -> str:
    from deploywatch.core.findings import fingerprint

    return fingerprint(kind, subject)


if __name__ == "__main__":  # build only (for profiling by hand)
    built = build(Path(sys.argv[1]), services=100, commits=100_000, days=365, ledger=5000, seed=7, log=sys.stderr)
    print(built)
