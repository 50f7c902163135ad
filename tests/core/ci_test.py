"""``deploywatch.core.ci``: JUnit XML valid against the Jenkins/Surefire schema, GitHub annotations within GitHub's
limits, and a job summary that fits in 1 MiB."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from deploywatch.core.ci import (
    ANNOTATIONS_PER_KIND,
    SUMMARY_LIMIT,
    CiCase,
    junit_xml,
    trim_summary,
    workflow_commands,
    write_summary,
)
from deploywatch.core.status import Status

XSD = Path(__file__).resolve().parent.parent / "data" / "junit" / "junit.xsd"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def validate_junit(text: str) -> etree._Element:
    """Parse ``text`` and assert it is valid against tests/data/junit/junit.xsd; return the root."""
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    root = etree.fromstring(text.encode("utf-8"))
    assert schema.validate(root), schema.error_log
    return root


CASES = [
    CiCase("drift", "api", Status.OK, "api: current"),
    CiCase("drift", "worker", Status.CRITICAL, "worker: 4 relevant commits behind", "4 behind\nabc fix"),
    CiCase("drift", "web", Status.UNKNOWN, "web: deployed source failed"),
    CiCase("checks", "rows", Status.WARNING, "rows: 900 < 1000", seconds=0.25),
]


def test_junit_has_one_testcase_per_case_and_the_documented_outcomes() -> None:
    root = validate_junit(junit_xml("deploywatch drift", CASES, timestamp=NOW))
    assert root.get("tests") == "4" and root.get("failures") == "1" and root.get("skipped") == "1"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"drift", "checks"}
    assert suites["drift"].get("tests") == "3" and suites["drift"].get("failures") == "1"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert [child.tag for child in cases["api"]] == []
    failure = cases["worker"].find("failure")
    assert failure is not None and failure.get("type") == "critical" and "abc fix" in (failure.text or "")
    skipped = cases["web"].find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("unknown: ")
    assert [child.tag for child in cases["rows"]] == ["system-out"]
    assert cases["rows"].get("time") == "0.250"


def test_junit_holds_hostile_text_and_no_secret() -> None:
    from deploywatch.core.redact import register_secret

    register_secret("s3cr3t-token-value")
    case = CiCase("drift", "a<b>&\"c", Status.CRITICAL, "bell \x07 and ]]> and s3cr3t-token-value", "\x1b[31m")
    text = junit_xml("t", [case], timestamp=NOW)
    root = validate_junit(text)
    assert "s3cr3t-token-value" not in text
    assert root.find("testsuite/testcase").get("name") == "a<b>&\"c"  # type: ignore[union-attr]


def test_the_xsd_rejects_what_readers_reject() -> None:
    """A test that cannot fail is a defect: the schema must refuse a testcase without a name, and bad counts."""
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    good = junit_xml("t", CASES, timestamp=NOW)
    for broken in (good.replace('name="api"', ""), good.replace('tests="3"', 'tests="three"'),
                   good.replace("<testcase ", "<test ").replace("</testcase>", "</test>")):
        assert not schema.validate(etree.fromstring(broken.encode("utf-8")))


def test_annotations_most_severe_first_capped_per_kind_with_a_notice() -> None:
    cases = ([CiCase("drift", f"w{i}", Status.WARNING, f"w{i} warning") for i in range(12)]
             + [CiCase("drift", f"c{i}", Status.CRITICAL, f"c{i} critical") for i in range(13)]
             + [CiCase("drift", "u", Status.UNKNOWN, "u unknown"), CiCase("drift", "ok", Status.OK, "fine")])
    lines = workflow_commands(cases)
    errors = [line for line in lines if line.startswith("::error ")]
    warnings = [line for line in lines if line.startswith("::warning ")]
    notices = [line for line in lines if line.startswith("::notice ")]
    assert len(errors) == len(warnings) == ANNOTATIONS_PER_KIND
    assert lines[:ANNOTATIONS_PER_KIND] == errors  # critical first
    assert "u unknown" in warnings[0]  # unknown before warning
    assert len(notices) == 1
    # 3 critical and 3 warnings (13 - 10, 12 + 1 unknown - 10) were not annotated
    assert "3 errors and 3 warnings more not annotated" in notices[0]
    assert not any("fine" in line for line in lines)


def test_an_annotation_cannot_start_a_workflow_command_of_its_own() -> None:
    case = CiCase("drift", "api", Status.CRITICAL, "subject\n::set-output name=x::y\r%", file="cfg/deploywatch.toml",
                  line=7)
    [line] = workflow_commands([case])
    assert "\n" not in line and "\r" not in line
    assert line.startswith("::error file=cfg/deploywatch.toml,line=7,title=drift%3A api is critical::")
    assert line.endswith("subject%0A::set-output name=x::y%0D%25")


def test_summary_is_cut_to_the_limit_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    row = "| svc | é commit subject |\n"
    text = row * (SUMMARY_LIMIT // len(row.encode()) + 500)
    trimmed = trim_summary(text)
    assert len(trimmed.encode("utf-8")) <= SUMMARY_LIMIT
    assert "cut to GitHub's 1 MiB limit" in trimmed
    kept = trimmed.count(row)
    assert f"{text.count(row) - kept} lines not shown" in trimmed
    assert trim_summary("short\n") == "short\n"
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_summary(text)
    write_summary("second")
    written = summary.read_text(encoding="utf-8")
    assert written.endswith("second\n") and len(written.encode()) <= SUMMARY_LIMIT + len("second\n")
