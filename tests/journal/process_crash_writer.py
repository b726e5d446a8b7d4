"""Run as a subprocess by test_journal_process: append N records with the writer process, wait
until all of them are handed to its pipe, print the writer's pid, then SIGKILL itself."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from mamori.journal import ProcessJournal
from mamori.store import Store


def main() -> None:
    data_dir, url, key_hex, count = sys.argv[1:5]
    n = int(count)
    key = bytes.fromhex(key_hex)
    store = Store(Path(data_dir), url or None, master_key=key)
    # A long flush interval: the writer holds the records in memory, not yet written, when
    # this process dies; it must still write every one of them.
    journal = ProcessJournal(store, master_key=key, flush_interval=30.0)
    journal.start()
    for i in range(n):
        journal.append(
            {
                "eventID": f"orphan-{i}",
                "eventName": "DescribeThing",
                "eventTime": "2024-05-01T12:00:00Z",
                "readOnly": True,
                "recipientAccountId": "000000000000",
                "awsRegion": "us-east-1",
            }
        )
    deadline = time.monotonic() + 30
    while journal.handed_over < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {journal.handed_over} of {n} records handed over")
        time.sleep(0.001)
    print(f"writer {journal.writer_pid} durable {n - journal.pending}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main()
