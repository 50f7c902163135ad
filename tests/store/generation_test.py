"""The store's generation: every write transaction that changes a row, in any process, moves it; reads and writes
that change nothing do not (the dashboard's page cache is keyed on it)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from deploywatch.store import Store

from .store_test import T0, integrity_errors, make_finding, make_run


def test_a_write_that_changes_rows_moves_the_generation_once(store_url: str) -> None:
    with Store.open(store_url) as store:
        before = store.generation()
        run = make_run()
        store.record_run(run, [make_finding(run), make_finding(run, "api")])  # one transaction, three rows
        assert store.generation() == before + 1
        store.record_run(make_run())
        assert store.generation() == before + 2


def test_reads_and_writes_that_change_nothing_leave_it(store_url: str) -> None:
    with Store.open(store_url) as store:
        store.record_run(make_run())
        before = store.generation()
        store.runs(limit=10)
        assert store.claim_outbox(sinks=["slack"], me="me", now=T0, lease=30) == []  # a write transaction, no row
        assert store.expire_silence("no-such-silence", T0) is None
        assert store.generation() == before


def test_a_write_that_fails_is_rolled_back_with_its_bump(store_url: str) -> None:
    with Store.open(store_url) as store:
        run = make_run()
        store.record_run(run)
        before = store.generation()
        with pytest.raises(integrity_errors()):
            store.record_run(run)  # the same id again: the driver refuses, nothing is kept
        assert store.generation() == before


def test_another_process_writing_moves_what_this_one_reads(store_url: str) -> None:
    with Store.open(store_url) as store:
        before = store.generation()
        writer = textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parents[1])!r})
            from deploywatch.store import Store
            from store.store_test import make_run
            with Store.open({store_url!r}) as other:
                other.record_run(make_run())
        """)
        subprocess.run([sys.executable, "-c", writer], check=True, timeout=120)
        assert store.generation() == before + 1
