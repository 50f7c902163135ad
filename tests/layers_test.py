"""The import rules of issue 11, read from the source: no import circles, no import from a lower layer to a higher.

Which imports count:

* **Circles** are found among *runtime* imports: module level and inside functions, but not under
  ``if TYPE_CHECKING:``. Those are read by mypy only and never executed, so they cannot make two modules
  depend on each other when the program runs; a type annotation naming a higher module is how a lower
  module may legitimately mention it.
* **Layers** are checked on *all* imports, ``TYPE_CHECKING`` ones included: a lower layer that names a higher
  one's types still depends on its design: the lower package would know the higher one.

The layers are those of the issue (core < config < store < drift, checks, health, notify, deploy < daemon, web <
commands < cli). ``demo`` builds a demo workspace from the domains and is called by ``commands/demo``, so it
sits beside daemon and web. ``AREAS`` maps each top-level package or module to its area; a module in a
subpackage (``checks.plan``) takes its package's area unless it has its own entry. There are no exceptions.
"""

from __future__ import annotations

from pathlib import Path

import deploywatch
from testing.imports import Edge, import_circles, imports, layer_violations, module_names, unmapped_modules

SOURCE = Path(deploywatch.__file__).parent

LAYERS = [
    frozenset({"core"}),
    frozenset({"config"}),
    frozenset({"store"}),
    frozenset({"drift", "checks", "health", "notify", "deploy", "report", "remediate", "init"}),
    frozenset({"daemon", "web", "demo"}),
    frozenset({"commands"}),
    frozenset({"cli"}),
]

AREAS = {
    "core": "core", "config": "config", "store": "store",
    "drift": "drift", "checks": "checks", "health": "health", "notify": "notify", "deploy": "deploy",
    "report": "report", "remediate": "remediate", "init": "init",
    "daemon": "daemon", "web": "web", "demo": "demo",
    "commands": "commands",
    "cli": "cli", "cli_ledger": "cli", "cli_deploy": "cli", "cli_hooks": "cli",
    "cli_report": "cli", "cli_remediate": "cli", "cli_rollout": "cli", "cli_init": "cli",
    "__init__": "cli", "__main__": "cli",
}  # fmt: skip

def violations(root: Path, package: str) -> set[str]:
    """Every breach of the two rules in the package at ``root``: circles and upward imports, as strings."""
    edges = imports(root, package)
    runtime = [edge for edge in edges if not edge.type_checking]
    return {f"circle: {circle}" for circle in import_circles(runtime)} | set(layer_violations(edges, AREAS, LAYERS))


def describe(found: set[str], edges: list[Edge]) -> str:
    where = {f"{edge.source} -> {edge.target}": edge for edge in edges}
    lines = []
    for violation in sorted(found):
        edge = where.get(violation)
        lines.append(f"{violation}  (line {edge.line})" if edge else violation)
    return "\n".join(lines)


def test_every_module_has_an_area_in_a_layer() -> None:
    assert unmapped_modules(list(module_names(SOURCE)), AREAS, LAYERS) == []


def test_no_new_import_circle_or_upward_import() -> None:
    new = violations(SOURCE, "deploywatch")
    message = "imports that break the layering or close a circle:\n"
    assert not new, message + describe(new, imports(SOURCE, "deploywatch"))


def write_package(root: Path, files: dict[str, str]) -> Path:
    """A package named ``pkg`` under ``root`` with the given modules (path -> source)."""
    for name, source in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return root / "pkg"


def test_an_upward_import_is_reported_by_its_pair(tmp_path: Path) -> None:
    package = write_package(tmp_path, {
        "__init__.py": "",
        "core/__init__.py": "",
        "core/errors.py": "def helper() -> None:\n    from ..commands.drift import record\n",
        "commands/__init__.py": "",
        "commands/drift.py": "from ..core.errors import helper\nrecord = 1\n",
    })  # fmt: skip

    assert violations(package, "pkg") == {
        "core.errors -> commands.drift",
        "circle: commands.drift -> core.errors -> commands.drift",
    }


def test_an_import_under_type_checking_breaks_layers_but_closes_no_circle(tmp_path: Path) -> None:
    package = write_package(tmp_path, {
        "__init__.py": "",
        "config.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.cli\n",
        "cli.py": "from pkg import config\n",
    })  # fmt: skip

    assert violations(package, "pkg") == {"config -> cli"}


def test_a_planted_upward_import_fails_in_the_real_source(tmp_path: Path) -> None:
    files = {str(path.relative_to(SOURCE)): path.read_text(encoding="utf-8") for path in SOURCE.rglob("*.py")}
    files["core/errors.py"] += "\n\ndef _planted() -> None:\n    from ..web.app import create_app\n"
    package = write_package(tmp_path, files)

    new = violations(package, "pkg")

    # errors is imported by nearly everything, so the planted import also pulls most modules into one circle.
    assert "core.errors -> web.app" in new
    assert any(found.startswith("circle: ") and "core.errors" in found and "web.app" in found for found in new)
    assert new - {"core.errors -> web.app"} == {found for found in new if found.startswith("circle: ")}


def test_an_unmapped_module_is_named(tmp_path: Path) -> None:
    package = write_package(tmp_path, {"__init__.py": "", "core/__init__.py": "", "core/errors.py": "",
                                       "newthing.py": ""})

    assert unmapped_modules(list(module_names(package)), AREAS, LAYERS) == ["newthing"]


def test_a_module_pulled_into_a_known_circle_changes_its_text(tmp_path: Path) -> None:
    package = write_package(tmp_path, {
        "__init__.py": "",
        "configfile.py": "from . import configerrors\n",
        "configerrors.py": "from . import configfile\nfrom . import configtypes\n",
        "configtypes.py": "from .configfile import x\n",
    })  # fmt: skip

    assert violations(package, "pkg") == {"circle: configerrors -> configfile -> configerrors (with configtypes)"}


def test_the_tests_mirror_the_packages() -> None:
    """Every package under src/deploywatch has its tests in tests/<package>/; tests of the whole program (the CLI,
    the docs, the JSON schemas, the import rules, PostgreSQL end to end) stay at the top of tests/."""
    tests = Path(__file__).parent
    packages = sorted(path.parent.name for path in SOURCE.glob("*/__init__.py"))
    assert [name for name in packages if not list((tests / name).rglob("*_test.py"))] == []
