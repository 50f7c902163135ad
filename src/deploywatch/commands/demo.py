"""``deploywatch demo [DIR]``: build the demo workspace and show its drift, its data canaries and remediation's plan."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import datetime
from pathlib import Path

from ..core.errors import UsageError
from ..core.render import console
from ..demo.builder import HISTORY_DAYS
from ..demo.ledger import LEDGER_DAYS as PAST_DAYS
from ..demo.platform import deploy_commands
from . import canary as canary_command
from . import check as check_command
from . import drift as drift_command
from . import remediate as remediate_command

__all__ = ["run"]


def run(directory: Path, *, now: datetime, webhook: str | None = None, slack_webhook: str | None = None) -> int:
    """Build (or rebuild) the demo in ``directory`` and print its drift table; exit 0 when built."""
    from ..config.types import http_url
    from ..demo import build_demo
    from ..notify.model import AlertMode

    for option, url in (("--webhook", webhook), ("--slack-webhook", slack_webhook)):
        try:
            if url:
                http_url(url)
        except ValueError as exc:
            raise UsageError(f"{option}: {exc}") from None
    workspace = build_demo(directory, now=now, webhook=webhook, slack_webhook=slack_webhook)
    out = console()
    out.print(f"Demo workspace written to {workspace.directory}", markup=False)
    out.print(f"  config: {workspace.config_path}\n  repository: {workspace.repo_path}\n", markup=False)
    status = drift_command.run((), config_path=workspace.config_path, output_format="table", now=now,
                               max_commits=None)
    out.print(f"\n(deploywatch drift exits {status} here: the worst status.)\n", markup=False)
    out.print(f"Data canaries on the demo warehouse ({workspace.warehouse.path.name}; "
              f"{HISTORY_DAYS} earlier runs replayed for anomaly history):\n", markup=False)
    canary_status = canary_command.run(config_path=workspace.config_path, phases=(), patterns=(), run_date=None,
                                       output_format="table", now=now, explain=False)
    out.print(f"\n(deploywatch canary exits {canary_status} here.)\n", markup=False)
    out.print("The unified health check (deploywatch check): drift, every data check, phase completion "
              "reconciled with the data, and the probe, as one score:\n", markup=False)
    check_status = check_command.run(config_path=workspace.config_path, output_format="table", now=now,
                                     run_date=None, fail_fast_on_drift=False)
    out.print(f"\n(deploywatch check exits {check_status} here.)\n", markup=False)
    out.print("Self-healing (deploywatch remediate, a dry run: nothing is deployed or written): the services it "
              "would redeploy through the guarded deploy, and why:", markup=False)
    remediate_command.run((), all_services=False, apply=False, by="demo", config_path=workspace.config_path,
                          output_format="table", now=now, alerts=AlertMode(enabled=False))
    if webhook or slack_webhook:
        out.print("Both runs sent their findings to the demo's alert sinks; see `deploywatch alerts pending "
                  "--delivered`.", markup=False)
    out.print("Next, try:", markup=False)
    if shutil.which("deploywatch") is None and sys.prefix != sys.base_prefix:
        out.print(f"  . {os.path.relpath(sys.prefix)}/bin/activate      # puts deploywatch on your PATH", markup=False)
    for line in (f"cd {directory}",
                 "deploywatch drift prediction-worker --format json",
                 f"deploywatch contains {workspace.fix_commit[:12]}      # is the worker fix live, and where?",
                 f"deploywatch affected --base main --head {workspace.feature_branch} --format table",
                 "deploywatch skew                            # predictions services disagree on shared code",
                 "deploywatch gate phase3_to_phase4           # may phase 4 run? FAIL: stale team-defense table",
                 "deploywatch canary --phase phase4 --explain # the SQL: one statement per table and filter",
                 "deploywatch history phase4.vegas_line_coverage.yesterday",
                 "deploywatch phases                          # phase 3: a tracking gap, not a failure",
                 "deploywatch remediate --apply               # redeploy what drifted, under guardrails; then audit",
                 "deploywatch serve                           # the daemon: schedule, API, metrics",
                 "deploywatch config check"):
        out.print(f"  {line}", markup=False)
    out.print("Then deploy through the guard rails (bin/deploy-service.sh is a pretend platform, with a planted "
              "bug):", markup=False)
    deploys = deploy_commands(workspace.fix_commit)
    width = max(len(command) for command, _ in deploys) + 2
    for command, why in deploys:
        out.print(f"  {command:<{width}}# {why}", markup=False)
    out.print(f"\nThe store holds {PAST_DAYS} days of history (drift runs every 2 hours, the deploy ledger with a "
              "rollback). Open the dashboard:", markup=False)
    out.print(f"  deploywatch serve --config {workspace.config_path}", markup=False)
    out.print(f"  then http://{_listen(workspace.config_path)}/", markup=False)
    return 0


def _listen(config_path: Path) -> str:
    """Where the demo's ``deploywatch serve`` listens (its ``[server] listen``)."""
    from ..checks.validate import load_config

    return load_config(config_path).config.server.listen
