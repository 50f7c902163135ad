"""Which files make a directory deployable, and why: Dockerfiles, Cloud Build files, programs with a main."""

from __future__ import annotations

import json
import posixpath
import re
import tomllib

from .scan import RepoFiles, ignored, parent

__all__ = ["SHARED_NAMES", "Evidence", "markers"]

# Directories of code services share; never a service themselves.
SHARED_NAMES = frozenset({"protos", "proto", "shared", "libs", "lib", "common", "pkg"})
_FUNCTION_ENTRIES = frozenset({"main.py", "index.js", "index.ts", "package.json", "function.go", "main.go"})
_PACKAGE_MAIN = re.compile(r"^package\s+main\b", re.MULTILINE)

Evidence = tuple[str, str]  # (repository path of the file, why it counts)


def markers(files: RepoFiles) -> dict[str, list[Evidence]]:
    """Directory → the files that make it deployable (``""`` is the top of the repository)."""
    found: dict[str, list[Evidence]] = {}
    for path in files.files:
        if ignored(path) or any(part in SHARED_NAMES for part in path.split("/")[:-1]):
            continue
        directory, name = parent(path), posixpath.basename(path)
        if name == "go.mod":  # a module with one program is one; the top's, or one with several, is one each
            mains = _go_mains(files, directory)
            for main_dir, main_file in mains.items():
                program_dir = directory if directory and len(mains) == 1 else main_dir
                found.setdefault(program_dir, []).append((path, f"go.mod with package main in {main_file}"))
            continue
        why = _why(files, path, name)
        if why is not None:
            found.setdefault(directory, []).append((path, why))
        parts = path.split("/")
        if "functions" in parts[:-1]:
            at = parts.index("functions")
            rest = parts[at + 1:]
            if len(rest) == 2 and rest[1] in _FUNCTION_ENTRIES:  # functions/NAME/main.py: one function each
                found.setdefault("/".join(parts[: at + 2]), []).append((path, "functions/ entry"))
            elif len(rest) == 1 and rest[0] in _FUNCTION_ENTRIES and not files.is_dir("/".join(parts[: at + 1])
                                                                                      + "/src"):
                found.setdefault("/".join(parts[: at + 1]), []).append((path, "functions/ entry"))
    return found


def _why(files: RepoFiles, path: str, name: str) -> str | None:
    if name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".Dockerfile"):
        return "Dockerfile"
    if name in ("cloudbuild.yaml", "cloudbuild.yml"):
        return "Cloud Build config"
    if name == "package.json":
        return _package_main(files.read(path))
    if name == "pyproject.toml":
        return _pyproject_scripts(files.read(path))
    return None


def _package_main(text: str | None) -> str | None:
    try:
        document = json.loads(text or "")
    except json.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    scripts = document.get("scripts")
    if isinstance(scripts, dict) and "start" in scripts:
        return "package.json with a start script"
    if document.get("bin"):
        return 'package.json with "bin"'
    if document.get("main"):
        return 'package.json with "main"'
    return None


def _pyproject_scripts(text: str | None) -> str | None:
    try:
        document = tomllib.loads(text or "")
    except tomllib.TOMLDecodeError:
        return None
    if document.get("project", {}).get("scripts"):
        return "pyproject.toml with [project.scripts]"
    if document.get("tool", {}).get("poetry", {}).get("scripts"):
        return "pyproject.toml with [tool.poetry.scripts]"
    return None


def _go_mains(files: RepoFiles, module_dir: str) -> dict[str, str]:
    """Directory → its first ``package main`` file, for the module at ``module_dir`` (not nested modules)."""
    nested = {parent(f) for f in files.under(module_dir) if f.endswith("/go.mod") and parent(f) != module_dir}
    mains: dict[str, str] = {}
    for path in files.under(module_dir):
        if not path.endswith(".go") or path.endswith("_test.go") or ignored(path) or parent(path) in mains:
            continue
        if any(path.startswith(n + "/") for n in nested):
            continue
        text = files.read(path)
        if text and _PACKAGE_MAIN.search(text):
            mains[parent(path)] = path
    return mains
