"""``deploywatch demo`` shows remediation's dry run: what it would deploy and why, with nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from deploywatch.store import Store
from testing.gitrepo import env_without_git

NOW = "2026-11-23T09:00:00Z"


def test_the_demo_names_what_remediate_would_deploy_and_why(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "deploywatch", "demo", str(target), "--now", NOW],
                          capture_output=True, text=True, timeout=300, check=False, env=env_without_git())
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout.split("Self-healing (deploywatch remediate, a dry run", 1)[1]
    assert "would redeploy prediction-worker" in shown and "why: drift critical" in shown
    assert "dry run (nothing changed; --apply acts)" in shown
    with Store.open(f"sqlite:///{target / '.deploywatch' / 'state.db'}") as store:
        assert store.audit_log() == [] and store.remediation_states() == {}
        assert all(not (entry.reason or "").startswith("remediate:") for entry in store.deployments(limit=1000))
