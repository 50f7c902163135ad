"""The module rules of issue 11: each module says what it is for in its first line, and none is over 400 lines.

Every module under ``src/deploywatch`` starts with a docstring whose first line is a sentence saying what the
module is for: not empty, ending with a period, and standing alone (the docstring is that one line, or a blank
line follows it). A module longer than :data:`MAX_LINES` must be listed in :data:`LONG_MODULES` with the reason
it is not split; the aim is an empty dict.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import deploywatch

SOURCE = Path(deploywatch.__file__).parent
MAX_LINES = 400

# module (relative to src/deploywatch) -> why it stays longer than MAX_LINES
LONG_MODULES: dict[str, str] = {}


def modules(root: Path) -> dict[str, Path]:
    """Every module under ``root``, by its path relative to it (``daemon/scheduler.py``)."""
    return {path.relative_to(root).as_posix(): path for path in sorted(root.rglob("*.py"))}


def docstring_problem(source: str) -> str | None:
    """What is wrong with the module docstring of ``source``, or None when its first line is a summary."""
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=False)  # cleaning would drop leading blank lines
    if docstring is None:
        return "no module docstring"
    lines = docstring.splitlines()
    first = lines[0].strip() if lines else ""
    if not first:
        return "the docstring's first line is empty"
    if len(lines) > 1 and not first.endswith("."):
        return f"the first line is not a sentence ending with a period: {first!r}"
    if len(lines) > 1 and lines[1].strip():
        return f"the first line does not stand alone (a blank line must follow it): {first!r}"
    return None


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_every_module_starts_with_a_one_line_summary() -> None:
    problems = {name: problem for name, path in modules(SOURCE).items()
                if (problem := docstring_problem(path.read_text(encoding="utf-8"))) is not None}
    assert problems == {}


def test_no_module_is_over_the_line_limit_without_a_reason() -> None:
    long = {name: line_count(path) for name, path in modules(SOURCE).items() if line_count(path) > MAX_LINES}
    unexplained = {name: lines for name, lines in long.items() if name not in LONG_MODULES}
    assert unexplained == {}, f"split these modules, or list them in LONG_MODULES with a reason: {unexplained}"


def test_every_listed_long_module_exists_is_long_and_has_a_reason() -> None:
    found = modules(SOURCE)
    for name, reason in LONG_MODULES.items():
        assert name in found, f"{name} is listed in LONG_MODULES but does not exist"
        assert line_count(found[name]) > MAX_LINES, f"{name} is no longer over {MAX_LINES} lines: unlist it"
        assert reason.strip(), f"{name} is listed in LONG_MODULES without a reason"


@pytest.mark.parametrize(("source", "problem"), [
    ('"""What this module is for."""\n', None),
    ('"""What this module is for.\n\nMore about it, over\ntwo lines.\n"""\n', None),
    ('"""A one-line docstring without a period"""\n', None),
    ("# a comment first\n\n'''What this module is for.'''\n", None),
    ("import os\n", "no module docstring"),
    ('import os\n"""Not a docstring: it comes after an import."""\n', "no module docstring"),
    ('"""\n\nWhat this module is for.\n"""\n', "the docstring's first line is empty"),
    ('"""A summary that goes on\nonto the next line."""\n',
     "the first line is not a sentence ending with a period: 'A summary that goes on'"),
    ('"""What this module is for.\nMore, with no blank line between."""\n',
     "the first line does not stand alone (a blank line must follow it): 'What this module is for.'"),
])  # fmt: skip
def test_docstring_rule(source: str, problem: str | None) -> None:
    assert docstring_problem(source) == problem


def test_a_planted_long_module_and_a_missing_docstring_are_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text('"""The package."""\n', encoding="utf-8")
    (package / "sub" / "__init__.py").write_text("", encoding="utf-8")
    (package / "sub" / "long.py").write_text('"""Long."""\n' + "x = 1\n" * MAX_LINES, encoding="utf-8")

    found = modules(package)

    assert sorted(found) == ["__init__.py", "sub/__init__.py", "sub/long.py"]
    assert [name for name, path in found.items() if docstring_problem(path.read_text())] == ["sub/__init__.py"]
    assert [name for name, path in found.items() if line_count(path) > MAX_LINES] == ["sub/long.py"]
