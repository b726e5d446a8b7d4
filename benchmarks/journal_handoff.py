"""What journaling read-only calls costs a CPU-bound serving process: the writer thread
(``MAMORI_JOURNAL_WRITER=thread``) against the writer process (``process``).

The main thread plays a busy request loop (uvloop, as the server): it never waits, it does a
fixed piece of pure-Python work per "request" (``--work`` µs, about what an STS call costs
mamori) and appends one record shaped like a KMS Encrypt call's. For ``--seconds`` it counts how
many requests it gets through: without a journal, with the writer thread and with the writer
process, and what journaling costs the serving process per record in CPU time: what the loop
spends in ``append()`` (queueing, and handing due batches to the writer process) plus the CPU
time of the journal's threads (the writer thread; or the sender and the receiver of the writer
process's reports). Requests per second also show the writer process competing for the cores
(and, on a busy machine, everything else).

Run: .venv/bin/python benchmarks/journal_handoff.py [--seconds 8] [--work 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

import uvloop

from mamori.journal import Journal, JournalBase
from mamori.journal.process import ProcessJournal
from mamori.store import Store

KEY_ARN = "arn:aws:kms:us-east-1:000000000000:key/0f9c6a1e-5d4b-4c1a-9e0b-6a2f0c9d8e7f"


def make_record(i: int) -> dict:
    return {
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "Root",
            "principalId": "000000000000",
            "arn": "arn:aws:iam::000000000000:root",
            "accountId": "000000000000",
            "accessKeyId": "AKIAMAMORIBENCHMARK1",
        },
        "eventTime": f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": "Encrypt",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "Boto3/1.40.0 md/Botocore#1.40.0 ua/2.1 os/linux#6.8 md/arch#x86_64 "
        "lang/python#3.11.7 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.40.0",
        "requestParameters": {"keyId": KEY_ARN, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": True,
        "resources": [{"accountId": "000000000000", "type": "AWS::KMS::Key", "ARN": KEY_ARN}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "000000000000",
        "eventCategory": "Management",
        "tlsDetails": {"clientProvidedHostHeader": "127.0.0.1:4566"},
    }


def cpu_of(path: str) -> float:
    """CPU seconds of /proc/<path> (a process, or "<pid>/task/<tid>": a thread)."""
    try:
        fields = Path(f"/proc/{path}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def calibrate(work_us: float) -> int:
    """Iterations of spin() that take about ``work_us`` microseconds."""
    n = 1000
    while True:
        start = time.perf_counter()
        spin(n)
        took = time.perf_counter() - start
        if took > 0.05:
            return max(1, int(n * work_us / (took * 1e6)))
        n *= 2


def spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def busy_loop(seconds: float, iterations: int, append) -> tuple[int, float]:
    """Requests handled in ``seconds`` by an event loop (uvloop, as the server's) that does
    nothing but: work, then one record appended, as fast as possible; and the CPU time of the
    appending thread spent in ``append``."""
    clock = time.thread_time

    async def serve() -> tuple[int, float]:
        done = 0
        in_append = 0.0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for _ in range(20):
                spin(iterations)
                record = make_record(done)
                start = clock()
                append(record)
                in_append += clock() - start
                done += 1
            await asyncio.sleep(0)  # the loop's own work: its timers, its poll
        return done, in_append

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(serve())


def run_with(journal: JournalBase | None, seconds: float, iterations: int) -> dict[str, float]:
    if journal is None:
        n, in_append = busy_loop(seconds, iterations, lambda record: None)
        return {"requests": n, "append": in_append}
    journal.start()
    try:
        busy_loop(1.0, iterations, journal.append)  # warm up
        journal.flush(30)
        threads = {
            "writer thread": getattr(journal, "_thread", None),
            "sender": getattr(journal, "_sender", None),
            "receiver": getattr(journal, "_receiver", None),
        }
        paths = {n: f"{os.getpid()}/task/{t.native_id}" for n, t in threads.items() if t}
        pid = getattr(journal, "writer_pid", None)
        before = {name: cpu_of(path) for name, path in paths.items()}
        writer0 = cpu_of(str(pid)) if pid else 0.0
        n, in_append = busy_loop(seconds, iterations, journal.append)
        result = {"requests": n, "append": in_append}
        for name, path in paths.items():
            result[name] = cpu_of(path) - before[name]
        if pid:
            result["writer process"] = cpu_of(str(pid)) - writer0
        journal.flush(60)
    finally:
        journal.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--work", type=float, default=200.0, help="µs of work per request")
    args = parser.parse_args()
    iterations = calibrate(args.work)
    with tempfile.TemporaryDirectory(prefix="mamori-handoff-") as tmp:
        base = run_with(None, args.seconds, iterations)
        n0 = base["requests"]
        overhead = base["append"] / n0  # of timing append() itself
        print(f"no journal: {n0 / args.seconds:,.0f} requests/s")
        for writer in ("thread", "process"):
            key = secrets.token_bytes(32)
            store = Store(Path(tmp) / writer, None, master_key=key)
            journal: JournalBase = (
                Journal(store) if writer == "thread" else ProcessJournal(store, master_key=key)
            )
            try:
                result = run_with(journal, args.seconds, iterations)
            finally:
                store.close()
            n = result.pop("requests")
            in_append = result.pop("append") / n - overhead
            writer_process = result.pop("writer process", None)
            total = in_append + sum(result.values()) / n
            parts = "".join(f" + {name} {cpu / n * 1e6:.1f}" for name, cpu in result.items())
            print(
                f"writer {writer}: {n / args.seconds:,.0f} requests/s; CPU per record in the "
                f"serving process {total * 1e6:.1f} µs (append() {in_append * 1e6:.1f}{parts})"
                + (
                    f"; in the writer process {writer_process / n * 1e6:.1f} µs"
                    if writer_process is not None
                    else ""
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
