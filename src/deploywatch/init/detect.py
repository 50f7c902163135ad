"""What ``init`` finds: one service per deployable directory, with its paths, evidence and deployed source."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from .markers import Evidence, markers
from .platform import Workload, cloud_run_deploys, image_name, workloads
from .scan import RepoFiles, ignored, parent
from .shared import shared_directories

__all__ = ["DOC_EXCLUDES", "Deployed", "Detection", "Service", "detect"]

DOC_EXCLUDES = ("**/*.md", "docs/**")
# A deployable found in a directory with one of these names is its parent's (src/cartservice/src → cartservice).
_GENERIC = frozenset({"src", "docker", "build", ".docker", "deploy"})
_BAD_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Deployed:
    """The ``deployed`` source written for a service: a preset filled from a file, or a file stub to fill in."""

    kind: str  # cloudrun, kubernetes or file
    settings: dict[str, str]
    evidence: Evidence | None = None

    def toml(self) -> str:
        """The inline table, e.g. ``{ cloudrun = { service = "web", region = "europe-west1" } }``."""
        pairs = ", ".join(f"{k} = {_quote(v)}" for k, v in self.settings.items())
        return f"{{ file = {_quote(self.settings['file'])} }}" if self.kind == "file" else \
            f"{{ {self.kind} = {{ {pairs} }} }}"


@dataclass
class Service:
    """A deployable directory and why it is one."""

    name: str
    directory: str
    evidence: list[Evidence]
    shared: dict[str, Evidence] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # outside its directory: its manifests, its module's go.mod
    deployed: Deployed | None = None

    @property
    def paths(self) -> list[str]:
        """The globs of its ``paths``: its directory, the shared directories it uses, its own files elsewhere
        (its manifests, the ``go.mod`` and ``go.sum`` of a module above it)."""
        own = f"{self.directory}/**" if self.directory else "**"
        return [own, *(f"{d}/**" for d in sorted(self.shared)), *self.files]

    def to_json(self) -> dict[str, object]:
        """A ``services[]`` item of ``deploywatch.init/v1``."""
        deployed = self.deployed or Deployed("file", {})
        return {"name": self.name, "directory": self.directory, "paths": self.paths,
                "evidence": [{"file": f, "why": w} for f, w in self.evidence],
                "shared": [{"directory": d, "file": f, "why": w} for d, (f, w) in sorted(self.shared.items())],
                "deployed": {"kind": deployed.kind, "settings": deployed.settings,
                             "evidence": {"file": deployed.evidence[0], "why": deployed.evidence[1]}
                             if deployed.evidence else None}}


@dataclass
class Detection:
    """Every service found, and what was looked at but is not a service (with why)."""

    services: list[Service]
    skipped: list[tuple[str, str]]


def detect(files: RepoFiles) -> Detection:
    """The services of the repository whose files are ``files``."""
    found: dict[str, list[Evidence]] = {}
    for directory, evidence in markers(files).items():
        while posixpath.basename(directory) in _GENERIC and parent(directory):
            directory = parent(directory)
        found.setdefault(directory, []).extend(evidence)
    skipped: list[tuple[str, str]] = []
    if "" in found and len(found) > 1:
        go_mains = all(file == "go.mod" for d, evidence in found.items() if d for file, _ in evidence)
        if go_mains and any(file != "go.mod" for file, _ in found[""]):  # one program built at the top
            for directory in [d for d in found if d]:
                found[""].extend(found.pop(directory))
        else:  # the top's files build or deploy the whole repository
            skipped += [(f, f"{why} at the top of the repository (it builds the whole repository)")
                        for f, why in found.pop("")]
    outer = sorted(found)
    for directory in sorted(found, key=len, reverse=True):
        owner = next((o for o in outer if o != directory and o and directory.startswith(o + "/")), None)
        if owner is not None:
            found[owner].extend(found.pop(directory))
    services = [Service(name, d, sorted(found[d])) for d, name in _names(sorted(found), files.root.name).items()]
    _attach_manifests(files, services, skipped)
    _attach_cloud_run(files, services)
    owned = [s.directory for s in services]
    for service in services:
        service.shared = shared_directories(files, service.directory, owned)
        service.files += _module_files(files, service)
        if service.deployed is None:
            service.deployed = Deployed("file", {"file": f"deployed/{service.name}.sha"})
    return Detection(services, skipped)


def _module_files(files: RepoFiles, service: Service) -> list[str]:
    """The ``go.mod`` and ``go.sum`` of the module a Go service's main package is in, when above its directory."""
    found = []
    for go_mod, _ in service.evidence:
        if posixpath.basename(go_mod) == "go.mod" and not _inside(go_mod, service.directory):
            module = parent(go_mod)
            found += [p for p in (go_mod, posixpath.join(module, "go.sum")) if files.exists(p) and p not in found]
    return found


def _names(directories: list[str], top: str) -> dict[str, str]:
    """Directory → service name: its base name (``top`` for the top), or its whole path where base names collide."""
    base = {d: _BAD_NAME.sub("-", posixpath.basename(d) or top).strip("-_") or "app" for d in directories}
    counts = {n: list(base.values()).count(n) for n in base.values()}
    names: dict[str, str] = {}
    for d in directories:
        name = base[d] if counts[base[d]] == 1 else _BAD_NAME.sub("-", d).strip("-_") or "app"
        unique, n = name, 2
        while unique in names.values():  # two paths that spell the same name
            unique, n = f"{name}-{n}", n + 1
        names[d] = unique
    return names


def _attach_manifests(files: RepoFiles, services: list[Service], skipped: list[tuple[str, str]]) -> None:
    """Workloads named like a service (or running its image) become its kubernetes preset; a manifest holding
    only that service's workloads joins its paths. Helm charts deploying services are noted, not services."""
    by_name = {s.name: s for s in services}
    for path in files.files:
        if not path.endswith((".yaml", ".yml")) or ignored(path) or "/templates/" in f"/{path}":
            continue
        text = files.read(path) or ""
        if "kind:" not in text:
            continue
        matched = {w: _service_of(w, by_name) for w in workloads(text)}
        for workload, service in matched.items():
            if service is None:
                skipped.append((path, f"{workload.kind} {workload.name}: no source directory of that name"))
            elif service.deployed is None:
                settings = {"name": workload.name}
                if workload.kind != "deployment":
                    settings["kind"] = workload.kind
                if workload.namespace:
                    settings["namespace"] = workload.namespace
                if len(workload.images) == 1:  # most teams put the commit in the image tag
                    settings["from"] = "image-tag"
                service.deployed = Deployed("kubernetes", settings, (path, f"{workload.kind} {workload.name}"))
                service.evidence.append((path, f"Kubernetes {workload.kind} {workload.name}"))
        owners = {s.name for s in matched.values() if s is not None}
        if len(owners) == 1 and None not in matched.values():
            owner = by_name[owners.pop()]
            if not path.startswith(owner.directory + "/"):
                owner.files.append(path)
    for chart in [parent(p) for p in files.files if posixpath.basename(p) == "Chart.yaml" and not ignored(p)]:
        text = " ".join((files.read(p) or "").lower() for p in files.under(chart))
        users = [s.name for s in services if re.search(rf"\b{re.escape(s.name.lower())}\b", text)]
        if users:
            skipped.append((f"{chart}/Chart.yaml", f"Helm chart deploying {', '.join(users)}"))
        elif chart and not any(_inside(chart, s.directory) for s in services):
            # a chart of its own (a third-party app, an operator …): its files are what is deployed
            name = _unique(_BAD_NAME.sub("-", posixpath.basename(chart)).strip("-_") or "chart", by_name)
            chart_service = Service(name, chart, [(f"{chart}/Chart.yaml", "Helm chart")])
            services.append(chart_service)
            by_name[name] = chart_service


def _inside(path: str, directory: str) -> bool:
    return not directory or path == directory or path.startswith(directory + "/")


def _unique(name: str, taken: dict[str, Service]) -> str:
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name}-{n}", n + 1
    return unique


def _service_of(workload: Workload, by_name: dict[str, Service]) -> Service | None:
    if workload.name in by_name:
        return by_name[workload.name]
    return next((by_name[image_name(i)] for i in workload.images if image_name(i) in by_name), None)


def _attach_cloud_run(files: RepoFiles, services: list[Service]) -> None:
    """A Cloud Build file deploying a service to Cloud Run makes the cloudrun preset its source: the file in
    the service's directory first, else one anywhere naming the service."""
    deploys = [(path, deploy) for path in files.files
               if posixpath.basename(path) in ("cloudbuild.yaml", "cloudbuild.yml") and not ignored(path)
               for deploy in cloud_run_deploys(files.read(path) or "") if deploy.region]
    for service in services:
        inside = [(p, d) for p, d in deploys if service.directory == "" or p.startswith(service.directory + "/")]
        named = [(p, d) for p, d in deploys if d.service == service.name and (p, d) not in inside]
        if inside or named:
            path, deploy = (inside + named)[0]
            assert deploy.region is not None
            settings = {"service": deploy.service, "region": deploy.region,
                        **({"project": deploy.project} if deploy.project else {})}
            service.deployed = Deployed("cloudrun", settings, (path, f"gcloud run deploy {deploy.service}"))


def _quote(value: str) -> str:
    import json

    return json.dumps(value)  # a JSON string is a TOML basic string
