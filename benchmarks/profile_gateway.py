"""Where mamori's CPU goes per request, measured in-process (no HTTP server, no load generator).

Two parts, each timed with the CPU clock of the thread doing the work and, with ``--profile``,
profiled with cProfile:

1. **request path** — the gateway's ASGI app called directly with a signed STS
   GetCallerIdentity (the request ``run.py`` replays with wrk): routing, SigV4, parsing, the
   provider, serializing, building the journal record and queueing it. The journal writer
   thread runs as in the server.
2. **journal writer** — the group commit of those records: batches of ``--batch`` records
   written the way the writer thread writes them (``Journal._write_batch``).

The sum is mamori's own CPU cost per request; ``run.py`` prints the server stack's total
(``srv CPU us/req``) next to the bare ASGI hello-world's, which is what the targets compare.

Run: .venv/bin/python benchmarks/profile_gateway.py [--requests 5000] [--profile] [--top 25]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run
from mamori.config import Settings
from mamori.gateway.app import Gateway
from mamori.runtime import Runtime

ENDPOINT = "http://127.0.0.1:4566"


def asgi_scope(request: run.SignedRequest) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": b"",
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in [
                *request.headers.items(),
                ("Content-Length", str(len(request.body))),
            ]
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 4566),
    }


async def drive(
    gateway: Gateway, request: run.SignedRequest, n: int, bodies: list[bytes] | None = None
) -> list[int]:
    scope = asgi_scope(request)
    message = {"type": "http.request", "body": request.body, "more_body": False}
    statuses: list[int] = []

    async def receive():
        return message

    async def send(event):
        if event["type"] == "http.response.start":
            statuses.append(event["status"])
        elif bodies is not None:
            bodies.append(event["body"])

    for _ in range(n):
        await gateway(scope, receive, send)
    return statuses


def workload_request(loop, gateway: Gateway, workload: str) -> run.SignedRequest:
    """The request to time: STS GetCallerIdentity, or KMS Encrypt of 64 bytes under a new key."""
    if workload == "sts":
        return run.query_request(ENDPOINT, "sts", "GetCallerIdentity", "2011-06-15")
    create = run.json_request(ENDPOINT, "kms", "TrentService.CreateKey", {})
    bodies: list[bytes] = []
    loop.run_until_complete(drive(gateway, create, 1, bodies))
    key_id = json.loads(b"".join(bodies))["KeyMetadata"]["KeyId"]
    payload = {"KeyId": key_id, "Plaintext": run.PLAINTEXT_B64}
    return run.json_request(ENDPOINT, "kms", "TrentService.Encrypt", payload)


def time_chunks(loop, gateway: Gateway, request: run.SignedRequest, n: int, chunks: int):
    """CPU us per request of each of ``chunks`` runs of ``n // chunks`` requests: on a busy
    machine the fastest chunk is the closest to the path's own cost."""
    size = max(1, n // chunks)
    per_request = []
    for _ in range(chunks):
        cpu0 = time.thread_time()
        loop.run_until_complete(drive(gateway, request, size))
        per_request.append((time.thread_time() - cpu0) / size * 1e6)
    return sorted(per_request)


def show(profile: cProfile.Profile, top: int, title: str) -> None:
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats(order).print_stats(top)
        text = out.getvalue()
        start = text.find("   ncalls")
        print(f"\n--- {title}: top {top} by {order}\n{text[start:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200, help="records per journal batch")
    parser.add_argument("--profile", action="store_true", help="print cProfile tables")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--workload", choices=("sts", "kms-encrypt"), default="sts")
    parser.add_argument(
        "--chunks",
        type=int,
        default=0,
        help="time the request path in this many chunks and print the fastest and the median "
        "(steadier than one total on a busy machine); skips the journal-writer part",
    )
    parser.add_argument(
        "--no-writer",
        action="store_true",
        help="leave the journal writer thread stopped while timing the request path (its cost "
        "without GIL contention; keep --requests small, the journal fails closed after 5 s)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mamori-profile-") as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            root_access_key_id=run.ACCESS_KEY_ID,
            root_secret_access_key=run.SECRET_ACCESS_KEY,
            log_level="warning",
        )
        runtime = Runtime(settings)
        gateway = Gateway(runtime)
        if not args.no_writer:
            runtime.start()
        try:
            loop = asyncio.new_event_loop()
            request = workload_request(loop, gateway, args.workload)
            statuses = loop.run_until_complete(drive(gateway, request, 200))  # warm up
            if set(statuses) != {200}:
                print(f"the request did not answer 200: {sorted(set(statuses))}", file=sys.stderr)
                return 1

            if args.chunks:
                times = time_chunks(loop, gateway, request, args.requests, args.chunks)
                print(
                    f"request path ({args.workload}): fastest chunk {times[0]:.1f} us CPU per "
                    f"request, median {times[len(times) // 2]:.1f}"
                )
                loop.close()
                return 0

            # 1. The request path.
            profile = cProfile.Profile() if args.profile else None
            cpu0, wall0 = time.thread_time(), time.perf_counter()
            if profile:
                profile.enable()
            loop.run_until_complete(drive(gateway, request, args.requests))
            if profile:
                profile.disable()
            cpu = time.thread_time() - cpu0
            wall = time.perf_counter() - wall0
            runtime.start()
            runtime.journal.flush()
            print(
                f"request path (gateway app, main thread): {cpu / args.requests * 1e6:7.1f} us CPU"
                f" per request ({wall / args.requests * 1e6:.1f} us wall)"
                + ("  [under cProfile: inflated]" if profile else "")
            )
            if profile:
                show(profile, args.top, "request path")

            # 2. The journal writer: the same records, written in batches as its thread does.
            last = runtime.journal.read(after_seq=max(0, runtime.journal.last_seq() - 1))
            template = last[-1].record
            records = []
            for _ in range(args.requests):
                record = dict(template)
                record["eventID"] = str(uuid.uuid4())
                records.append((record, time.monotonic()))
            runtime.journal.close()  # the writer thread must not race the timed writes
            profile = cProfile.Profile() if args.profile else None
            cpu0, wall0 = time.thread_time(), time.perf_counter()
            if profile:
                profile.enable()
            for i in range(0, len(records), args.batch):
                if not runtime.journal._write_batch(records[i : i + args.batch]):
                    print("journal batch write failed", file=sys.stderr)
                    return 1
            if profile:
                profile.disable()
            cpu = time.thread_time() - cpu0
            wall = time.perf_counter() - wall0
            print(
                f"journal writer (batches of {args.batch}):      {cpu / len(records) * 1e6:7.1f} us"
                f" CPU per record ({wall / len(records) * 1e6:.1f} us wall)"
                + ("  [under cProfile: inflated]" if profile else "")
            )
            if profile:
                show(profile, args.top, "journal writer")
            loop.close()
        finally:
            runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
