"""``deploywatch schedule export``: crontab, Kubernetes, GitHub Actions and systemd, checked for meaning.

Conversions are checked against cronsim itself: the UTC expression for GitHub Actions must fire at the same
instants as the original in its time zone, and the systemd ``OnCalendar=`` values at the same instants as the
cron expression (with ``systemd-analyze calendar`` when it is installed).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from cronsim import CronSim

from deploywatch.cli import main
from deploywatch.commands.schedule import expand, github_cron, on_calendar

BASE = """\
[repo]
path = "repo"

[services.api]
paths = ["api/**"]
deployed = { file = "deployed/api.sha" }
"""


INSTALL = "deploywatch @ git+https://git.example.com/acme/deploywatch@v0.1.0"
REPO_URL = "https://git.example.com/acme/mono.git"


def write_config(tmp_path: Path, schedule: str, *, repo: str = "repo") -> Path:
    config = tmp_path / "deploywatch.toml"
    config.write_text(BASE.replace('path = "repo"', f'path = "{repo}"') + "\n" + schedule, encoding="utf-8")
    return config


def export(config: Path, fmt: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["schedule", "export", "--format", fmt, "--config", str(config), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def fires(cron: str, timezone: str, start: datetime, days: int) -> list[datetime]:
    found = []
    for moment in CronSim(cron, start.astimezone(ZoneInfo(timezone))):
        if moment > start + timedelta(days=days):
            return found
        found.append(moment.astimezone(UTC))
    return found


# ---------------------------------------------------------------- the four formats


def test_crontab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, '[schedule]\ntimezone = "Europe/Berlin"\ndrift = "*/15 * * * *"\n'
                                    'check = "0 6 * * MON-FRI"\ntimeout = "20m"\n')
    code, out, err = export(config, "crontab", capsys)
    assert code == 0 and err == ""
    lines = [line for line in out.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "CRON_TZ=Europe/Berlin"
    assert len(lines) == 3
    drift, check = lines[1:]
    assert drift.startswith("*/15 * * * * flock -n ")
    assert "timeout 1200s" in drift
    assert drift.endswith(f"drift --config {config} >/dev/null")
    assert check.startswith("0 6 * * MON-FRI ") and f"check --config {config}" in check
    assert "canary" not in out


def test_crontab_escapes_percent_and_warns_about_seconds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "50%"
    odd.mkdir()
    config = write_config(odd, '[schedule]\ncanary = "30 0 8 * * *"\n')
    code, out, err = export(config, "crontab", capsys)
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("30 0 8"))
    assert "50\\%" in line and "50%/" not in line.replace("50\\%", "")
    assert "seconds field" in err and "# WARNING: canary" in out


def test_kubernetes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, '[schedule]\ntimezone = "America/New_York"\ndrift = "0 */2 * * *"\n'
                                    'canary = "*/30 * * * *"\ntimeout = "45m"\ncatch_up = false\n')
    code, out, err = export(config, "kubernetes", capsys, "--repo-url", REPO_URL)
    # the config is outside the repository: mounted from a ConfigMap, and [repo] path must name the clone
    assert code == 0 and err.count("\n") == 2 and "ConfigMap" in err and "DEPLOYWATCH_REPO_DIR" in err
    assert "deployed files outside the repository are not in the container's clone: api;" in err
    documents = [d for d in yaml.safe_load_all(out) if d]
    assert [d["metadata"]["name"] for d in documents] == ["deploywatch-drift", "deploywatch-canary"]
    for document, (job, cron) in zip(documents, [("drift", "0 */2 * * *"), ("canary", "*/30 * * * *")],
                                     strict=True):
        assert (document["apiVersion"], document["kind"]) == ("batch/v1", "CronJob")
        spec = document["spec"]
        assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == (cron, "America/New_York",
                                                                                   "Forbid")
        assert spec["startingDeadlineSeconds"] == 60  # catch_up = false
        job_spec = spec["jobTemplate"]["spec"]
        assert job_spec["activeDeadlineSeconds"] == 2700
        container = job_spec["template"]["spec"]["containers"][0]
        assert container["args"] == [job, "--config", "/etc/deploywatch/deploywatch.toml"]
        assert job_spec["template"]["spec"]["restartPolicy"] == "Never"
        assert job_spec["template"]["spec"]["volumes"][1]["configMap"] == {"name": "deploywatch-config"}
        assert {"name": "DEPLOYWATCH_REPO_URL", "value": REPO_URL} in container["env"]

    write_config(tmp_path, '[schedule]\ndrift = "0 8 * * *"\n')
    _, out, _ = export(config, "kubernetes", capsys, "--repo-url", REPO_URL)
    assert "startingDeadlineSeconds" not in out  # catch_up (the default): Kubernetes makes up a missed run


def test_github_actions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, '[schedule]\ntimezone = "Asia/Tokyo"\ndrift = "0 8 * * 1-5"\n'
                                    'canary = "*/10 * * * *"\ncheck = "0 8 1 * *"\ntimeout = "90m"\n', repo=".")
    code, out, err = export(config, "github-actions", capsys, "--install", INSTALL)
    assert code == 0
    assert "check: 0 8 1 * * in Asia/Tokyo" in err  # a day-of-month shifted to the day before: not one expression
    assert err.count("warning") == 1
    crons = re.findall(r'- cron: "([^"]+)"', out)
    assert crons == ["0 23 * * 0,1,2,3,4", "*/10 * * * *", "0 8 1 * *"]
    assert "# drift: 0 8 * * 1-5 in Asia/Tokyo (UTC+09:00 all year)" in out
    assert "# check: WARNING:" in out
    assert "    if: github.event_name == 'workflow_dispatch' || github.event.schedule == '0 23 * * 0,1,2,3,4'" in out
    assert out.count("timeout-minutes: 90") == 3
    assert '- run: "deploywatch drift --config deploywatch.toml"' in out
    assert "group: deploywatch-canary" in out


def test_github_actions_utc_is_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, '[schedule]\ndrift = "17 3 * * *"\n', repo=".")
    code, out, err = export(config, "github-actions", capsys, "--install", INSTALL)
    assert code == 0 and err == ""
    assert re.findall(r'- cron: "([^"]+)"', out) == ["17 3 * * *"]
    assert "GitHub Actions schedules are UTC too" in out


def test_systemd(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, '[schedule]\ntimezone = "America/New_York"\ndrift = "0 */6 * * *"\n'
                                    'check = "30 6 1,15 * MON"\ntimeout = "10m"\ncatch_up = false\n')
    code, out, err = export(config, "systemd", capsys)
    assert code == 0 and err == ""
    files = dict(re.findall(r"### (\S+)\n(.*?)(?=\n### |\Z)", out, flags=re.S))
    assert sorted(files) == ["deploywatch-check.service", "deploywatch-check.timer", "deploywatch-drift.service",
                             "deploywatch-drift.timer"]
    service = files["deploywatch-drift.service"]
    assert "Type=oneshot" in service and "TimeoutStartSec=600" in service
    assert re.search(rf"^ExecStart=.* drift --config {re.escape(str(config))}$", service, flags=re.M)
    timer = files["deploywatch-drift.timer"]
    assert "OnCalendar=*-*-* 00,06,12,18:00:00 America/New_York" in timer
    assert "Persistent=false" in timer and "Unit=deploywatch-drift.service" in timer
    # cron ORs a day of month with a day of week: two OnCalendar lines.
    assert re.findall(r"^OnCalendar=(.*)$", files["deploywatch-check.timer"], flags=re.M) == [
        "*-*-01,15 06:30:00 America/New_York", "Mon *-*-* 06:30:00 America/New_York"]


@pytest.mark.parametrize("fmt", ["crontab", "kubernetes", "github-actions", "systemd"])
def test_no_jobs_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    config = write_config(tmp_path, '[schedule]\ntimezone = "UTC"\n')
    code, out, err = export(config, fmt, capsys)
    assert (code, out) == (3, "")
    assert err.count("\n") == 1 and "no jobs to export" in err and "schedule" in err


def test_missing_format_is_a_one_line_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, '[schedule]\ndrift = "0 8 * * *"\n')
    assert main(["schedule", "export", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--format" in err
    assert "crontab, kubernetes, kubernetes-deployment, github-actions or systemd" in err


def test_unknown_format_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, '[schedule]\ndrift = "0 8 * * *"\n')
    code, _, err = export(config, "nomad", capsys)
    assert code == 3 and "nomad" in err


# ---------------------------------------------------------------- the conversions mean the same times


START = datetime(2026, 4, 6, 0, 0, tzinfo=UTC)  # no DST change in the next weeks in the zones used


@pytest.mark.parametrize("timezone", ["Asia/Tokyo", "Asia/Kolkata", "Etc/GMT+5", "Australia/Brisbane", "UTC"])
@pytest.mark.parametrize("cron", ["0 8 * * *", "30 23 * * *", "0 8 * * 1-5", "15,45 * * * *", "0 */3 * * *",
                                  "0 2 * * SUN", "*/20 9-17 * * *", "0 8 1 * *", "45 0 * * 6,0"])
def test_github_conversion_fires_at_the_same_instants(cron: str, timezone: str) -> None:
    converted, notes = github_cron(cron, timezone)
    if any(note.startswith("WARNING") for note in notes):
        assert converted == cron  # left alone, and said so
        return
    assert fires(converted, "UTC", START, 21) == fires(cron, timezone, START, 21)


def test_github_conversion_with_dst_uses_standard_time_and_says_so() -> None:
    converted, notes = github_cron("0 8 * * *", "America/New_York")
    assert converted == "0 13 * * *"
    assert notes[0].startswith("WARNING: 0 8 * * * in America/New_York converted with standard time (UTC-05:00)")
    assert "during DST (UTC-04:00) use '0 12 * * *'" in notes[0]
    winter = datetime(2026, 1, 5, tzinfo=UTC)
    assert fires(converted, "UTC", winter, 7) == fires("0 8 * * *", "America/New_York", winter, 7)
    assert github_cron("*/30 * * * *", "America/New_York") == (
        "*/30 * * * *", ["*/30 * * * * in America/New_York (the same in UTC all year)"])


def _calendar_fires(spec: str, start: datetime, days: int) -> list[datetime]:
    """The instants an ``OnCalendar=`` value of the form the export writes matches (a minute-by-minute scan)."""
    match = re.fullmatch(r"(?:(\S+) )?\*-(\S+)-(\S+) (\S+):(\S+):(\S+) (\S+)", spec)
    assert match, spec
    weekdays, months, days_, hours, minutes, seconds, timezone = match.groups()

    def allowed(text: str, lo: int, hi: int) -> set[int]:
        return set(range(lo, hi + 1)) if text == "*" else {int(v) for v in text.split(",")}

    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    week = set(range(7)) if weekdays is None else {names.index(d) for d in weekdays.split(",")}
    sets = (allowed(months, 1, 12), allowed(days_, 1, 31), allowed(hours, 0, 23), allowed(minutes, 0, 59))
    assert seconds == "00"
    zone = ZoneInfo(timezone)
    found = []
    moment = start
    while moment <= start + timedelta(days=days):
        local = moment.astimezone(zone)
        if (local.weekday() in week and local.month in sets[0] and local.day in sets[1] and local.hour in sets[2]
                and local.minute in sets[3]):
            found.append(moment)
        moment += timedelta(minutes=1)
    return found


@pytest.mark.parametrize("cron", ["0 */6 * * *", "30 6 1,15 * MON", "*/20 9-17 * * MON-FRI", "0 8 */2 * MON",
                                  "5 4 * JAN,APR 0", "0 0 1 * *", "0 12 * * 7"])
def test_systemd_calendar_fires_at_the_same_instants(cron: str) -> None:
    specs = on_calendar(cron, "Europe/Berlin")
    assert specs is not None
    ours = sorted({t for spec in specs for t in _calendar_fires(spec, START, 35)})
    assert ours == fires(cron, "Europe/Berlin", START, 35)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_agrees() -> None:
    for cron in ("0 */6 * * *", "30 6 1,15 * MON", "*/20 9-17 * * MON-FRI", "5 4 * JAN,APR 0"):
        specs = on_calendar(cron, "Europe/Berlin")
        assert specs is not None
        elapses: set[datetime] = set()
        for spec in specs:
            proc = subprocess.run(["systemd-analyze", "calendar", f"--base-time=@{int(START.timestamp())}",
                                   "--iterations=12", spec], capture_output=True, text=True, timeout=30,
                                  env={"TZ": "UTC", "PATH": "/usr/bin:/bin"}, check=False)
            assert proc.returncode == 0, proc.stderr
            for stamp in re.findall(r"(?:Next elapse|Iter\. #\d+): \w{3} (\S+ \S+) UTC", proc.stdout):
                elapses.add(datetime.fromisoformat(stamp).replace(tzinfo=UTC))
        expected = fires(cron, "Europe/Berlin", START, 400)
        assert sorted(elapses)[:12] == expected[:12], cron


def test_expand() -> None:
    assert expand("*/15", 0, 59) == {0, 15, 30, 45}
    assert expand("1-5", 0, 7) == {1, 2, 3, 4, 5}
    assert expand("MON-FRI", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")) == {1, 2, 3, 4, 5}
    assert expand("10-20/5,3", 0, 59) == {3, 10, 15, 20}
    assert expand("5/20", 0, 59) == {5, 25, 45}
    for unsupported in ("L", "5#2", "15W", "?", "70", "5-1"):
        assert expand(unsupported, 0, 59) is None, unsupported
    assert on_calendar("0 8 L * *", "UTC") is None


def test_the_report_job_runs_report_send_in_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, '[schedule]\ndrift = "*/15 * * * *"\nreport = "0 9 * * MON"\n', repo=".")
    _, crontab, _ = export(config, "crontab", capsys)
    line = next(line for line in crontab.splitlines() if line.startswith("0 9 * * MON "))
    assert line.endswith(f"report --send --config {config} >/dev/null")
    _, kubernetes, _ = export(config, "kubernetes", capsys, "--repo-url", REPO_URL)
    jobs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(kubernetes) if d}
    container = jobs["deploywatch-report"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["report", "--send"]
    _, workflow, _ = export(config, "github-actions", capsys, "--install", INSTALL)
    assert '- run: "deploywatch report --send --config deploywatch.toml"' in workflow
    _, systemd, _ = export(config, "systemd", capsys)
    assert re.search(r"ExecStart=.* report --send --config ", systemd)
