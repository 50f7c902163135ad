"""Glob matching agrees with ``git ls-files ':(glob)…'`` on a tree of awkward names."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploywatch.core.paths import GlobError, PathClassifier, ServicePaths, compile_glob
from testing.gitrepo import GitRepo
from testing.oracle import ls_files

LEAVES = ["c.py", "x.md", "ab", "é.py", "x y.txt", ".h", "[a]"]
DIRS = ["a", "b", "foo", "foobar", "é", "x y"]
FILES = (LEAVES + [f"{d}/{leaf}" for d in DIRS for leaf in LEAVES]
         + [f"{d1}/{d2}/{leaf}" for d1, d2 in itertools.product(DIRS, repeat=2) for leaf in LEAVES])

SEGMENTS = ["a", "b", "foo", "é", "x y", "*", "**", "?", "*.py", "[ab]", "[!a]*", "fo?", "foo*", "*o*",
            "c.py", "x.md", "[[:alpha:]]*", "[a-c]", "\\[a]", "foo**", "**.py", "[]a]"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    repo = GitRepo(tmp_path_factory.mktemp("globs") / "repo")
    repo.write(dict.fromkeys(FILES, "x"))
    return repo


patterns = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4).map("/".join) | st.sampled_from(
    ["a", "a/", "foo", "foo/", "x y", "é/", "**", "**/", "**/*.py", "a/**", "foo**/c.py"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=patterns)
def test_glob_matches_like_git_ls_files(tree: GitRepo, pattern: str) -> None:
    try:
        glob = compile_glob(pattern)
    except GlobError:
        return
    assert {f for f in FILES if glob.matches(f)} == ls_files(tree, pattern)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("shared", "shared/x.py", True),
        ("shared/", "shared/a/b.py", True),
        ("shared", "sharedx/y.py", False),
        ("shared/*", "shared/a/b.py", False),
        ("shared/**", "shared/a/b.py", True),
        ("**/*.md", "README.md", True),
        ("**/*.md", "docs/a/b.md", True),
        ("*.md", "docs/a.md", False),
        ("docs/**", "docs", False),
        ("predictions/worker/**", "predictions/worker/models/m.py", True),
        ("a/**/b.py", "a/b.py", True),
    ],
)
def test_glob_semantics(pattern: str, path: str, expected: bool) -> None:
    assert compile_glob(pattern).matches(path) is expected


@pytest.mark.parametrize(("pattern", "message"), [
    ("", "empty"), ("/abs", "leading '/'"), ("a/../b", "'..'"), ("a[", "unclosed"), ("a\\", "backslash"),
    (":(glob)a", "magic"), ("a//b", "//"), ("[[:nope:]]", "character class"), (".", "'**'"),
])
def test_bad_globs_are_rejected_with_a_reason(pattern: str, message: str) -> None:
    with pytest.raises(GlobError, match=re.escape(message)):
        compile_glob(pattern)


def test_non_utf8_names_match_on_bytes(git_repo: GitRepo, tmp_path: Path) -> None:
    name = b"a/caf\xe9.py"  # Latin-1, not UTF-8
    assert compile_glob("a/*.py").matches(name)
    assert compile_glob("a/caf?.py").matches(name)
    assert not compile_glob("a/caf??.py").matches(name)


def test_classifier_separates_paths_from_excluded() -> None:
    services = [
        ServicePaths("worker", (compile_glob("worker/**"), compile_glob("shared/**")), (compile_glob("**/*.md"),)),
        ServicePaths("docs", (compile_glob("docs"),)),
    ]
    classifier = PathClassifier(services)
    assert classifier.classify(b"shared/u.py") == (0b01, 0b01)
    assert classifier.classify(b"worker/README.md") == (0b01, 0b00)
    assert classifier.classify(b"docs/x.md") == (0b10, 0b10)
    assert classifier.classify_all([b"worker/a.py", b"docs/y"]) == (0b11, 0b11)
    assert classifier.classify(b"elsewhere.py") == (0, 0)


def test_classifier_agrees_with_each_service_matching_on_its_own() -> None:
    # globs whose literal prefixes are prefixes of one another, end mid-segment, or are empty
    specs = [("services/a/**", "shared/**"), ("services/ab/**", "services/a*/x.py"), ("foo**/x", "docs"),
             ("*.toml", "services/**/*.py"), ("shared", "services/a")]
    services = [ServicePaths(f"s{k}", tuple(map(compile_glob, paths)),
                             (compile_glob("**/*.md"), compile_glob("services/ab/t*")))
                for k, paths in enumerate(specs)]
    classifier = PathClassifier(services)
    files = [b"services/a/x.py", b"services/ab/x.py", b"services/abc/x.py", b"services/a", b"services/ab/tests/t.py",
             b"services/ab/README.md", b"shared/u.py", b"shared", b"sharedx", b"foo/x", b"foo/a/b/x", b"foobar/x",
             b"docs/a.md", b"docs", b"pyproject.toml", b"a/pyproject.toml", b"", b"s", b"services/a/deep/y.md"]
    for path in files:
        positive = sum(1 << k for k, s in enumerate(services) if s.match(path)[0] is not None)
        relevant = sum(1 << k for k, s in enumerate(services) if s.owns(path))
        assert classifier.classify(path) == (positive, relevant), path
