"""Appending and reading the journal (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from mamori.journal import Journal, prepare
from mamori.store.schema import journal_resources_table, journal_table

from .records import record


def test_append_in_commits_with_the_transaction(store, journal):
    rec = record("CreateKey", read_only=False)
    with store.begin() as conn:
        seq = journal.append_in(conn, rec)
        store.set_setting(conn, "the-mutation", "done")
    assert seq >= 1
    entries = journal.read()
    assert [(e.seq, e.record) for e in entries] == [(seq, rec)]

    with pytest.raises(RuntimeError), store.begin() as conn:
        journal.append_in(conn, record("CreateKey", read_only=False))
        raise RuntimeError("mutation failed: neither it nor its record is kept")
    assert journal.count() == 1


def test_columns_are_extracted(store, journal):
    rec = record(
        "Encrypt",
        read_only=False,
        errorCode="AccessDenied",
        resources=[
            {"ARN": "arn:aws:kms:us-east-1:000000000000:key/k1", "type": "AWS::KMS::Key"},
            {"ARN": "arn:aws:kms:us-east-1:000000000000:key/k1", "type": "AWS::KMS::Key"},
            {"ARN": "arn:aws:kms:us-east-1:000000000000:alias/a", "type": "AWS::KMS::Alias"},
            "junk",
        ],
    )
    with store.begin() as conn:
        seq = journal.append_in(conn, rec)
    with store.connect() as conn:
        row = conn.execute(sa.select(journal_table).where(journal_table.c.seq == seq)).one()
        res = conn.execute(
            sa.select(journal_resources_table).order_by(journal_resources_table.c.resource_type)
        ).all()
    assert row.event_id == rec["eventID"]
    assert row.event_time == datetime.fromisoformat(rec["eventTime"])
    assert row.event_time.tzinfo is UTC
    assert (row.account_id, row.region) == ("000000000000", "us-east-1")
    assert (row.event_source, row.event_name) == ("kms.amazonaws.com", "Encrypt")
    assert row.read_only is False
    assert (row.username, row.access_key_id) == ("alice", "AKIAALICE")
    assert row.error_code == "AccessDenied"
    assert [(r.seq, r.resource_type, r.resource_name) for r in res] == [
        (seq, "AWS::KMS::Alias", "arn:aws:kms:us-east-1:000000000000:alias/a"),
        (seq, "AWS::KMS::Key", "arn:aws:kms:us-east-1:000000000000:key/k1"),
    ]
    assert all(r.event_time == row.event_time and r.account_id == row.account_id for r in res)


def test_prepare_fills_defaults_and_usernames():
    rec: dict = {"eventName": "X"}
    row, res = prepare(rec)
    assert rec["eventID"] and row["event_id"] == rec["eventID"]
    assert rec["eventTime"].endswith("Z") and row["event_time"].tzinfo is not None
    assert row["read_only"] is None and res == []
    root = prepare({"userIdentity": {"type": "Root", "accessKeyId": "AKIAROOT"}})[0]
    assert (root["username"], root["access_key_id"]) == ("root", "AKIAROOT")
    role = {"type": "AssumedRole", "arn": "arn:aws:sts::000000000000:assumed-role/R/session-1"}
    assert prepare({"userIdentity": role})[0]["username"] == "session-1"
    assert prepare({"readOnly": "true"})[0]["read_only"] is True
    # values JSON cannot represent natively still serialize
    assert '"when":"2024' in prepare({"when": datetime(2024, 1, 1)})[0]["record"]


def test_append_is_group_committed_and_flushed(store):
    commits = []
    sa.event.listen(store.engine, "commit", lambda conn: commits.append(1))
    journal = Journal(store, flush_interval=0.2)
    journal.start()
    try:
        recs = [record() for _ in range(300)]
        for rec in recs:
            journal.append(rec)
        assert journal.pending > 0  # queued, not written by the caller
        journal.flush()
        assert journal.pending == 0
        assert [e.record["eventID"] for e in journal.read(limit=1000)] == [
            r["eventID"] for r in recs
        ]
        assert len(commits) <= 5  # a handful of batches, not one transaction per record
    finally:
        journal.close()


def test_max_batch_splits_batches(store):
    journal = Journal(store, flush_interval=10, max_batch=50)
    journal.start()
    try:
        for _ in range(120):
            journal.append(record())
        journal.flush(timeout=5)
        assert journal.count() == 120
    finally:
        journal.close()


def test_flush_interval_bounds_latency(store):
    journal = Journal(store, flush_interval=0.05)
    journal.start()
    try:
        journal.append(record())
        assert journal.wait_for(0, timeout=5)  # written by the writer without any flush()
        assert journal.count() == 1
    finally:
        journal.close()


def test_flush_and_close_without_writer_thread(store):
    journal = Journal(store)
    journal.append(record())
    journal.flush()
    assert journal.count() == 1
    journal.append(record())
    journal.close()
    assert journal.count() == 2


def test_close_makes_queued_records_durable(store):
    journal = Journal(store, flush_interval=60)
    journal.start()
    for _ in range(10):
        journal.append(record())
    journal.close()
    assert journal.count() == 10


def test_append_from_many_threads(store, journal):
    def work():
        for _ in range(200):
            journal.append(record())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.flush()
    assert journal.count() == 1600
    seqs = [e.seq for e in journal.read(limit=5000)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 1600


def test_duplicate_event_id_in_a_batch_is_dropped_not_blocking(store, journal):
    dup = record()
    with store.begin() as conn:
        journal.append_in(conn, dict(dup))
    with pytest.raises(sa.exc.IntegrityError), store.begin() as conn:
        journal.append_in(conn, dict(dup))
    others = [record() for _ in range(3)]
    journal.append(others[0])
    journal.append(dict(dup))
    journal.append(others[1])
    journal.append(others[2])
    journal.flush()
    journal.check_writable()
    ids = [e.record["eventID"] for e in journal.read()]
    assert ids == [dup["eventID"]] + [r["eventID"] for r in others]


def test_read_paging_and_wait_for(store, journal):
    with store.begin() as conn:
        seqs = [journal.append_in(conn, record()) for _ in range(5)]
    assert [e.seq for e in journal.read(0, limit=2)] == seqs[:2]
    assert [e.seq for e in journal.read(seqs[1], limit=10)] == seqs[2:]
    assert journal.read(seqs[-1]) == []
    assert journal.last_seq() == seqs[-1]
    assert journal.wait_for(seqs[2], timeout=0.1) is True
    assert journal.wait_for(seqs[-1], timeout=0.1) is False

    def later():
        with store.begin() as conn:
            journal.append_in(conn, record())

    timer = threading.Timer(0.1, later)
    timer.start()
    assert journal.wait_for(seqs[-1], timeout=5) is True
    timer.join()
    cancel = threading.Event()
    cancel.set()
    assert journal.wait_for(10**9, timeout=5, cancel=cancel) is False


def test_reset_keeps_positions_monotonic(store, journal):
    with store.begin() as conn:
        first = journal.append_in(conn, record())
    store.reset()
    assert journal.count() == 0
    with store.begin() as conn:
        second = journal.append_in(conn, record())
    assert second > first
    assert [e.seq for e in journal.read(first)] == [second]
