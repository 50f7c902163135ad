"""Remediation's tables on both databases: the audit log only grows, reads filter and order alike, the state is
upserted, and secrets are masked before they are stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deploywatch.core.redact import register_secret
from deploywatch.store import Store
from deploywatch.store.remediation import AuditRecord

T0 = datetime(2026, 12, 3, 12, tzinfo=UTC)
SECRET = "s3cr3t-remediation-token"


def row(minutes: int, subject: str, decision: str, *, kind: str = "redeploy", guardrail: str | None = None,
        details: dict[str, str] | None = None) -> AuditRecord:
    return AuditRecord(at=T0 + timedelta(minutes=minutes), kind=kind, subject=subject, decision=decision,
                       reason=f"{subject} {decision}", actor="ops", guardrail=guardrail, details=details or {})


def test_the_audit_log_grows_and_reads_back_filtered_oldest_first(store_url: str) -> None:
    with Store.open(store_url) as store:
        first = store.record_remediation([row(0, "web", "acted"), row(1, "web", "succeeded")],
                                         {"service:web": {"failures": 0}}, T0)
        assert [r.id for r in first] == [1, 2]
        store.record_remediation([row(5, "api", "skipped", guardrail="min_interval"),
                                  row(6, "backfill", "failed", kind="rule", details={"command": "x"})],
                                 {"service:web": {"failures": 1, "failed_relevant": "abc"}, "fleet": {"paused": True}},
                                 T0)
        everything = store.audit_log()
        assert [(r.id, r.subject, r.decision) for r in everything] == [
            (1, "web", "acted"), (2, "web", "succeeded"), (3, "api", "skipped"), (4, "backfill", "failed")]
        assert everything[:2] == first
        assert everything[2].guardrail == "min_interval" and everything[3].details == {"command": "x"}
        assert everything[0].at == T0 and everything[0].dry_run is False
        assert [r.id for r in store.audit_log(since=T0 + timedelta(minutes=1))] == [2, 3, 4]
        assert [r.id for r in store.audit_log(kind="rule")] == [4]
        assert [r.id for r in store.audit_log(subject="web", decisions=("succeeded", "failed"))] == [2]
        assert [r.id for r in store.audit_log(limit=2)] == [3, 4]  # the newest two, oldest first
        assert store.remediation_states() == {"fleet": {"paused": True},
                                              "service:web": {"failures": 1, "failed_relevant": "abc"}}


def test_a_secret_never_reaches_the_audit_log(store_url: str) -> None:
    register_secret(SECRET)
    with Store.open(store_url) as store:
        store.record_remediation([AuditRecord(at=T0, kind="rule", subject="r", decision="failed",
                                              reason=f"exit 1: token {SECRET}", actor="ops",
                                              details={"output_tail": f"Authorization: {SECRET}"})], {}, T0)
        (stored,) = store.audit_log()
    assert SECRET not in repr(stored) and "***" in stored.reason


def test_an_unknown_decision_is_refused_when_the_record_is_made() -> None:
    with pytest.raises(ValueError, match="audit decision must be one of"):
        AuditRecord(at=T0, kind="redeploy", subject="web", decision="maybe", reason="", actor="ops")


def test_the_run_lock_is_a_lease_renewed_by_its_holder_and_taken_over_once_it_lapsed(store_url: str) -> None:
    with Store.open(store_url) as store:
        first = store.claim_remediation_lock("a", T0, T0 + timedelta(seconds=60))
        assert (first.held_by, first.lapsed) == (None, None)
        held = store.claim_remediation_lock("b", T0 + timedelta(seconds=30), T0 + timedelta(seconds=90))
        assert (held.held_by, held.until) == ("a", T0 + timedelta(seconds=60))
        assert store.renew_remediation_lock("a", T0 + timedelta(seconds=40), T0 + timedelta(seconds=100))
        assert not store.renew_remediation_lock("b", T0 + timedelta(seconds=40), T0 + timedelta(seconds=100))
        assert store.claim_remediation_lock("b", T0 + timedelta(seconds=99), T0).held_by == "a"  # renewed: live
        taken = store.claim_remediation_lock("b", T0 + timedelta(seconds=100), T0 + timedelta(seconds=160))
        assert taken.held_by is None and taken.lapsed is not None
        assert (taken.lapsed["holder"], taken.lapsed["until"]) == ("a", (T0 + timedelta(seconds=100)).isoformat())
        assert not store.renew_remediation_lock("a", T0 + timedelta(seconds=101), T0 + timedelta(seconds=200))
        assert not store.release_remediation_lock("a") and store.release_remediation_lock("b")
        assert "lock" not in store.remediation_states()
