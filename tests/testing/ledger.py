"""A repository with a history that branches and merges, and a config over it with ledger sources (the deploy
ledger's tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deploywatch.config import LoadedConfig, load_config
from testing.gitrepo import GitRepo, write_config

CONFIG = """\
[repo]
path = "../repo"

[services.web]
paths = ["web/**", "shared/**"]
exclude = ["web/docs/**"]
deployed = { ledger = true }

[services.api]
paths = ["api/**"]
deployed = { ledger = true }
"""


@dataclass
class Scene:
    """The repository, its commits by name, and the loaded config beside it."""

    repo: GitRepo
    commits: dict[str, str]
    loaded: LoadedConfig
    config: Path


def build_scene(git_repo: GitRepo, tmp_path: Path) -> Scene:
    """main: base → web → api → (feature: shared, web docs) merged → web again; each commit named."""
    commits = {"base": git_repo.commit("base", {"web/app.py": "1\n", "api/app.py": "1\n", "shared/lib.py": "1\n"})}
    commits["web1"] = git_repo.commit("web: one", {"web/app.py": "2\n"})
    commits["api1"] = git_repo.commit("api: one", {"api/app.py": "2\n"})
    git_repo.checkout("feature", new=True)
    commits["shared"] = git_repo.commit("shared: lib", {"shared/lib.py": "2\n"})
    commits["docs"] = git_repo.commit("web: docs only", {"web/docs/readme.md": "hi\n"})
    git_repo.checkout("main")
    commits["api2"] = git_repo.commit("api: two", {"api/app.py": "3\n"})
    commits["merge"] = git_repo.merge("feature", "merge feature")
    commits["web2"] = git_repo.commit("web: two", {"web/app.py": "3\n"})
    ops = tmp_path / "ops"
    ops.mkdir()
    config = write_config(ops, CONFIG)
    return Scene(git_repo, commits, load_config(config, environ={}), config)
