"""The weeks of ordinary history before the demo's scripted last day and a half.

A small team commits straight to ``main`` and through pull requests (feature branches of a few
commits, merged with a merge commit, and dependabot bumps), edits docs, and now and then does the
awkward things real histories contain: a file moved from ``analytics/`` to ``shared/``, deleted
scrapers, runbooks renamed into a folder, file names with spaces and non-ASCII characters.
None of this decides a service's drift: every deployed commit lies in the scripted tail.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random

from .content import AREAS, Person, fixture, initial_tree, modify, new_python_module, subject_for
from .content import bump_requirement as _bump
from .history import Change, History, Line

__all__ = ["BACKGROUND_EVENTS", "GITHUB", "PEOPLE", "TAIL_RESERVED", "play_background"]

BACKGROUND_EVENTS = 290

PEOPLE: dict[str, Person] = {
    "maya": Person("Maya Rivera", "maya.rivera@courtside.example", "-0800"),
    "jun": Person("Jun Chen", "jun.chen@courtside.example", "-0800"),
    "priya": Person("Priya Natarajan", "priya.natarajan@courtside.example", "-0500"),
    "tomas": Person("Tomás Álvarez", "tomas.alvarez@courtside.example", "+0100"),
    "sam": Person("Sam Okafor", "sam.okafor@courtside.example", "+0000"),
    "lena": Person("Lena Fischer", "lena.fischer@courtside.example", "+0100"),
}
GITHUB = Person("GitHub", "noreply@github.com", "+0000")
DEPENDABOT = Person("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com", "+0000")
ORG = "courtside"

# Files the scripted tail changes itself; random work never touches them.
TAIL_RESERVED = frozenset({
    "predictions/worker/features/vegas.py", "predictions/worker/features/injuries.py",
    "predictions/worker/tests/test_vegas_line.py", "shared/players/ids.py", "shared/Équipes et codes.md",
})

_OTHER_FILES = ("Makefile", ".github/workflows/ci.yml", ".gitignore")
_NEW_MODULE_KINDS = ("checks", "loader", "report", "backfill")


def _person(rng: Random) -> Person:
    return PEOPLE[rng.choice(sorted(PEOPLE))]


def _area_key(rng: Random) -> str:
    keys = sorted(AREAS)
    return rng.choices(keys, weights=[AREAS[k].weight for k in keys])[0]


def _new_module_path(h: History, rng: Random, root: str) -> str | None:
    for _ in range(5):
        noun = rng.choice(("minutes", "rebounds", "pace", "usage", "spread", "rest_days", "starters", "totals"))
        if root == "predictions/worker":
            path = f"{root}/features/{noun}.py"
        else:
            path = f"{root}/{noun}_{rng.choice(_NEW_MODULE_KINDS)}.py"
        if h.is_free(path) and path not in h.reserved:
            return path
    return None


def area_work(h: History, line: Line, key: str, when: int, author: Person) -> int | None:
    """A commit on ``line`` changing one or two files of area ``key`` (sometimes adding a module)."""
    root = AREAS[key].root
    roll = h.rng.random()
    if roll < 0.12:
        path = _new_module_path(h, h.rng, root)
        if path:
            name = path.rsplit("/", 1)[1].removesuffix(".py").replace("_", " ")
            return h.commit(line, when, author, f"{AREAS[key].scope}: add {name}",
                            [Change(path, new_python_module(path, h.rng))])
    path = h.pick(line, root)
    if path is None:
        return None
    changes = [Change(path, modify(path, line.tree[path], h.rng))]
    if roll > 0.85:
        second = h.pick(line, root, suffixes=(".py", ".md"))
        if second and second != path:
            changes.append(Change(second, modify(second, line.tree[second], h.rng)))
    return h.commit(line, when, author, subject_for(key, path, h.rng), changes)


def _docs_work(h: History, when: int, author: Person) -> int | None:
    path = h.pick(h.main, "docs", suffixes=(".md",)) if h.rng.random() < 0.7 else None
    if path is None:
        root = AREAS[_area_key(h.rng)].root.split("/")[0]
        path = f"{root}/README.md"
        if path not in h.main.tree or path in h.locked:
            return None
    return h.commit(h.main, when, author, subject_for("docs", path, h.rng),
                    [Change(path, modify(path, h.main.tree[path], h.rng))])


def _other_work(h: History, when: int, author: Person) -> int:
    path = h.rng.choice(_OTHER_FILES)
    return h.commit(h.main, when, author, subject_for("other", path, h.rng),
                    [Change(path, modify(path, h.main.tree[path], h.rng))])


# ---------------------------------------------------------------- one-off events


def _add(path: str, content: str, subject: str) -> Callable[[History, int], None]:
    def event(h: History, when: int) -> None:
        h.commit(h.main, when, _person(h.rng), subject, [Change(path, content)])
    return event


def _move(moves: dict[str, str], subject: str, *, edit: bool = False) -> Callable[[History, int], None]:
    def event(h: History, when: int) -> None:
        changes: list[Change] = []
        for old, new in moves.items():
            text = h.main.tree[old]
            changes += [Change(old, None), Change(new, text.replace('"""', '"""Moved: ', 1) if edit else text)]
        h.commit(h.main, when, _person(h.rng), subject, changes)
    return event


def _delete(paths: tuple[str, ...], subject: str) -> Callable[[History, int], None]:
    def event(h: History, when: int) -> None:
        h.commit(h.main, when, _person(h.rng), subject, [Change(p, None) for p in paths])
    return event


def _specials(rng: Random) -> list[tuple[float, set[str], Callable[[History, int], None]]]:
    box = "scrapers/fixtures/box score 2024-01-15.json"
    accented = "raw_processors/tests/fixtures/Dončić box score.json"
    codes = "shared/Équipes et codes.md"
    return [
        (0.10, {box}, _add(box, fixture(rng), "scrapers: add box score fixture for the parser tests")),
        (0.18, {accented}, _add(accented, fixture(rng, ("Luka Dončić", "Bojan Bogdanović", "Jusuf Nurkić")),
                                "raw: add fixture for players with accented names")),
        (0.30, {"analytics/common/team_mapping.py", "shared/team_mapping.py"},
         _move({"analytics/common/team_mapping.py": "shared/team_mapping.py"},
               "refactor: move team mapping from analytics to shared", edit=True)),
        (0.40, {"scrapers/bref/scraper.py", "scrapers/bref/parse.py"},
         _delete(("scrapers/bref/parse.py", "scrapers/bref/scraper.py"),
                 "scrapers: remove the deprecated basketball-reference scraper")),
        (0.50, {codes}, _add(codes, "# Équipes et codes\n\nTricodes used by every phase: ATL, BKN, BOS …\n",
                             "docs: add the team code reference")),
        (0.58, {"docs/deploy.md", "docs/on-call.md", "docs/runbooks/deploy.md", "docs/runbooks/on call.md"},
         _move({"docs/deploy.md": "docs/runbooks/deploy.md", "docs/on-call.md": "docs/runbooks/on call.md"},
               "docs: move runbooks under docs/runbooks")),
        (0.68, {"precompute/player_shot_zones_v1.py"},
         _delete(("precompute/player_shot_zones_v1.py",), "precompute: drop the v1 shot zone processor")),
        (0.78, {"grading/metrics.py", "grading/scoring.py"},
         _move({"grading/metrics.py": "grading/scoring.py"}, "refactor(grading): rename metrics to scoring")),
    ]


# ---------------------------------------------------------------- the walk


def _spread(rng: Random, start: int, end: int, count: int) -> list[int]:
    gaps = [rng.expovariate(1.0) + 0.05 for _ in range(count)]
    scale = (end - start) / sum(gaps)
    times, now = [], float(start)
    for gap in gaps:
        times.append(round(now))
        now += gap * scale
    return times


def play_background(h: History, start: int, end: int, first_pr: int) -> int:
    """Record the ordinary history between ``start`` and ``end``; return the next free PR number."""
    rng = h.rng
    slots = _spread(rng, start, end, BACKGROUND_EVENTS + 4)
    tree = initial_tree(rng)
    h.commit(h.main, slots[0], PEOPLE["maya"], "Initial import of the data platform",
             [Change(p, tree[p]) for p in sorted(tree)])
    specials = _specials(rng)
    h.reserved |= set(TAIL_RESERVED).union(*(paths for _, paths, _ in specials))
    scheduled = {round(BACKGROUND_EVENTS * frac): event for frac, _, event in specials}
    targets: dict[str, int] = {}
    pr = first_pr
    for slot in range(1, BACKGROUND_EVENTS):
        when = slots[slot]
        if slot in scheduled:
            scheduled[slot](h, when)
            continue
        roll = rng.random()
        ready = [b for b in h.open.values() if b.commits >= targets[b.name]]
        busy = [b for b in h.open.values() if b.commits < targets[b.name]]
        if ready and roll < 0.2:
            h.merge(ready[0], when, _person(rng), GITHUB)
        elif len(h.open) < 3 and roll < 0.3:
            pr += rng.randint(1, 6)
            if _start_branch(h, when, pr, targets) is None:
                _main_work(h, when)
        elif busy and roll < 0.5:
            line = rng.choice(busy)
            if area_work(h, line, targets_area(line), when, _owner(line)) is None:
                _main_work(h, when)
        else:
            _main_work(h, when)
    for slot, line in zip(range(BACKGROUND_EVENTS, len(slots)), list(h.open.values()), strict=False):
        h.merge(line, slots[slot], _person(rng), GITHUB)
    assert not h.open, "background branches must all be merged"
    return pr + 1


def targets_area(line: Line) -> str:
    """The area a feature branch works in, from its name (``worker-…`` → ``worker``)."""
    return line.name.split("-", 1)[0]


def _owner(line: Line) -> Person:
    login = line.head.split("/", 1)[0]
    return next((p for p in PEOPLE.values() if p.login == login), PEOPLE["maya"])


def _start_branch(h: History, when: int, pr: int, targets: dict[str, int]) -> int | None:
    rng = h.rng
    if rng.random() < 0.15:
        key = rng.choice(sorted(k for k in AREAS if k != "shared"))
        path = f"{AREAS[key].root}/requirements.txt"
        if path in h.locked:
            return None
        text, what = _bump(h.main.tree[path], rng)
        package, _, version = what.partition(" from ")
        name = f"dependabot/pip/{AREAS[key].root}/{package}-{version.rsplit(' ', 1)[1]}"
        if name in h.open:
            return None
        line = h.branch(name, ORG, pr)
        targets[name] = 1
        return h.commit(line, when, DEPENDABOT, f"build(deps): bump {what} in /{AREAS[key].root}",
                        [Change(path, text)])
    key = _area_key(rng)
    author = _person(rng)
    name = f"{key}-{rng.choice(('validation', 'backfill', 'speedup', 'cleanup', 'retries', 'features'))}"
    if name in h.open:
        return None
    line = h.branch(name, author.login, pr)
    targets[name] = rng.randint(1, 5)
    mark = area_work(h, line, key, when, author)
    if mark is None:
        del h.open[name]
    return mark


def _main_work(h: History, when: int) -> None:
    rng = h.rng
    author = _person(rng)
    roll = rng.random()
    if roll < 0.14 and _docs_work(h, when, author) is not None:
        return
    if roll > 0.95:
        _other_work(h, when, author)
        return
    for _ in range(4):
        if area_work(h, h.main, _area_key(rng), when, author) is not None:
            return
    _other_work(h, when, author)
