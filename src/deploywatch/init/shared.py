"""The directories outside a service that its build files and code use: copied, replaced, depended on, imported.

A reference counts when it names a path that exists in the repository outside the service's directory:

- a relative path (``../../protos``) in any of the service's text files (``genproto.sh``, ``go.mod`` replace
  directives, ``package.json`` ``file:`` dependencies, ``pyproject.toml`` path dependencies, project files),
  resolved against the file's directory;
- a Dockerfile ``COPY``/``ADD`` source, resolved against the top of the repository (a build context there);
- a Go import under the module path of the service's ``go.mod`` (or of the repository's one);
- a Python import or a ``.proto`` import naming a top-level directory of shared code (``protos``, ``shared`` …).
"""

from __future__ import annotations

import posixpath
import re

from .markers import SHARED_NAMES, Evidence
from .scan import RepoFiles, parent

__all__ = ["shared_directories"]

_TEXT_SUFFIXES = (".sh", ".go", ".mod", ".json", ".toml", ".py", ".js", ".ts", ".mjs", ".cjs", ".proto", ".csproj",
                  ".gradle", ".kts", ".xml", ".cfg", ".txt", ".yaml", ".yml", ".mk", ".java", ".cs", ".bzl")
_TEXT_NAMES = ("Dockerfile", "Makefile", "BUILD", "BUILD.bazel")
_MAX_FILES = 500  # per service: enough for build files and code, bounded for huge directories
_RELATIVE = re.compile(r"(?<![\w.])((?:\.\.[/\\])+[\w.@-]+(?:[/\\][\w.@-]+)*)")
_COPY = re.compile(r"^\s*(?:COPY|ADD)\s+(.+)$", re.MULTILINE | re.IGNORECASE)
_GO_MODULE = re.compile(r"^module\s+(\S+)", re.MULTILINE)
_GO_IMPORT = re.compile(r'"([\w.-]+(?:/[\w.@-]+)+)"')
_PY_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)
_PROTO_IMPORT = re.compile(r'^\s*import\s+(?:public\s+)?"([^"]+)"', re.MULTILINE)


def shared_directories(files: RepoFiles, service_dir: str, owned: list[str]) -> dict[str, Evidence]:
    """Shared directory → the first reference to it from ``service_dir`` (directories in ``owned`` — the
    services' own directories — and documentation never count)."""
    found: dict[str, Evidence] = {}
    modules = _go_modules(files, service_dir)
    texts = [p for p in files.under(service_dir) if _is_text(p)][:_MAX_FILES]
    for path in texts:
        text = files.read(path)
        if not text:
            continue
        for target, why in _references(files, path, text, modules):
            directory = _shared_directory(files, target, service_dir, owned)
            if directory is not None and directory not in found:
                found[directory] = (path, why)
    return found


def _is_text(path: str) -> bool:
    name = posixpath.basename(path)
    return name.endswith(_TEXT_SUFFIXES) or name in _TEXT_NAMES or name.startswith("Dockerfile")


def _references(files: RepoFiles, path: str, text: str, modules: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(repository path, why) of every path ``text`` names."""
    here = parent(path)
    refs = [(posixpath.normpath(posixpath.join(here, m.group(1).replace("\\", "/"))), f"names {m.group(1)}")
            for m in _RELATIVE.finditer(text)]
    name = posixpath.basename(path)
    if name.startswith("Dockerfile") or name.endswith(".Dockerfile"):
        for line in _COPY.finditer(text):
            words = [w.strip("\"'[],") for w in line.group(1).split()]
            if any(w.startswith("--from") for w in words):
                continue
            sources = [w for w in words if w and not w.startswith("--")][:-1]
            # a source that exists beside the Dockerfile is read from there (the service's own build context)
            refs += [(posixpath.normpath(s), f"COPY {s}") for s in sources
                     if not s.startswith(("/", "$", ".")) and not files.exists(posixpath.join(here, s).rstrip("/"))]
    if name.endswith(".go"):
        for module, module_dir in modules:
            refs += [(posixpath.join(module_dir, m.group(1)[len(module) + 1:]), f"imports {m.group(1)}")
                     for m in _GO_IMPORT.finditer(text) if m.group(1).startswith(module + "/")]
    if name.endswith(".py"):
        refs += [(m.group(1), f"imports {m.group(1)}") for m in _PY_IMPORT.finditer(text)
                 if m.group(1) in SHARED_NAMES]
    if name.endswith(".proto"):
        refs += [(m.group(1), f'imports "{m.group(1)}"') for m in _PROTO_IMPORT.finditer(text)]
    return refs


def _go_modules(files: RepoFiles, service_dir: str) -> list[tuple[str, str]]:
    """(module path, directory) of the service's own go.mod files and of the one at the top, if any."""
    found = []
    for go_mod in [p for p in files.under(service_dir) if p.endswith("go.mod")] + ["go.mod"]:
        if match := _GO_MODULE.search(files.read(go_mod) or ""):
            found.append((match.group(1), parent(go_mod)))
    return found


def _shared_directory(files: RepoFiles, target: str, service_dir: str, owned: list[str]) -> str | None:
    """The directory ``target`` names (a file's own directory), when it is shared code outside the service."""
    target = target.strip("/")
    if not target or target.startswith("..") or not files.exists(target):
        return None
    directory = target if files.is_dir(target) else parent(target)
    if not directory or _inside(directory, service_dir) or _inside(service_dir, directory):
        return None
    if directory.split("/")[0] in ("docs", "doc"):
        return None
    if any(_inside(directory, other) for other in owned):
        return None
    return directory


def _inside(path: str, directory: str) -> bool:
    return not directory or path == directory or path.startswith(directory + "/")
