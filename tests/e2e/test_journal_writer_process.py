"""`mamori serve` writes the journal's group commits in a writer process: a killed writer fails
closed and is replaced without losing records, and records it was handed survive a SIGKILL of
the server."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from botocore.exceptions import ClientError

from tests.conftest import make_client
from tests.e2e.test_journal import journal_records


def writer_pids(server_pid: int) -> list[int]:
    """The server's journal writer processes (multiprocessing children, not its resource
    tracker)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X") or int(fields[1]) != server_pid:
            continue
        if "multiprocessing" in cmdline and "resource_tracker" not in cmdline:
            pids.append(int(entry.name))
    return pids


def wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def test_serve_writes_the_journal_in_a_writer_process_and_stops_it_cleanly(fresh_server):
    fresh_server.start()
    wait_until(lambda: len(writer_pids(fresh_server.process.pid)) == 1)
    (writer,) = writer_pids(fresh_server.process.pid)
    sts = make_client(fresh_server.endpoint, "sts")
    ids = [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(20)]
    assert fresh_server.stop(signal.SIGTERM) == 0
    assert gone(writer)
    log = fresh_server.log()
    assert "Traceback" not in log and "ERROR" not in log, log
    assert set(ids) <= {r["requestID"] for r in journal_records(fresh_server.data_dir)}


def test_serve_with_the_writer_thread(fresh_server):
    fresh_server.start("--journal-writer", "thread")
    sts = make_client(fresh_server.endpoint, "sts")
    request_id = sts.get_caller_identity()["ResponseMetadata"]["RequestId"]
    assert writer_pids(fresh_server.process.pid) == []
    assert fresh_server.stop(signal.SIGTERM) == 0
    assert request_id in {r["requestID"] for r in journal_records(fresh_server.data_dir)}


def test_a_killed_writer_fails_closed_and_is_replaced_without_losing_records(fresh_server):
    fresh_server.start()
    sts = make_client(fresh_server.endpoint, "sts")
    served = [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(30)]
    wait_until(lambda: len(writer_pids(fresh_server.process.pid)) == 1)
    (writer,) = writer_pids(fresh_server.process.pid)
    os.kill(writer, signal.SIGKILL)
    refused = []
    deadline = time.monotonic() + 30
    while True:  # refused while no writer runs, served again once the new one works
        try:
            served.append(sts.get_caller_identity()["ResponseMetadata"]["RequestId"])
            if refused:
                break
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ServiceUnavailable"
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            refused.append(error)
        assert time.monotonic() < deadline, "the journal did not recover"
    assert refused, "calls were served while no journal writer was running"
    (new_writer,) = writer_pids(fresh_server.process.pid)
    assert new_writer != writer
    served += [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(10)]
    assert fresh_server.stop(signal.SIGTERM) == 0
    recorded = [r["requestID"] for r in journal_records(fresh_server.data_dir)]
    assert set(served) <= set(recorded)
    assert len(recorded) == len(set(recorded))  # nothing written twice


def test_records_handed_to_the_writer_survive_a_sigkill_of_the_server(fresh_server):
    fresh_server.start()
    wait_until(lambda: len(writer_pids(fresh_server.process.pid)) == 1)
    (writer,) = writer_pids(fresh_server.process.pid)
    sts = make_client(fresh_server.endpoint, "sts")
    served = [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(50)]
    time.sleep(0.2)  # the server hands records over within a few milliseconds
    fresh_server.stop(signal.SIGKILL)
    wait_until(lambda: gone(writer))  # the orphaned writer writes what it holds, then exits
    assert set(served) <= {r["requestID"] for r in journal_records(fresh_server.data_dir)}
