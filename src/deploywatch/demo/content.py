"""File contents and commit subjects for the demo repository.

Everything here is a pure function of a seeded :class:`random.Random`, so the same seed gives the
same files and messages. Contents only need to read plausibly in ``git show``; what matters for the
demo is that every modification really changes the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from random import Random

__all__ = ["AREAS", "Area", "Person", "initial_tree", "modify", "new_python_module", "subject_for"]


@dataclass(frozen=True)
class Person:
    """A commit author or committer: name, e-mail and UTC offset (``-0800``)."""

    name: str
    email: str
    tz: str

    @property
    def login(self) -> str:
        """The GitHub-style login shown in merge messages."""
        return self.email.split("@", 1)[0].replace(".", "")


@dataclass(frozen=True)
class Area:
    """A part of the monorepo: its root directory and the scope word used in commit subjects."""

    key: str
    root: str
    scope: str
    weight: int


AREAS: dict[str, Area] = {a.key: a for a in (
    Area("scrapers", "scrapers", "scrapers", 14),
    Area("raw", "raw_processors", "raw", 12),
    Area("analytics", "analytics", "analytics", 14),
    Area("precompute", "precompute", "precompute", 10),
    Area("worker", "predictions/worker", "worker", 13),
    Area("coordinator", "predictions/coordinator", "coordinator", 8),
    Area("grading", "grading", "grading", 8),
    Area("shared", "shared", "shared", 7),
)}

_NOUNS = ("minutes", "rebounds", "assists", "usage rate", "pace", "points line", "spread", "game date",
          "player id", "team abbreviation", "opponent", "rest days", "injury status", "starters",
          "overtime periods", "back-to-backs", "season type", "home flag", "turnovers", "three-point attempts")
_FIELDS = tuple(n.replace(" ", "_").replace("-", "_") for n in _NOUNS)
_VERBS = ("load", "compute", "validate", "normalise", "merge", "score", "fetch", "write", "rank", "filter")

_SUBJECTS = (
    "{scope}: handle missing {noun} in {topic}",
    "{scope}: add {noun} to {topic}",
    "fix({scope}): {topic} fails on empty {noun}",
    "{scope}: speed up {topic} query",
    "{scope}: log {noun} counts in {topic}",
    "refactor({scope}): split {topic} into smaller functions",
    "{scope}: validate {noun} before writing {topic}",
    "fix({scope}): off-by-one in {topic} window",
    "{scope}: retry {topic} on transient errors",
    "perf({scope}): cache {noun} lookups in {topic}",
    "{scope}: add tests for {topic}",
    "{scope}: drop deprecated {noun} column from {topic}",
    "fix({scope}): use {noun} from the latest snapshot in {topic}",
    "{scope}: make {topic} idempotent per game date",
)
_ENTRY_POINT_SUBJECTS = (
    "{scope}: read {noun} settings from the environment",
    "{scope}: tidy the entry point",
    "fix({scope}): exit non-zero when {noun} is missing",
    "{scope}: add a --dry-run flag",
    "{scope}: log the run id at startup",
)
_DOC_SUBJECTS = (
    "docs: update runbook",
    "docs: clarify phase {phase} dependencies",
    "docs: fix typos in {topic}",
    "docs: document the {noun} field",
    "docs: add troubleshooting notes to {topic}",
    "docs: describe the {noun} backfill",
)
_OTHER_SUBJECTS = {
    "Makefile": ("chore: tidy Makefile targets", "build: add a make target for local backfills"),
    ".github/workflows/ci.yml": ("ci: cache pip downloads", "ci: run the test matrix on python 3.12",
                                 "ci: split lint and test jobs"),
    ".gitignore": ("chore: update .gitignore", "chore: ignore local notebooks"),
}


def topic(path: str) -> str:
    """The human name of a file: ``analytics/player_game_summary.py`` → ``player game summary``."""
    pure = PurePosixPath(path)
    stem = pure.stem.removeprefix("test_")
    if stem in ("__init__", "main") and pure.parent.name:
        stem = pure.parent.name
    return stem.replace("_", " ").replace("-", " ").strip() or stem


def subject_for(kind: str, path: str, rng: Random) -> str:
    """A realistic commit subject for a change of ``path`` in area ``kind`` ("docs", "other" or an area key)."""
    fill = {"noun": rng.choice(_NOUNS), "topic": topic(path), "phase": rng.randint(1, 6)}
    if kind == "docs":
        return rng.choice(_DOC_SUBJECTS).format(**fill)
    if kind == "other":
        return rng.choice(_OTHER_SUBJECTS.get(path, ("chore: housekeeping",)))
    entry_point = PurePosixPath(path).name in ("main.py", "__init__.py", "worker.py", "coordinator.py")
    templates = _ENTRY_POINT_SUBJECTS if entry_point else _SUBJECTS
    return rng.choice(templates).format(scope=AREAS[kind].scope, **fill)


# ---------------------------------------------------------------- file contents


def _function(rng: Random, name: str | None = None) -> str:
    field = rng.choice(_FIELDS)
    name = name or f"{rng.choice(_VERBS)}_{field}"
    window = rng.randint(3, 30)
    templates = (
        f'def {name}(rows, *, window={window}):\n'
        f'    """{name.replace("_", " ").capitalize()} over the last ``window`` games."""\n'
        f'    recent = [row for row in rows[-window:] if row.get("{field}") is not None]\n'
        f'    return sum(row["{field}"] for row in recent) / max(len(recent), 1)',
        f'def {name}(client, game_date):\n'
        f'    """{name.replace("_", " ").capitalize()} for one game date."""\n'
        f'    rows = client.query(QUERY, params={{"game_date": game_date}})\n'
        f'    log.info("{name}: %d rows for %s", len(rows), game_date)\n'
        f'    return [row for row in rows if row["{field}"] >= {rng.randint(0, 12)}]',
        f'def {name}(record):\n'
        f'    """Return the record with ``{field}`` checked."""\n'
        f'    value = record.get("{field}")\n'
        f'    if value is None or value < {rng.randint(0, 5)}:\n'
        f'        raise ValueError(f"bad {field}: {{value!r}}")\n'
        f'    return record',
    )
    return rng.choice(templates)


def new_python_module(path: str, rng: Random) -> str:
    """The text of a new Python module at ``path``."""
    constant = f"{rng.choice(_FIELDS).upper()}_LIMIT = {rng.randint(2, 400)}"
    blocks = [f'"""{topic(path).capitalize()}."""\n\nimport logging\n\nlog = logging.getLogger(__name__)\n'
              f'{constant}\nQUERY = "SELECT * FROM `nba_{PurePosixPath(path).parts[0]}.{PurePosixPath(path).stem}`"']
    blocks += [_function(rng) for _ in range(rng.randint(2, 4))]
    return "\n\n\n".join(blocks) + "\n"


def _markdown(title: str, rng: Random) -> str:
    bullets = "\n".join(f"- {rng.choice(_NOUNS)}: see `{rng.choice(_FIELDS)}`" for _ in range(rng.randint(2, 4)))
    return f"# {title}\n\nOwned by the data platform team.\n\n{bullets}\n"


_REQUIREMENTS = {"google-cloud-bigquery": "3.25.0", "pandas": "2.2.2", "requests": "2.32.3",
                 "pydantic": "2.8.2", "tenacity": "8.5.0", "xgboost": "2.1.1"}


def _requirements(rng: Random) -> str:
    names = sorted(rng.sample(sorted(_REQUIREMENTS), 4))
    return "".join(f"{n}=={_REQUIREMENTS[n]}\n" for n in names)


def _dockerfile(root: str) -> str:
    return (f"FROM python:3.11-slim\nWORKDIR /app\nCOPY shared/ shared/\nCOPY {root}/ {root}/\n"
            f"RUN pip install --no-cache-dir -r {root}/requirements.txt\n"
            f'CMD ["python", "-m", "{root.replace("/", ".")}.main"]\n')


def fixture(rng: Random, players: tuple[str, ...] = ("LeBron James", "Nikola Jokić", "Luka Dončić")) -> str:
    """A JSON box-score fixture."""
    rows = [{"player": p, "minutes": rng.randint(18, 40), "points": rng.randint(4, 41)} for p in players]
    return json.dumps({"game_id": f"00224{rng.randint(10000, 99999)}", "players": rows},
                      ensure_ascii=False, indent=2) + "\n"


_MODULES = {
    "scrapers": ["main", "base", *(f"{s}/{f}" for s in ("nbacom", "espn", "bettingpros", "oddsapi", "balldontlie",
                                                      "bigdataball", "bref") for f in ("scraper", "parse"))],
    "raw_processors": ["main", *(f"{x}_processor" for x in ("boxscores", "play_by_play", "odds", "injuries",
                                                           "schedules", "rosters")), "tests/test_boxscores"],
    "analytics": ["main", "player_game_summary", "team_offense_summary", "team_defense_summary",
                  "upcoming_player_context", "upcoming_team_context", "validation/minutes", "validation/points",
                  "common/team_mapping", "tests/test_player_game_summary"],
    "precompute": ["main", "player_rolling_averages", "team_pace", "matchup_history", "player_shot_zones",
                   "player_shot_zones_v1", "composite_factors", "daily_cache"],
    "predictions/worker": ["worker", "features/vegas", "features/fatigue", "features/matchup", "features/usage",
                           "models/xgboost_v1", "models/ensemble", "models/moving_average", "models/similarity",
                           "tests/test_features"],
    "predictions/coordinator": ["coordinator", "batching", "publish", "player_loader", "tests/test_batching"],
    "grading": ["main", "grade_predictions", "metrics", "reports", "tests/test_metrics"],
    "shared": ["__init__", "bigquery", "dates", "logging_setup", "config", "notify", "storage", "players/__init__",
               "players/ids"],
}
_DOCS = {"docs/architecture.md": "Architecture", "docs/phases.md": "Pipeline phases",
         "docs/data-sources.md": "Data sources", "docs/deploy.md": "Deploying services",
         "docs/on-call.md": "On call", "docs/glossary.md": "Glossary"}


def initial_tree(rng: Random) -> dict[str, str]:
    """The files of the first commit: every service with code, Dockerfile, requirements and README."""
    tree: dict[str, str] = {}
    for root, modules in _MODULES.items():
        for module in modules:
            path = f"{root}/{module}.py"
            tree[path] = new_python_module(path, rng)
        if root != "shared":
            tree[f"{root}/Dockerfile"] = _dockerfile(root)
            tree[f"{root}/requirements.txt"] = _requirements(rng)
    for root in ("scrapers", "raw_processors", "analytics", "precompute", "predictions", "grading", "shared"):
        tree[f"{root}/README.md"] = _markdown(f"{topic(root).capitalize()}", rng)
    for path, title in _DOCS.items():
        tree[path] = _markdown(title, rng)
    tree["scrapers/fixtures/nbacom_boxscore.json"] = fixture(rng)
    tree["README.md"] = ("# Courtside data platform\n\nSix phases: scrapers → raw processors → analytics → "
                         "precompute → predictions → grading.\nSee docs/architecture.md.\n")
    tree["Makefile"] = "test:\n\tpytest -q\n\nlint:\n\truff check .\n"
    tree[".gitignore"] = "__pycache__/\n*.pyc\n.venv/\n"
    tree[".github/workflows/ci.yml"] = ("name: ci\non: [push, pull_request]\njobs:\n  test:\n"
                                        "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
                                        "      - run: make test\n")
    return tree


# ---------------------------------------------------------------- modifications

_CONSTANT = re.compile(r"^([A-Z_]+_LIMIT) = (\d+)$", re.MULTILINE)
_PIN = re.compile(r"^([a-z0-9-]+)==(\d+)\.(\d+)\.(\d+)$", re.MULTILINE)


def bump_requirement(text: str, rng: Random) -> tuple[str, str]:
    """Bump one pinned version in a requirements file; return (new text, "pkg from a to b")."""
    pins = list(_PIN.finditer(text))
    pin = rng.choice(pins)
    old = f"{pin[2]}.{pin[3]}.{pin[4]}"
    new = f"{pin[2]}.{pin[3]}.{int(pin[4]) + 1}" if rng.random() < 0.7 else f"{pin[2]}.{int(pin[3]) + 1}.0"
    return text[: pin.start()] + f"{pin[1]}=={new}" + text[pin.end():], f"{pin[1]} from {old} to {new}"


def modify(path: str, text: str, rng: Random) -> str:
    """A changed version of ``text`` (never equal to it), in the style of the file's type."""
    if path.endswith(".md"):
        new = text + f"\n- {rng.choice(_NOUNS)}: {rng.choice(('updated', 'clarified', 'added'))} " \
                     f"({rng.choice(_VERBS)} step {rng.randint(1, 99)})\n"
    elif path.endswith(".json"):
        data = json.loads(text)
        data[f"{rng.choice(_FIELDS)}_{rng.randint(1, 999)}"] = rng.randint(0, 100)
        new = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    elif path.endswith("requirements.txt"):
        new = bump_requirement(text, rng)[0]
    elif path.endswith(".py"):
        new = _modify_python(text, rng)
    else:
        new = text + f"# {rng.choice(_VERBS)} {rng.randint(1, 9999)}\n"
    if new == text:
        new = text + f"\n# revision {rng.randint(1, 10**6)}\n"
    return new


def _modify_python(text: str, rng: Random) -> str:
    roll = rng.random()
    constant = _CONSTANT.search(text)
    if roll < 0.3 and constant:
        value = int(constant[2]) + rng.choice((-1, 1)) * rng.randint(1, 20)
        return text[: constant.start()] + f"{constant[1]} = {max(value, 1)}" + text[constant.end():]
    blocks = text.rstrip("\n").split("\n\n\n")
    functions = [i for i, b in enumerate(blocks) if b.startswith("def ")]
    if roll < 0.7 and functions:
        index = rng.choice(functions)
        name = blocks[index].split("(", 1)[0].removeprefix("def ")
        blocks[index] = _function(rng, name)
        return "\n\n\n".join(blocks) + "\n"
    return text.rstrip("\n") + "\n\n\n" + _function(rng) + "\n"
