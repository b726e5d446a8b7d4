"""Run as a subprocess by test_journal_durability: append records, each in its own committed
transaction, printing "ack <i>" after each commit, until killed."""

from __future__ import annotations

import sys
from pathlib import Path

from mamori.journal import Journal
from mamori.store import Store


def main() -> None:
    data_dir, url, key_hex, mode = sys.argv[1:5]
    store = Store(Path(data_dir), url or None, master_key=bytes.fromhex(key_hex))
    journal = Journal(store)
    i = 0
    while True:
        record = {
            "eventID": f"crash-{i}",
            "eventName": "PutThing",
            "eventTime": "2024-05-01T12:00:00Z",
            "readOnly": False,
            "recipientAccountId": "000000000000",
            "awsRegion": "us-east-1",
        }
        with store.begin() as conn:
            journal.append_in(conn, record)
            if mode == "with-resource":
                store.set_setting(conn, f"thing-{i}", "created")
        print(f"ack {i}", flush=True)
        i += 1


if __name__ == "__main__":
    main()
