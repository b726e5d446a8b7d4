"""The journal's writer process (ProcessJournal), on SQLite and PostgreSQL: records get durable in
order; a dead writer fails closed, is replaced and loses nothing; store failures fail closed and
recover; records handed over survive a SIGKILL of the serving process."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvloop

from mamori.journal import ProcessJournal
from mamori.store import Store
from mamori.store.schema import journal_table

from .records import record
from .test_journal_health import assert_refused, eventually, exercise_outage

SCRIPT = Path(__file__).with_name("process_crash_writer.py")


def process_journal(store: Store, master_key: bytes | None = None, **options) -> ProcessJournal:
    options = {"flush_interval": 0.02, "probe_interval": 0.1, "max_backoff": 0.1, **options}
    journal = ProcessJournal(store, master_key=master_key, **options)
    journal.start()
    return journal


@pytest.fixture
def pjournal(store, master_key) -> Iterator[ProcessJournal]:
    journal = process_journal(store, master_key)
    yield journal
    journal.close()


def read_all(journal: ProcessJournal, n: int) -> list:
    """The journal's first ``n`` records. On PostgreSQL a read sees rows only up to the safe
    horizon, which a journal transaction still in flight (the writer's probe) holds back for a
    moment after a flush: read until they are all there."""
    eventually(lambda: len(journal.read(0, n + 1)) >= n)
    return journal.read(0, n + 1)


def process_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # exited (a zombie until its new parent reaps it)


def event_ids(store: Store) -> list[str]:
    with store.connect() as conn:
        return list(
            conn.execute(sa.select(journal_table.c.event_id).order_by(journal_table.c.seq))
            .scalars()
            .all()
        )


def test_appended_records_are_durable_in_order_after_flush(store, pjournal):
    records = [record(f"Op{i}") for i in range(2500)]
    for rec in records:
        pjournal.append(rec)
    pjournal.flush(timeout=30)
    assert pjournal.pending == 0
    entries = read_all(pjournal, 2500)
    assert [e.record for e in entries] == records
    seqs = [e.seq for e in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert pjournal.count() == 2500
    pjournal.check_writable()


def test_append_in_stays_in_the_callers_transaction(store, pjournal):
    mutation = record("CreateKey", read_only=False)
    with store.begin() as conn:
        seq = pjournal.append_in(conn, mutation)
        store.set_setting(conn, "the-mutation", "done")
    with pytest.raises(RuntimeError), store.begin() as conn:
        pjournal.append_in(conn, record("CreateKey", read_only=False))
        raise RuntimeError("rolled back, with its record")
    read_only = record()
    pjournal.append(read_only)
    pjournal.flush()
    entries = read_all(pjournal, 2)
    assert (entries[0].seq, entries[0].record) == (seq, mutation)
    assert [e.record["eventID"] for e in entries] == [
        mutation["eventID"],
        read_only["eventID"],
    ]


def test_wait_for_is_woken_when_the_writer_reports_records_durable(store, master_key):
    journal = process_journal(store, master_key, poll_interval=60)  # no polling to fall back on
    try:
        journal.append(record())
        journal.flush(timeout=30)
        last = journal.last_seq()
        woken = []
        waiter = threading.Thread(target=lambda: woken.append(journal.wait_for(last, 30)))
        waiter.start()
        time.sleep(0.05)
        started = time.monotonic()
        journal.append(record())
        waiter.join(30)
        assert woken == [True]
        assert time.monotonic() - started < 5
    finally:
        journal.close()


def test_records_get_durable_without_flush(store, pjournal):
    rec = record()
    pjournal.append(rec)
    assert pjournal.wait_for(0, timeout=30)
    eventually(lambda: pjournal.pending == 0)
    assert [e.record["eventID"] for e in read_all(pjournal, 1)] == [rec["eventID"]]


def test_an_event_loop_hands_records_over_by_itself(store, pjournal):
    """Appended on an event loop (as the server does), records are handed over when due by the
    appending thread itself or the loop's own timer: no flush, no sender thread."""
    records = [record() for _ in range(30)]

    async def serve():
        for rec in records:
            pjournal.append(rec)
            await asyncio.sleep(0.001)
        assert pjournal._tail_loop is asyncio.get_running_loop()
        while pjournal.handed_over < len(records):
            await asyncio.sleep(0.005)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(asyncio.wait_for(serve(), 30))
    eventually(lambda: pjournal.pending == 0, timeout=30)
    assert [e.record["eventID"] for e in read_all(pjournal, 30)] == [r["eventID"] for r in records]


def test_append_never_blocks_on_a_writer_that_does_not_read(store, master_key):
    """A stopped writer: the pipe fills, append() goes on (the sender thread waits for the
    pipe instead), the stalled queue fails closed, and everything is written once it reads."""
    journal = process_journal(store, master_key, stall_timeout=0.5)
    try:
        journal.append(record())
        journal.flush(timeout=30)
        pid = journal.writer_pid
        os.kill(pid, signal.SIGSTOP)
        try:
            big = "x" * 2000
            records = [record(padding=big) for _ in range(1500)]  # ~3.5 MB: more than the pipe
            started = time.monotonic()
            for rec in records:
                journal.append(rec)
            assert time.monotonic() - started < 5
            eventually(lambda: not journal.healthy)
            with pytest.raises(Exception, match="stalled"):
                journal.check_writable()
        finally:
            os.kill(pid, signal.SIGCONT)
        journal.flush(timeout=60)
        journal.check_writable()
        assert event_ids(store)[1:] == [r["eventID"] for r in records]
    finally:
        journal.close()


def test_a_killed_writer_fails_closed_is_replaced_and_loses_nothing(store, master_key):
    # The writer holds records in memory (a long flush interval) when it is killed.
    journal = process_journal(store, master_key, flush_interval=60)
    try:
        first = [record() for _ in range(50)]
        for rec in first:
            journal.append(rec)
        journal.flush(timeout=30)
        held = [record() for _ in range(200)]
        for rec in held:
            journal.append(rec)
        eventually(lambda: journal.handed_over == 250)
        assert journal.pending == 200
        old = journal.writer_pid
        os.kill(old, signal.SIGKILL)
        eventually(lambda: not journal.healthy, timeout=5)
        assert_refused(journal)
        eventually(lambda: journal.healthy, timeout=30)  # a new writer, and it works
        assert journal.writer_pid != old and journal.restarts == 1
        journal.flush(timeout=30)
        assert event_ids(store) == [r["eventID"] for r in first + held]
    finally:
        journal.close()


def test_killing_writers_under_load_writes_every_record_exactly_once_in_order(store, master_key):
    """Writers killed while records stream in: batches a dead writer had written but not yet
    reported are sent again, and the duplicates dropped by eventID."""
    journal = process_journal(store, master_key, flush_interval=0.005)
    try:
        records = [record() for _ in range(6000)]
        kills = 0
        for i, rec in enumerate(records):
            journal.append(rec)
            if i % 2000 == 1999:
                eventually(lambda: journal.healthy, timeout=30)
                time.sleep(0.05)  # let it write (and report) some
                os.kill(journal.writer_pid, signal.SIGKILL)
                kills += 1
            elif i % 20 == 0:
                time.sleep(0.001)
        journal.flush(timeout=60)
        assert journal.restarts == kills
        assert event_ids(store) == [r["eventID"] for r in records]
        journal.check_writable()
    finally:
        journal.close()


def test_sqlite_lock_in_the_writer_fails_closed_and_recovers(data_dir, master_key):
    store = Store(data_dir, master_key=master_key, busy_timeout=0.2)
    journal = process_journal(store, master_key)
    locker = sqlite3.connect(data_dir / "mamori.db", isolation_level=None)
    try:
        exercise_outage(
            store,
            journal,
            lambda: locker.execute("BEGIN EXCLUSIVE"),
            lambda: locker.execute("ROLLBACK"),
        )
    finally:
        locker.close()
        journal.close()
        store.close()


def test_store_failure_in_the_serving_process_fails_closed_until_the_writer_succeeds(
    store, pjournal
):
    pjournal.append(record())
    pjournal.flush()
    pjournal._on_store_failure(sa.exc.OperationalError("stmt", {}, Exception("down")))
    assert_refused(pjournal)
    # the writer is asked to probe; its success (started after the failure) clears the flag
    eventually(lambda: pjournal.healthy)
    pjournal.append(record())
    pjournal.flush()
    assert pjournal.count() == 2


def test_stale_success_does_not_clear_a_later_failure(store, master_key):
    journal = process_journal(store, master_key, probe_interval=None)
    try:
        journal.append(record())
        journal.flush()  # the writer is up and has reported; it does not probe by itself
        before = time.monotonic()
        journal._set_failed(RuntimeError("the store failed"))
        journal._set_ok(before)  # a write that started before the failure
        assert_refused(journal)
        journal._set_ok(time.monotonic())
        journal.check_writable()
    finally:
        journal.close()


def test_close_stops_the_writer_cleanly(store, master_key, capfd):
    journal = process_journal(store, master_key, flush_interval=60)
    for _ in range(100):
        journal.append(record())
    child = journal._child
    journal.close()
    assert child.process.exitcode == 0
    assert journal.count() == 100 and journal.pending == 0
    err = capfd.readouterr().err
    assert "ERROR" not in err and "Traceback" not in err, err
    # and it can be started again
    journal.start()
    journal.append(record())
    journal.close()
    assert journal.count() == 101


def test_records_handed_over_survive_a_sigkill_of_the_serving_process(
    store_url, data_dir, master_key
):
    Store(data_dir, store_url, master_key=master_key).close()  # the schema, as `serve` makes it
    count = 3000
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    parent = subprocess.run(
        [sys.executable, str(SCRIPT), str(data_dir), store_url or "", master_key.hex(),
         str(count)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert parent.returncode == -signal.SIGKILL, parent.stderr
    words = parent.stdout.split()
    writer, durable = int(words[1]), int(words[3])
    assert durable < count  # most were still in the writer's memory when the parent died
    # The orphaned writer writes everything it was handed, then exits.
    eventually(lambda: process_gone(writer), timeout=60)
    store = Store(data_dir, store_url, master_key=master_key)
    try:
        assert event_ids(store) == [f"orphan-{i}" for i in range(count)]
    finally:
        store.close()
