"""How journal rows are written: seqs allocated by the writer, columns as SQLAlchemy would store
them, resources of batched records, serialization fallbacks, event ids (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from mamori.errors import AwsError
from mamori.journal import Journal, new_event_id, prepare
from mamori.journal.journal import _prepare
from mamori.store import Store
from mamori.store.schema import (
    OBSOLETE_JOURNAL_INDEXES,
    journal_resources_table,
    journal_table,
)

from .records import record

_j = journal_table.c
_r = journal_resources_table.c


def test_batches_and_append_in_interleave_with_unique_increasing_seqs(store, journal):
    expected = []
    for round_ in range(3):
        batch = [record() for _ in range(5 + round_)]
        for rec in batch:
            journal.append(rec)
        journal.flush()
        expected += [r["eventID"] for r in batch]
        with store.begin() as conn:
            rec = record("CreateKey", read_only=False)
            journal.append_in(conn, rec)
            expected.append(rec["eventID"])
    entries = journal.read(limit=100)
    assert [e.record["eventID"] for e in entries] == expected
    seqs = [e.seq for e in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_batch_seqs_are_never_reused_after_reset(store, journal):
    journal.append(record())
    journal.flush()
    first = journal.last_seq()
    store.reset()
    rec = record()
    journal.append(rec)
    journal.flush()
    entries = journal.read()
    assert [e.record["eventID"] for e in entries] == [rec["eventID"]]
    assert entries[0].seq > first
    with store.begin() as conn:
        assert journal.append_in(conn, record()) > entries[0].seq


def test_resources_of_batched_records_get_their_records_seq(store, journal):
    recs = []
    for i in range(6):
        extra = {}
        if i % 2:
            extra["resources"] = [
                {"ARN": f"arn:aws:kms:us-east-1:000000000000:key/k{i}", "type": "AWS::KMS::Key"},
                {
                    "ARN": f"arn:aws:kms:us-east-1:000000000000:alias/a{i}",
                    "type": "AWS::KMS::Alias",
                },
            ]
        recs.append(record(**extra))
    for rec in recs:
        journal.append(rec)
    journal.flush()
    with store.connect() as conn:
        seqs = dict(conn.execute(sa.select(_j.event_id, _j.seq)).all())
        times = dict(conn.execute(sa.select(_j.seq, _j.event_time)).all())
        res = conn.execute(sa.select(_r.seq, _r.resource_name, _r.event_time)).all()
    expected = {(seqs[rec["eventID"]], r["ARN"]) for rec in recs for r in rec.get("resources", [])}
    assert {(row.seq, row.resource_name) for row in res} == expected
    assert all(row.event_time == times[row.seq] for row in res)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2024-05-01T12:34:56Z", datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)),
        ("2024-05-01T14:34:56+02:00", datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)),
        ("2024-05-01T12:34:56.250000", datetime(2024, 5, 1, 12, 34, 56, 250000, tzinfo=UTC)),
        (
            datetime(2024, 5, 1, 7, 34, 56, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC),
        ),
    ],
)
def test_event_time_is_stored_as_sqlalchemy_reads_it(store, journal, given, stored):
    batched, direct = record(eventTime=given), record(eventTime=given)
    journal.append(batched)
    journal.flush()
    with store.begin() as conn:
        journal.append_in(conn, direct)
    with store.connect() as conn:
        rows = conn.execute(sa.select(_j.event_time).order_by(_j.seq)).scalars().all()
        # the range queries LookupEvents runs compare against SQLAlchemy-bound datetimes
        hits = conn.execute(
            sa.select(sa.func.count()).where(
                _j.event_time >= stored, _j.event_time <= stored + timedelta(microseconds=1)
            )
        ).scalar()
    assert rows == [stored, stored] and hits == 2


def test_a_bad_event_time_is_replaced_by_now(store, journal):
    rec = record(eventTime="yesterday-ish")
    journal.append(rec)
    journal.flush()
    entry = journal.read()[-1]
    assert entry.record["eventTime"] == rec["eventTime"] != "yesterday-ish"
    when = datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(when - datetime.now(UTC)) < timedelta(minutes=1)


def test_records_json_cannot_hold_natively_are_still_written(store, journal):
    huge = record(requestParameters={"n": 2**70, 3: "int key", "when": datetime(2024, 1, 1)})
    journal.append(huge)
    journal.flush()
    params = journal.read()[-1].record["requestParameters"]
    assert params["n"] == 2**70 and params["3"] == "int key"
    assert params["when"].startswith("2024-01-01")


def test_records_dropped_upstream_are_skipped_without_a_report_each(store, journal, caplog):
    # A batch the writer process cannot decode arrives as Nones (reported once, where it was
    # found unreadable): they count as handled, the records around them are written, and no
    # traceback per record floods the log.
    before, after = record(eventName="Before"), record(eventName="After")
    journal.append_many([before, *[None] * 50, after])
    journal.flush()
    assert [e.record["eventName"] for e in journal.read()[-2:]] == ["Before", "After"]
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_prepare_is_compact_and_complete():
    rec = record(errorCode="AccessDenied")
    row, resources = prepare(rec)
    assert row["record"].startswith('{"eventVersion":"1.09","userIdentity":{"type":"IAMUser"')
    assert set(row) == {c.name for c in journal_table.c} - {"seq"}
    assert row["error_code"] == "AccessDenied" and resources == []


def test_new_event_ids_are_v7_uuids_that_sort_by_time():
    ids = [new_event_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    parsed = [uuid.UUID(i) for i in ids]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    millis = [u.int >> 80 for u in parsed]
    assert millis == sorted(millis)
    now = datetime.now(UTC).timestamp() * 1000
    assert abs(millis[-1] - now) < 60_000
    assert prepare({})[0]["event_id"][14] == "7"  # a missing eventID gets one too


def test_append_in_store_failure_fails_closed(store):
    """A store-level error on the insert itself (not on BEGIN): 503, and the journal refuses."""
    journal = Journal(store, probe_interval=None)
    conn, tx = store.open_write()
    try:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = ON")
        else:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        with pytest.raises(AwsError) as info:
            journal.append_in(conn, record("CreateKey", read_only=False))
    finally:
        tx.rollback()
        if store.dialect == "sqlite":  # outside any transaction, as the pool returns it
            conn.connection.driver_connection.execute("PRAGMA query_only = OFF")
        conn.close()
    assert info.value.status == 503
    assert isinstance(info.value.__cause__, sa.exc.DBAPIError)
    assert not journal.healthy
    journal.close()


def test_obsolete_indexes_are_dropped(store_url, data_dir, master_key):
    store = Store(data_dir, store_url, master_key=master_key)
    try:
        with store.begin() as conn:
            for name, cols in zip(
                OBSOLETE_JOURNAL_INDEXES,
                ["event_time", "account_id, region, event_time, seq", "read_only"],
                strict=True,
            ):
                conn.exec_driver_sql(f"CREATE INDEX {name} ON journal ({cols})")
        Journal(store).close()
        names = {ix["name"] for ix in sa.inspect(store.engine).get_indexes("journal")}
        assert names.isdisjoint(OBSOLETE_JOURNAL_INDEXES)
        assert "ix_journal_acct_time_ro" in names
    finally:
        store.close()


def test_username_column_for_every_identity_type():
    from mamori.journal.journal import _username

    assert _username({"type": "IAMUser", "userName": "alice"}) == "alice"
    assert _username({"type": "Root"}) == "root"
    assert (
        _username({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/Role/session"})
        == "session"
    )
    assert (
        _username({"type": "FederatedUser", "arn": "arn:aws:sts::1:federated-user/partner"})
        == "partner"
    )
    assert _username({"type": "Unknown"}) is None


def test_sqlite_batches_insert_many_rows_per_statement(tmp_path):
    """The writer thread must not give up the GIL once per row (sqlite3 releases it around every
    statement step): under a busy request loop each re-acquisition can wait a whole switch
    interval, which starved the writer until the journal failed closed. A batch of 1,200
    records must take a handful of INSERT statements, not 1,200."""
    import secrets

    store = Store(tmp_path / "data", None, master_key=secrets.token_bytes(32))
    journal = Journal(store)
    statements: list[str] = []
    with store.begin() as conn:
        raw = conn.connection.driver_connection
        raw.set_trace_callback(statements.append)
        try:
            records = []
            for i in range(1200):
                rec = record(f"Op{i}")
                if i % 100 == 0:
                    rec["resources"] = [
                        {"ARN": f"arn:aws:iam::000000000000:user/u{i}", "type": "AWS::IAM::User"}
                    ]
                records.append(rec)
            journal._insert_rows(conn, [_prepare(r) for r in records])
        finally:
            raw.set_trace_callback(None)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert 1 <= len(inserts) <= 5, len(inserts)
    assert journal.count() == 1200
    assert [e.record["eventName"] for e in journal.read(0, 2000)] == [f"Op{i}" for i in range(1200)]
    store.close()
