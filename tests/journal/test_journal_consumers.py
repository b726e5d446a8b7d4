"""Cursors and consumers: at-least-once delivery, exactly-once effect in the store."""

from __future__ import annotations

import threading
import time

import pytest

from mamori.journal import Consumer, Cursors

from .records import record


def write(store, journal, n: int) -> list[int]:
    seqs = []
    for _ in range(n):
        with store.begin() as conn:
            seqs.append(journal.append_in(conn, record()))
    return seqs


def test_cursors_get_and_commit(store):
    cursors = Cursors(store)
    assert cursors.get("trail") == 0
    cursors.commit(None, "trail", 5)
    cursors.commit(None, "trail", 7)
    cursors.commit(None, "other", 1)
    assert cursors.get("trail") == 7
    assert cursors.all() == {"trail": 7, "other": 1}
    with pytest.raises(RuntimeError), store.begin() as conn:
        cursors.commit(conn, "trail", 99)
        assert cursors.get("trail", conn) == 99
        raise RuntimeError
    assert cursors.get("trail") == 7
    cursors.delete("other")
    assert cursors.all() == {"trail": 7}


def test_consumer_run_once_and_resume(store, journal):
    seqs = write(store, journal, 5)
    got: list[int] = []
    consumer = Consumer(journal, "c", lambda entries: got.extend(e.seq for e in entries),
                        batch_size=3)  # fmt: skip
    assert consumer.run_once() == 3
    assert Cursors(store).get("c") == seqs[2]
    assert consumer.run_until_idle() == 2
    assert consumer.run_once() == 0
    assert got == seqs
    # a new consumer (a restarted node) resumes from the durable cursor
    more = write(store, journal, 2)
    again: list[int] = []
    Consumer(journal, "c", lambda entries: again.extend(e.seq for e in entries)).run_until_idle()
    assert again == more


def test_handler_failure_redelivers(store, journal):
    seqs = write(store, journal, 3)
    calls: list[list[int]] = []

    def flaky(entries):
        calls.append([e.seq for e in entries])
        if len(calls) == 1:
            raise ValueError("transient")

    consumer = Consumer(journal, "flaky", flaky)
    with pytest.raises(ValueError):
        consumer.run_once()
    assert Cursors(store).get("flaky") == 0
    assert consumer.run_once() == 3
    assert calls == [seqs, seqs]  # at least once
    assert Cursors(store).get("flaky") == seqs[-1]


def test_transactional_consumer_effect_and_cursor_commit_together(store, journal):
    seqs = write(store, journal, 4)
    fail = {"now": True}

    def handler(entries, conn):
        for e in entries:
            store.set_setting(conn, f"seen-{e.seq}", e.record["eventID"])
        if fail["now"]:
            raise RuntimeError("crash after the effect, before the checkpoint")

    consumer = Consumer(journal, "tx", handler, transactional=True)
    with pytest.raises(RuntimeError):
        consumer.run_once()
    with store.connect() as conn:
        assert store.get_setting(conn, f"seen-{seqs[0]}") is None  # effect rolled back too
    assert Cursors(store).get("tx") == 0
    fail["now"] = False
    assert consumer.run_once() == 4
    with store.connect() as conn:
        assert all(store.get_setting(conn, f"seen-{s}") for s in seqs)
    assert Cursors(store).get("tx") == seqs[-1]


def test_consumer_thread_follows_the_journal(store, journal):
    got: list[str] = []
    done = threading.Event()
    expected = 25

    def handler(entries):
        got.extend(e.record["eventID"] for e in entries)
        if len(got) >= expected:
            done.set()

    consumer = Consumer(journal, "live", handler, idle_wait=0.2)
    consumer.start()
    try:
        ids = []
        for i in range(expected):
            rec = record()
            ids.append(rec["eventID"])
            if i % 2:
                journal.append(rec)
            else:
                with store.begin() as conn:
                    journal.append_in(conn, rec)
        assert done.wait(10)
        assert sorted(got) == sorted(ids)  # queued records get their seq when flushed
    finally:
        consumer.stop()
    assert not consumer.running


def test_consumer_thread_survives_handler_errors(store, journal):
    write(store, journal, 2)
    attempts = []

    def handler(entries):
        attempts.append(len(entries))
        if len(attempts) < 3:
            raise RuntimeError("again")

    consumer = Consumer(journal, "retry", handler, idle_wait=0.1)
    consumer.start()
    deadline = time.monotonic() + 10
    while Cursors(store).get("retry") == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    consumer.stop()
    assert consumer.errors == 2
    assert attempts == [2, 2, 2]


def test_stop_is_prompt_when_idle(store, journal):
    consumer = Consumer(journal, "idle", lambda entries: None, idle_wait=30)
    consumer.start()
    time.sleep(0.1)
    started = time.monotonic()
    consumer.stop(timeout=5)
    assert not consumer.running
    assert time.monotonic() - started < 2
