"""Consumers never skip a record that commits late with a lower seq (commit-order safety)."""

from __future__ import annotations

import random
import threading
import time

import pytest

from .conftest import WRITERS, make_journal
from .records import record


@pytest.mark.parametrize("writer", WRITERS)
def test_concurrent_writers_and_reader_see_everything_once_in_order(store, writer):
    """Writers hold their transactions open for random times; a reader follows its cursor the
    whole time. Every committed record must be seen exactly once, in seq order (also while the
    group-committed ones are written by a writer process)."""
    journal = make_journal(writer, store, flush_interval=0.01, poll_interval=0.01)
    journal.start()
    committed: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[tuple[int, str]] = []

    def writer(n: int):
        rnd = random.Random(n)
        try:
            for _ in range(30):
                rec = record()
                with store.begin() as conn:
                    journal.append_in(conn, rec)
                    time.sleep(rnd.random() * 0.01)
                with lock:
                    committed.append(rec["eventID"])
                if rnd.random() < 0.3:
                    extra = record()
                    journal.append(extra)
                    with lock:
                        committed.append(extra["eventID"])
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    def reader():
        cursor = 0
        while True:
            done = stop.is_set()
            entries = journal.read(cursor, limit=50)
            seen.extend((e.seq, e.record["eventID"]) for e in entries)
            if entries:
                cursor = entries[-1].seq
            elif done:
                return
            else:
                time.sleep(0.002)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    reader_thread = threading.Thread(target=reader)
    reader_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.flush()
    # let the reader catch up with the final horizon, then stop it
    deadline = time.monotonic() + 10
    while len(seen) < len(committed) and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    reader_thread.join()
    journal.close()
    assert not errors
    seqs = [s for s, _ in seen]
    assert seqs == sorted(seqs)
    assert len(seen) == len({e for _, e in seen})  # nothing twice
    assert sorted(e for _, e in seen) == sorted(committed)  # nothing skipped
