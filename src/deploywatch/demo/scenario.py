"""The demo's story: seven services, and the last day and a half of commits that sets their drift.

Times are hours before "now". Every deployed commit lies in this tail, so each service's drift
follows from the commits listed here (the background history only makes the repository real):

=======================  =========  =========================================================
service                  intended   why
=======================  =========  =========================================================
prediction-coordinator   ok         deployed at the tip of main (current)
analytics-processors     ok         5 commits behind, none relevant (docs, other services);
                                    its file holds an abbreviated SHA
scrapers                 warning    2 relevant commits behind, oldest ~6 h
precompute               warning    4 relevant commits behind, oldest ~12 h
grading                  warning    3 relevant commits behind (one in shared/), oldest ~18 h;
                                    its file holds a tag name
prediction-worker        critical   12 relevant commits behind; the vegas-line fix has waited
                                    ~26 h (its branch merged then; a second branch started
                                    before the deploy but merged after it)
raw-processors           unknown    its file holds a SHA that was force-pushed away
=======================  =========  =========================================================

The two ``predictions`` services run commits that differ in ``shared/players/ids.py``.
A pretend platform deploys them (:mod:`deploywatch.demo.platform`); one commit of the worker's backlog,
"worker: tune fatigue features for back-to-backs", is planted as broken: deploying any commit that contains
it makes the worker's post-deploy probe fail, so ``deploywatch deploy prediction-worker`` is rolled back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from random import Random

from .background import GITHUB, PEOPLE, play_background
from .content import modify, new_python_module
from .history import Change, History, Line

__all__ = ["BROKEN_SUBJECT", "FEATURE_BRANCH", "FIX_SUBJECT", "SEED", "SERVICES", "Plan", "ServiceSpec", "plan"]

SEED = 20261120
FIX_SUBJECT = "fix(worker): use vegas line when present"
# The demo's planted bug: from this commit on, prediction-worker's post-deploy probe fails (see demo.platform).
BROKEN_SUBJECT = "worker: tune fatigue features for back-to-backs"
FEATURE_BRANCH = "coordinator-retry-budget"
BACKGROUND_SPAN = dt.timedelta(days=24)
TAIL_START_HOURS = 41.0


@dataclass(frozen=True)
class ServiceSpec:
    """A service of the demo config and the state the demo gives it."""

    name: str
    paths: tuple[str, ...]
    group: str | None
    intended_status: str
    written_as: str  # "sha", "short-sha", "tag" or "missing-sha": what its deployed file holds
    story: str


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("scrapers", ("scrapers/**", "shared/**"), None, "warning", "sha",
                "phase 1; 2 scraper changes waiting, oldest ~6h"),
    ServiceSpec("raw-processors", ("raw_processors/**", "shared/**"), None, "unknown", "missing-sha",
                "phase 2; runs a commit that was force-pushed away"),
    ServiceSpec("analytics-processors", ("analytics/**", "shared/**"), "analytics", "ok", "short-sha",
                "phase 3; behind only by docs and other services' commits"),
    ServiceSpec("precompute", ("precompute/**", "shared/**"), "analytics", "warning", "sha",
                "phase 4; 4 precompute changes waiting, oldest ~12h"),
    ServiceSpec("prediction-worker", ("predictions/worker/**", "shared/**"), "predictions", "critical", "sha",
                f"phase 5; 12 relevant commits waiting, including '{FIX_SUBJECT}' (~26h)"),
    ServiceSpec("prediction-coordinator", ("predictions/coordinator/**", "shared/**"), "predictions", "ok", "sha",
                "phase 5; deployed from the tip of main"),
    ServiceSpec("grading", ("grading/**", "shared/**"), None, "warning", "tag",
                "phase 6; deployed from a release tag, 3 relevant commits waiting (one in shared/)"),
)


@dataclass(frozen=True)
class Plan:
    """The planned history and the marks of the commits the story refers to."""

    history: History
    deployed: dict[str, int | None]  # service → mark of its deployed commit (None: not in the repo)
    tip: int
    fix: int
    shared_skew: int
    broken: int  # the worker commit that breaks its predictions (the demo's rolled-back deploy)
    tag_name: str
    feature_branch: str


def plan(now: int) -> Plan:
    """Plan the whole demo history, ending at ``now`` (seconds since the epoch)."""
    h = History(Random(SEED))
    next_pr = play_background(h, now - int(BACKGROUND_SPAN.total_seconds()),
                              now - int(TAIL_START_HOURS * 3600), first_pr=1187)
    return _Tail(h, now, next_pr).play()


class _Tail:
    """The scripted last 40 hours; each method call is one commit, in time order."""

    def __init__(self, h: History, now: int, next_pr: int) -> None:
        self.h = h
        self.now = now
        self.pr = next_pr

    def at(self, hours_ago: float) -> int:
        return self.now - round(hours_ago * 3600)

    def work(self, line: Line, hours_ago: float, who: str, subject: str, *paths: str) -> int:
        changes = [Change(p, modify(p, line.tree[p], self.h.rng)) for p in paths]
        return self.h.commit(line, self.at(hours_ago), PEOPLE[who], subject, changes)

    def any_file(self, line: Line, root: str) -> str:
        path = self.h.pick(line, root)
        assert path is not None, root
        return path

    def branch(self, name: str, who: str, *, keep_ref: bool = False) -> Line:
        self.pr += 1
        return self.h.branch(name, PEOPLE[who].login, self.pr, keep_ref=keep_ref)

    def merge(self, line: Line, hours_ago: float, who: str) -> int:
        return self.h.merge(line, self.at(hours_ago), PEOPLE[who], GITHUB)

    def play(self) -> Plan:
        h, main, rng = self.h, self.h.main, self.h.rng
        worker, coordinator = "predictions/worker", "predictions/coordinator"
        injuries = f"{worker}/features/injuries.py"
        vegas_test = f"{worker}/tests/test_vegas_line.py"

        self.work(main, 40.0, "sam", "scrapers: parse overtime periods in nba.com box scores",
                  "scrapers/nbacom/parse.py")
        injury_feed = self.branch("worker-injury-feed", "jun")  # starts before the worker's deploy
        h.commit(injury_feed, self.at(39.0), PEOPLE["jun"], "worker: add injury report features",
                 [Change(injuries, new_python_module(injuries, rng))])
        self.work(main, 36.0, "priya", "analytics: add validation for minutes played",
                  "analytics/validation/minutes.py")
        self.work(main, 33.0, "tomas", "raw: dedupe play-by-play events by event id",
                  "raw_processors/play_by_play_processor.py")
        self.work(injury_feed, 30.0, "jun", "worker: weight injury status by expected minutes", injuries)
        self.work(main, 29.0, "lena", "shared: add retry helper for BigQuery writes", "shared/bigquery.py")
        self.work(main, 28.0, "priya", "precompute: backfill rolling averages for traded players",
                  "precompute/player_rolling_averages.py")
        worker_deployed = self.work(main, 27.5, "maya", "worker: log feature vector size at startup",
                                    f"{worker}/worker.py")

        vegas = self.branch("fix-vegas-line", "maya")
        fix = self.work(vegas, 26.8, "maya", FIX_SUBJECT, f"{worker}/features/vegas.py")
        h.commit(vegas, self.at(26.5), PEOPLE["maya"], "test(worker): cover games without a vegas line",
                 [Change(vegas_test, new_python_module(vegas_test, rng))])
        self.merge(vegas, 26.0, "jun")
        self.work(main, 25.0, "sam", "docs: update runbook for worker restarts", "docs/runbooks/deploy.md")
        self.work(main, 23.5, "maya", "worker: cache team ratings per game date", self.any_file(main, worker))
        self.work(main, 22.0, "tomas", "coordinator: batch prediction requests by game date",
                  f"{coordinator}/batching.py")
        self.work(main, 21.0, "lena", "grading: record the model version with each grade",
                  "grading/grade_predictions.py")
        grading_deployed = self.work(main, 20.0, "priya", "analytics: backfill team defense summary for cup games",
                                     "analytics/team_defense_summary.py")
        tag_name = f"v{dt.datetime.fromtimestamp(self.at(20.0), dt.UTC):%Y.%m.%d}"
        h.tag(tag_name, grading_deployed, PEOPLE["lena"], self.at(19.9), f"grading release {tag_name}\n")
        shared_skew = self.work(main, 18.0, "lena", "shared: normalise player ids to NBA person ids",
                                "shared/players/ids.py")
        self.work(main, 17.0, "maya", "fix(worker): clamp predicted minutes to 48", self.any_file(main, worker))
        self.merge(injury_feed, 16.0, "maya")
        self.work(main, 15.0, "jun", "worker: put injury features behind a flag", f"{worker}/worker.py")
        precompute_deployed = self.work(main, 14.0, "priya", "analytics: log row counts per game date",
                                        self.any_file(main, "analytics"))
        self.work(main, 13.0, "jun", "perf(worker): load the model once per process", self.any_file(main, worker))
        self.work(main, 12.0, "priya", "precompute: compute pace-adjusted usage", "precompute/team_pace.py")
        self.work(main, 11.0, "maya", "predictions: share game context between worker and coordinator",
                  f"{worker}/worker.py", f"{coordinator}/coordinator.py")
        self.work(main, 10.0, "priya", "precompute: skip games without a final score",
                  self.any_file(main, "precompute"))
        scrapers_deployed = self.work(main, 9.0, "sam", "docs: describe the odds backfill", "docs/data-sources.md")
        self.work(main, 8.0, "lena", "grading: grade player props against closing lines",
                  "grading/grade_predictions.py")
        self.work(main, 7.0, "tomas", "precompute: rebuild matchup history nightly", "precompute/matchup_history.py")
        self.work(main, 6.0, "sam", "fix(scrapers): follow the new odds api pagination", "scrapers/oddsapi/scraper.py")
        broken = self.work(main, 5.0, "maya", BROKEN_SUBJECT, f"{worker}/features/fatigue.py")
        self.work(main, 4.5, "lena", "grading: add a weekly accuracy report", "grading/reports.py")
        self.work(main, 4.0, "tomas", "precompute: cache composite factors per game date",
                  "precompute/composite_factors.py")
        analytics_deployed = self.work(main, 3.0, "priya", "analytics: add validation for points scored",
                                       "analytics/validation/points.py")
        self.work(main, 2.5, "sam", "scrapers: add timeouts to the espn scraper", "scrapers/espn/scraper.py")
        self.work(main, 2.0, "tomas", "docs: explain team codes", "shared/Équipes et codes.md", "docs/glossary.md")
        self.work(main, 1.5, "maya", "fix(worker): skip players ruled out after the injury report", injuries)
        retry = self.branch(FEATURE_BRANCH, "tomas", keep_ref=True)
        self.work(main, 1.0, "sam", "docs: link the runbooks from the README", "README.md")
        self.work(retry, 0.8, "tomas", "coordinator: add a retry budget per batch", f"{coordinator}/publish.py")
        tip = self.work(main, 0.5, "tomas", "coordinator: publish batch metrics", f"{coordinator}/coordinator.py")
        self.work(retry, 0.3, "tomas", "worker: honour the coordinator retry budget",
                  f"{worker}/worker.py", "docs/runbooks/deploy.md")
        deployed: dict[str, int | None] = {
            "scrapers": scrapers_deployed,
            "raw-processors": None,
            "analytics-processors": analytics_deployed,
            "precompute": precompute_deployed,
            "prediction-worker": worker_deployed,
            "prediction-coordinator": tip,
            "grading": grading_deployed,
        }
        return Plan(h, deployed, tip, fix, shared_skew, broken, tag_name, FEATURE_BRANCH)
