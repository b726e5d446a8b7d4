"""Side-by-side benchmark: mamori vs moto's server vs a bare ASGI hello-world, in one run.

Each server runs in its own process, started and stopped by this script, one after another on
127.0.0.1; every workload runs against each of them; the script prints req/s, p50/p99 and the
ratios against the targets of issue 2 (mamori >= 10x moto's server, >= 1/3 of the hello-world,
with signature verification and journaling on), and writes benchmarks/results/latest.json.

    .venv/bin/python benchmarks/run.py                 # everything, ~1.5 minutes
    .venv/bin/python benchmarks/run.py --duration 5 --workloads wrk-sts-gci
    .venv/bin/python benchmarks/run.py --targets mamori,hello --journal-off

Needs ``pip install -e '.[bench]'`` (moto's server) and ``wrk`` (``apt-get install -y wrk``).
Adding a workload is one entry in ``WORKLOADS``. Nothing here passes or fails: it measures.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

ACCESS_KEY_ID = "AKIAMAMORIBENCHMARK1"
SECRET_ACCESS_KEY = "mamori-benchmark-root-secret-access-key-00"
REGION = "us-east-1"

TARGET_VS_MOTO = 10.0  # mamori req/s >= 10x moto's server
TARGET_VS_HELLO = 1 / 3  # mamori req/s >= 1/3 of the bare ASGI hello-world
TARGET_JOURNAL_COST = 0.10  # journaling costs <= 10% of req/s (issue 6)
TARGET_POLICY_COST = 0.10  # evaluating 20 attached policies costs <= 10% of req/s (issue 3)


# Requirements: what a fresh machine may lack, and how to get it.


@dataclass(frozen=True)
class Requirement:
    name: str
    check: Callable[[], bool]
    fix: str


MOTO = Requirement(
    "moto's server (moto[server])",
    lambda: all(importlib.util.find_spec(m) is not None for m in ("moto", "flask", "flask_cors")),
    "pip install -e '.[bench]'",
)
BOTO3 = Requirement(
    "boto3",
    lambda: importlib.util.find_spec("boto3") is not None,
    "pip install -e '.[dev]'  (or pip install boto3)",
)
WRK = Requirement(
    "wrk", lambda: shutil.which("wrk") is not None, "apt-get update && apt-get install -y wrk"
)


# Servers.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    command: Callable[[int, Path], list[str]]  # (port, scratch dir) -> argv
    ready_path: str
    env: dict[str, str] = field(default_factory=dict)
    requires: tuple[Requirement, ...] = ()


def _mamori_command(port: int, scratch: Path) -> list[str]:
    data_dir = str(scratch / "mamori-data")
    return [
        sys.executable,
        "-m",
        "mamori.cli",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        data_dir,
    ]


_MAMORI_ENV = {
    "MAMORI_ROOT_ACCESS_KEY_ID": ACCESS_KEY_ID,
    "MAMORI_ROOT_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
    "MAMORI_LOG_LEVEL": "warning",
}

TARGETS = [
    Target("mamori", "mamori", _mamori_command, "/_mamori/health", _MAMORI_ENV),
    # Only with --journal-off: the same server with MAMORI_JOURNAL=0.
    Target(
        "mamori-journal-off",
        "mamori, journal off",
        _mamori_command,
        "/_mamori/health",
        {**_MAMORI_ENV, "MAMORI_JOURNAL": "0"},
    ),
    Target(
        "moto",
        "moto server",
        lambda port, _: [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        "/moto-api/",
        requires=(MOTO,),
    ),
    Target(
        "hello",
        "ASGI hello-world",
        lambda port, _: [sys.executable, str(HERE / "hello_asgi.py"), "--port", str(port)],
        "/",
    ),
]
DEFAULT_TARGETS = ("mamori", "moto", "hello")


@dataclass
class Placement:
    """Which CPUs the servers and the load generator run on. Pinned (the default where there
    are two CPUs or more): every server on the first CPU, wrk, the boto3 clients and this script
    on the others, so a server never shares its core with the load generator and every server
    gets the same one core; otherwise wherever the kernel puts them."""

    server: frozenset[int] = frozenset()
    client: frozenset[int] = frozenset()

    @property
    def pinned(self) -> bool:
        return bool(self.server)

    def describe(self) -> str:
        if not self.pinned:
            return "not pinned to CPUs"
        return (
            f"servers on CPU {_cpu_list(self.server)}; load generator and mamori's journal "
            f"writer on CPU {_cpu_list(self.client)}"
        )


PLACEMENT = Placement()


def _cpu_list(cpus: frozenset[int]) -> str:
    return ",".join(str(cpu) for cpu in sorted(cpus))


def pin(enabled: bool) -> Placement:
    """Split the CPUs this script may use between the servers and everything else."""
    global PLACEMENT
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if enabled and len(available) >= 2:
        PLACEMENT = Placement(frozenset(available[:1]), frozenset(available[1:]))
        os.sched_setaffinity(0, PLACEMENT.client)  # this script, and wrk which it starts
    else:
        PLACEMENT = Placement()
    return PLACEMENT


class Server:
    """One target's process: started on a free port, stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, target: Target, scratch: Path) -> None:
        self.target = target
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.scratch = scratch / target.key
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.log_path = self.scratch / "server.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        env = {**os.environ, **self.target.env}
        env.pop("AWS_ENDPOINT_URL", None)
        if PLACEMENT.pinned and self.target.key.startswith("mamori"):
            # mamori's journal writer process shares the load generator's CPUs (on a real
            # server it has a core of its own), not the request loop's
            env["MAMORI_JOURNAL_WRITER_CPUS"] = _cpu_list(PLACEMENT.client)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.target.command(self.port, self.scratch),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if PLACEMENT.pinned:  # at once: before the server starts any thread or process
            os.sched_setaffinity(self.process.pid, PLACEMENT.server)
        try:
            self._wait_ready(timeout=60.0)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.target.label} exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.endpoint + self.target.ready_path, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers: good enough
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.target.label} did not start in {timeout:.0f}s:\n{self.log()}")

    def stop(self) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def cpu_seconds(self) -> float:
        """User + system CPU time so far of the server process (all its threads) and of the
        processes it started (mamori's journal writer): what serving costs, wherever it runs."""
        pids = _process_tree(self.process.pid)
        if not pids:
            return float("nan")
        return sum(_cpu_seconds(pid) for pid in pids)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # After the ")" closing comm, utime and stime are fields 12 and 13 (0-based: 11, 12).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_tree(root: int) -> list[int]:
    """``root`` and its living descendants (empty when ``root`` is gone)."""
    if _stat_fields(root) is None:
        return []
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:  # the parent pid is field 4 (0-based: 1)
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


# Results.


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    p90_ms: float | None = None
    max_ms: float | None = None
    non_2xx: int = 0
    errors: int = 0
    server_cpu_s: float | None = None
    notes: list[str] = field(default_factory=list)
    load_before: float | None = None  # 1-minute load average when the run started

    @property
    def req_s(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        cpu_per_req = (
            self.server_cpu_s / self.requests * 1e6
            if self.server_cpu_s is not None and self.requests
            else None
        )
        return {
            "req_s": round(self.req_s, 1),
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "p50_ms": round(self.p50_ms, 3),
            "p90_ms": None if self.p90_ms is None else round(self.p90_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "max_ms": None if self.max_ms is None else round(self.max_ms, 3),
            "non_2xx": self.non_2xx,
            "errors": self.errors,
            "server_cpu_s": None if self.server_cpu_s is None else round(self.server_cpu_s, 3),
            "server_cpu_us_per_req": None if cpu_per_req is None else round(cpu_per_req, 1),
            "server_cpu_pct": (
                None
                if self.server_cpu_s is None or not self.seconds
                else round(100 * self.server_cpu_s / self.seconds, 1)
            ),
            "load_before": self.load_before,
            "notes": self.notes,
        }


def load_average() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


# Signed requests.


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def sign(
    endpoint: str,
    service: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    region: str = REGION,
    credentials: tuple[str, str] | None = None,
) -> SignedRequest:
    """Sign one request with botocore's SigV4Auth, exactly as a client would send it (with the
    root keys unless ``credentials`` = (access key id, secret) are given)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=endpoint + path, data=body, headers=dict(headers))
    key_id, secret = credentials or (ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    SigV4Auth(Credentials(key_id, secret), service, region).add_auth(request)
    signed = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    # The signer took the host from the URL; send the very same value (wrk would otherwise
    # derive its own).
    signed["Host"] = endpoint.split("://", 1)[1]
    return SignedRequest(method, path, signed, body)


def query_request(endpoint: str, service: str, action: str, version: str, **params: str):
    from urllib.parse import urlencode

    body = urlencode({"Action": action, "Version": version, **params}).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "User-Agent": "mamori-benchmark",
    }
    return sign(endpoint, service, "POST", "/", headers, body)


def json_request(
    endpoint: str,
    service: str,
    target: str,
    payload: dict,
    version: str = "1.1",
    credentials: tuple[str, str] | None = None,
):
    """A JSON-protocol request (KMS and friends), for replays such as TrentService.Encrypt."""
    headers = {
        "Content-Type": f"application/x-amz-json-{version}",
        "X-Amz-Target": target,
        "User-Agent": "mamori-benchmark",
    }
    body = json.dumps(payload).encode()
    return sign(endpoint, service, "POST", "/", headers, body, credentials=credentials)


def send_once(endpoint: str, request: SignedRequest) -> tuple[int, bytes]:
    host, port = endpoint.split("://", 1)[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(request.method, request.path, body=request.body, headers=request.headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# Workloads.


@dataclass(frozen=True)
class Options:
    duration: float
    warmup: float
    connections: int
    wrk_threads: int
    calls: int
    boto_seconds: float


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    run: Callable[[Server, Options], Result]
    requires: tuple[Requirement, ...] = ()
    # Whether a ratio against this workload counts for the targets (client-bound ones do not).
    headline: bool = False


def _client(endpoint: str, service: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(retries={"max_attempts": 1}, tcp_keepalive=True),
    )


def boto3_loop(service: str, call: Callable[[Any], Any], threads: int = 1):
    """N calls through boto3 clients (one per thread, each keeping its connection alive)."""

    def run(server: Server, opts: Options) -> Result:
        clients = [_client(server.endpoint, service) for _ in range(threads)]
        for client in clients:  # warm up: connection, boto3's lazy loading, server caches
            for _ in range(20):
                call(client)
        per_thread = max(1, opts.calls // threads)
        latencies: list[list[float]] = [[] for _ in range(threads)]
        errors = [0] * threads
        deadline = time.perf_counter() + opts.boto_seconds

        def worker(i: int) -> None:
            client, lat = clients[i], latencies[i]
            for _ in range(per_thread):
                t0 = time.perf_counter()
                try:
                    call(client)
                except Exception:
                    errors[i] += 1
                t1 = time.perf_counter()
                lat.append(t1 - t0)
                if t1 > deadline:
                    break

        cpu0 = server.cpu_seconds()
        start = time.perf_counter()
        workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
        cpu = server.cpu_seconds() - cpu0
        merged = sorted(x * 1000 for lat in latencies for x in lat)
        result = Result(
            requests=len(merged),
            seconds=elapsed,
            p50_ms=percentile(merged, 50),
            p90_ms=percentile(merged, 90),
            p99_ms=percentile(merged, 99),
            max_ms=merged[-1] if merged else None,
            errors=sum(errors),
            server_cpu_s=cpu,
        )
        if len(merged) < opts.calls:
            result.notes.append(f"stopped at the {opts.boto_seconds:.0f}s bound")
        return result

    return run


def _lua_string(text: str) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\' or code < 32 or code > 126:
            out.append(f"\\{code:03d}" if code < 256 else "?")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d,'
    .. ' "write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d,'
    .. ' "max_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def wrk_script(request: SignedRequest) -> str:
    lines = [
        f"wrk.method = {_lua_string(request.method)}",
        f"wrk.path = {_lua_string(request.path)}",
        f"wrk.body = {_lua_string(request.body.decode('latin-1'))}",
        "wrk.headers = {}",
    ]
    for name, value in request.headers.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    return "\n".join(lines) + "\n" + _LUA_DONE


def _wrk(server: Server, request: SignedRequest, seconds: float, opts: Options) -> dict:
    script = server.scratch / "replay.lua"
    script.write_text(wrk_script(request))
    command = [
        "wrk",
        "-t",
        str(opts.wrk_threads),
        "-c",
        str(opts.connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        server.endpoint + request.path,
    ]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, stdin=subprocess.DEVNULL
    )
    for line in proc.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            return json.loads(line.removeprefix("WRK_RESULT "))
    raise RuntimeError(
        f"wrk printed no result (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
    )


def wrk_replay(
    build: Callable[[str, Any], SignedRequest],
    setup: Callable[[Server], Any] | None = None,
    must_succeed: tuple[str, ...] = ("mamori", "mamori-journal-off"),
):
    """Replay one signed request with wrk (keep-alive, N connections).

    ``setup(server)`` runs once first (e.g. create the KMS key to encrypt under) and its result
    is passed to ``build(endpoint, setup_result)``, which returns the signed request. The request
    is signed again just before each wrk run, so it stays inside SigV4's clock-skew window.
    On the targets in ``must_succeed`` the request is first sent once and must answer 2xx.
    """

    def run(server: Server, opts: Options) -> Result:
        state = setup(server) if setup else None
        status, body = send_once(server.endpoint, build(server.endpoint, state))
        notes = []
        if not 200 <= status < 300:
            message = f"the replayed request answered HTTP {status}: {body[:300]!r}"
            if server.target.key in must_succeed:
                raise RuntimeError(message)
            notes.append(message)
        if opts.warmup > 0:
            _wrk(server, build(server.endpoint, state), opts.warmup, opts)
        cpu0 = server.cpu_seconds()
        raw = _wrk(server, build(server.endpoint, state), opts.duration, opts)
        cpu = server.cpu_seconds() - cpu0
        socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
        if socket_errors:
            notes.append(
                "socket errors: "
                + ", ".join(
                    f"{k} {raw[k]}" for k in ("connect", "read", "write", "timeout") if raw[k]
                )
            )
        return Result(
            requests=raw["requests"],
            seconds=raw["duration_us"] / 1e6,
            p50_ms=raw["p50_us"] / 1000,
            p90_ms=raw["p90_us"] / 1000,
            p99_ms=raw["p99_us"] / 1000,
            max_ms=raw["max_us"] / 1000,
            non_2xx=raw["status"],
            errors=socket_errors,
            server_cpu_s=cpu,
            notes=notes,
        )

    return run


def _sts_get_caller_identity(endpoint: str, _state: Any) -> SignedRequest:
    return query_request(endpoint, "sts", "GetCallerIdentity", "2011-06-15")


# KMS replays (issue 4). The hello-world floor answers anything, so a setup that the floor cannot
# serve falls back to placeholder values; mamori and moto get a real key.
PLAINTEXT_B64 = base64.b64encode(b"x" * 64).decode()
PLACEHOLDER_KEY = "11111111-2222-3333-4444-555555555555"


def _kms_key(server: Server) -> dict:
    try:
        kms = _client(server.endpoint, "kms")
        key_id = kms.create_key(Description="benchmark")["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"x" * 64)["CiphertextBlob"]
        return {"key": key_id, "blob": base64.b64encode(blob).decode(), "credentials": None}
    except Exception:
        if server.target.key.startswith("mamori"):
            raise
        return {"key": PLACEHOLDER_KEY, "blob": PLAINTEXT_B64, "credentials": None}


# A realistic identity: 20 customer managed policies with conditions, attached to a user and
# its group; the key's default policy delegates to IAM, so every Encrypt evaluates all of them
# (issue 3).
def _policy_document(index: int, key_arn: str) -> str:
    statements = [
        {
            "Sid": f"Kms{index}",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": key_arn if index == 19 else f"arn:aws:kms:*:*:key/other-{index}",
            "Condition": {
                "IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8"]},
                "Bool": {"aws:SecureTransport": "false"},
            },
        },
        {
            "Sid": f"Read{index}",
            "Effect": "Allow",
            "Action": ["s3:Get*", "iam:List*", "logs:Describe*"],
            "Resource": "*",
            "Condition": {"StringLike": {"aws:userid": "AIDA*"}},
        },
        {
            "Sid": f"Deny{index}",
            "Effect": "Deny",
            "Action": "kms:ScheduleKeyDeletion",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": f"admins-{index}"}},
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _kms_key_and_policy_user(server: Server) -> dict:
    state = _kms_key(server)
    if not server.target.key.startswith("mamori"):
        return state  # moto ignores IAM policies; the floor answers anything
    kms, iam = _client(server.endpoint, "kms"), _client(server.endpoint, "iam")
    key_arn = kms.describe_key(KeyId=state["key"])["KeyMetadata"]["Arn"]
    iam.create_user(UserName="bench", Tags=[{"Key": "team", "Value": "payments"}])
    iam.create_group(GroupName="bench-group")
    iam.add_user_to_group(GroupName="bench-group", UserName="bench")
    # IAM's default quota is 10 managed policies per user and per group: 10 on each.
    for index in range(20):
        arn = iam.create_policy(
            PolicyName=f"bench-{index}", PolicyDocument=_policy_document(index, key_arn)
        )["Policy"]["Arn"]
        if index % 2:
            iam.attach_user_policy(UserName="bench", PolicyArn=arn)
        else:
            iam.attach_group_policy(GroupName="bench-group", PolicyArn=arn)
    key = iam.create_access_key(UserName="bench")["AccessKey"]
    state["credentials"] = (key["AccessKeyId"], key["SecretAccessKey"])
    return state


def _kms_encrypt(endpoint: str, state: dict) -> SignedRequest:
    payload = {"KeyId": state["key"], "Plaintext": PLAINTEXT_B64}
    return json_request(
        endpoint, "kms", "TrentService.Encrypt", payload, credentials=state["credentials"]
    )


def _kms_decrypt(endpoint: str, state: dict) -> SignedRequest:
    return json_request(endpoint, "kms", "TrentService.Decrypt", {"CiphertextBlob": state["blob"]})


def _kms_generate_data_key(endpoint: str, state: dict) -> SignedRequest:
    payload = {"KeyId": state["key"], "KeySpec": "AES_256"}
    return json_request(endpoint, "kms", "TrentService.GenerateDataKey", payload)


WORKLOADS = [
    Workload(
        "boto3-sts-gci",
        "STS GetCallerIdentity via boto3, 1 client, keep-alive",
        boto3_loop("sts", lambda c: c.get_caller_identity()),
        requires=(BOTO3,),
    ),
    Workload(
        "wrk-sts-gci",
        "STS GetCallerIdentity, one signed request replayed by wrk",
        wrk_replay(_sts_get_caller_identity),
        requires=(WRK,),
        headline=True,
    ),
    Workload(
        "wrk-kms-encrypt",
        "KMS Encrypt (64 bytes) by the root user, replayed by wrk",
        wrk_replay(_kms_encrypt, setup=_kms_key),
        requires=(WRK, BOTO3),
        headline=True,
    ),
    Workload(
        "wrk-kms-decrypt",
        "KMS Decrypt, replayed by wrk",
        wrk_replay(_kms_decrypt, setup=_kms_key),
        requires=(WRK, BOTO3),
        headline=True,
    ),
    Workload(
        "wrk-kms-gdk",
        "KMS GenerateDataKey (AES_256), replayed by wrk",
        wrk_replay(_kms_generate_data_key, setup=_kms_key),
        requires=(WRK, BOTO3),
        headline=True,
    ),
    Workload(
        "wrk-kms-encrypt-iam",
        "KMS Encrypt by an IAM user with 20 attached policies (conditions), replayed by wrk",
        wrk_replay(_kms_encrypt, setup=_kms_key_and_policy_user),
        requires=(WRK, BOTO3),
    ),
]
OPTIONAL_WORKLOADS = [
    Workload(
        "boto3-sts-gci-4t",
        "STS GetCallerIdentity via boto3, 4 threads x 1 client each",
        boto3_loop("sts", lambda c: c.get_caller_identity(), threads=4),
        requires=(BOTO3,),
    ),
]


# Report.


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:,.{digits}f}"


def print_table(results: dict, workloads: list[Workload], targets: list[Target], opts) -> None:
    for workload in workloads:
        extra = ""
        if workload.key.startswith("wrk"):
            extra = (
                f" ({opts.connections} connections, {opts.wrk_threads} threads,"
                f" {opts.duration:.0f}s)"
            )
        print(f"\n{workload.label}{extra}")
        print(
            f"  {'server':<22}{'req/s':>11}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
            f"{'non-2xx':>9}{'errors':>8}{'srv CPU us/req':>16}{'srv CPU %':>11}"
        )
        for target in targets:
            row = results.get(workload.key, {}).get(target.key)
            if row is None:
                continue
            if "error" in row:
                print(f"  {target.label:<22} FAILED: {row['error'].splitlines()[0]}")
                continue
            print(
                f"  {target.label:<22}{_fmt(row['req_s'], 0):>11}{_fmt(row['p50_ms']):>9}"
                f"{_fmt(row['p90_ms']):>9}{_fmt(row['p99_ms']):>9}{row['non_2xx']:>9}"
                f"{row['errors']:>8}{_fmt(row['server_cpu_us_per_req'], 0):>16}"
                f"{_fmt(row['server_cpu_pct'], 0):>11}"
            )
            for note in row["notes"]:
                print(f"  {'':<22}note: {note}")


def compute_ratios(results: dict, workloads: list[Workload]) -> list[dict]:
    ratios = []
    for workload in workloads:
        rows = results.get(workload.key, {})

        def req_s(key: str, rows=rows) -> float | None:
            row = rows.get(key)
            return row["req_s"] if row and "req_s" in row and row["req_s"] > 0 else None

        mamori, moto, hello, off = (
            req_s("mamori"),
            req_s("moto"),
            req_s("hello"),
            req_s("mamori-journal-off"),
        )
        if mamori and moto:
            ratios.append(
                _ratio(
                    workload,
                    "mamori / moto server",
                    _paired(rows, "mamori", "moto"),
                    TARGET_VS_MOTO,
                    ">=",
                )
            )
        if mamori and hello:
            ratios.append(
                _ratio(
                    workload,
                    "mamori / ASGI hello-world",
                    _paired(rows, "mamori", "hello"),
                    TARGET_VS_HELLO,
                    ">=",
                )
            )
        cpu_m = (rows.get("mamori") or {}).get("server_cpu_us_per_req")
        cpu_h = (rows.get("hello") or {}).get("server_cpu_us_per_req")
        if cpu_m and cpu_h:
            ratios.append(
                _ratio(
                    workload,
                    "... same, by server CPU/req",
                    cpu_h / cpu_m,
                    TARGET_VS_HELLO,
                    ">=",
                    counts=False,
                )
            )
        if mamori and off:
            ratios.append(
                _ratio(
                    workload,
                    "journal cost (1 - on/off)",
                    1 - _paired(rows, "mamori", "mamori-journal-off"),
                    TARGET_JOURNAL_COST,
                )
            )
    # Policy evaluation (issue 3): the same Encrypt by a user whose 20 policies are evaluated,
    # against the root user (whose call evaluates only the key policy).
    root = (results.get("wrk-kms-encrypt") or {}).get("mamori") or {}
    user = (results.get("wrk-kms-encrypt-iam") or {}).get("mamori") or {}
    if root.get("req_s") and user.get("req_s"):
        workload = next(w for w in workloads if w.key == "wrk-kms-encrypt-iam")
        ratios.append(
            _ratio(
                workload,
                "policy cost (1 - 20 policies/root)",
                1 - user["req_s"] / root["req_s"],
                TARGET_POLICY_COST,
                counts=True,
            )
        )
    return ratios


def _paired(rows: dict, first: str, second: str) -> float:
    """req/s of ``first`` over ``second``. With several rounds, the median of the rounds' own
    ratios: the two runs of one round are measured minutes apart at most, so a machine that
    speeds up or slows down between rounds moves both of them, not the comparison."""
    a, b = rows[first], rows[second]
    per_round = [
        x / y
        for x, y in zip(a.get("rounds_req_s") or [], b.get("rounds_req_s") or [], strict=False)
        if x and y
    ]
    if len(per_round) < 2:
        return a["req_s"] / b["req_s"]
    per_round.sort()
    middle = len(per_round) // 2
    if len(per_round) % 2:
        return per_round[middle]
    return (per_round[middle - 1] + per_round[middle]) / 2


def _ratio(
    workload: Workload,
    name: str,
    value: float,
    target: float,
    op: str = "<=",
    counts: bool | None = None,
) -> dict:
    met = value >= target if op == ">=" else value <= target
    return {
        "workload": workload.key,
        "name": name,
        "value": round(value, 4),
        "target": f"{op} {target:.0%}" if "cost" in name else f"{op} {target:.3g}",
        "met": met,
        "counts": workload.headline if counts is None else counts,
        "kind": "cpu" if "CPU" in name else ("cost" if "cost" in name else "throughput"),
    }


def print_ratios(ratios: list[dict]) -> None:
    if not ratios:
        return
    print(f"\n{'ratio (req/s)':<32}{'workload':<20}{'measured':>10}  {'target':<10}")
    for r in ratios:
        value = r["value"]
        shown = f"{value:.1%}" if r["kind"] == "cost" else f"{value:.2f}x"
        verdict = "met" if r["met"] else "NOT MET"
        if r["kind"] == "cpu":
            verdict += " (hello CPU/req / mamori CPU/req; informational)"
        elif not r["counts"]:
            verdict += " (informational)"
        print(f"  {r['name']:<30}{r['workload']:<20}{shown:>10}  {r['target']:<10}{verdict}")


# Main.


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for dist in ("mamori", "uvicorn", "uvloop", "httptools", "botocore", "boto3", "moto", "flask"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    wrk = shutil.which("wrk")
    if wrk:
        proc = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
        out["wrk"] = (
            (proc.stdout or proc.stderr).splitlines()[0] if proc.stdout or proc.stderr else ""
        )
    with contextlib.suppress(Exception):
        out["git"] = subprocess.run(
            ["git", "-C", str(HERE), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    return out


def _pick(kind: str, wanted: str | None, available: list, default: tuple[str, ...]) -> list:
    by_key = {item.key: item for item in available}
    keys = [k.strip() for k in wanted.split(",")] if wanted else list(default)
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        sys.exit(f"unknown {kind}: {', '.join(unknown)} (choose from {', '.join(by_key)})")
    return [by_key[k] for k in keys]


def _run_target(target, workloads, opts, scratch: Path, runs: dict) -> None:
    """Every workload against one fresh server of ``target``; results appended to ``runs``."""
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"- {target.label}: starting", flush=True)
    try:
        with Server(target, scratch) as server:
            for workload in workloads:
                print(f"  {workload.key} ...", end="", flush=True)
                load = load_average()
                try:
                    result = workload.run(server, opts)
                except Exception as exc:
                    runs[workload.key].setdefault(target.key, []).append({"error": str(exc)})
                    print(f" FAILED: {exc}", flush=True)
                    continue
                result.load_before = load
                runs[workload.key].setdefault(target.key, []).append(result.as_dict())
                print(
                    f" {result.req_s:,.0f} req/s, p50 {result.p50_ms:.2f} ms,"
                    f" p99 {result.p99_ms:.2f} ms",
                    flush=True,
                )
    except Exception as exc:
        print(f"  FAILED to run {target.label}: {exc}", flush=True)
        for workload in workloads:
            runs[workload.key].setdefault(target.key, []).append({"error": str(exc)})


def _median_run(found: list[dict]) -> dict:
    """Of one target's runs of one workload (one per round), the one with the median req/s,
    with every round's req/s beside it: on a noisy machine the median of interleaved rounds
    is a fairer comparison than one run of each server after the other."""
    ok = sorted((r for r in found if "req_s" in r), key=lambda r: r["req_s"])
    if not ok:
        return found[-1]
    chosen = dict(ok[(len(ok) - 1) // 2])
    if len(found) > 1:
        chosen["rounds_req_s"] = [r.get("req_s") for r in found]
    return chosen


def main(argv: list[str] | None = None) -> int:
    all_workloads = WORKLOADS + OPTIONAL_WORKLOADS
    parser = argparse.ArgumentParser(
        description="mamori vs moto's server vs a bare ASGI hello-world, side by side."
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of wrk warm-up")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--calls", type=int, default=2000, help="boto3 calls per workload")
    parser.add_argument(
        "--boto-seconds", type=float, default=15.0, help="upper bound per boto3 workload"
    )
    parser.add_argument(
        "--targets", help=f"comma-separated, from: {', '.join(t.key for t in TARGETS)}"
    )
    parser.add_argument(
        "--workloads",
        help=f"comma-separated, from: {', '.join(w.key for w in all_workloads)}"
        f" (default: {', '.join(w.key for w in WORKLOADS)})",
    )
    parser.add_argument(
        "--journal-off",
        action="store_true",
        help="also run mamori with MAMORI_JOURNAL=0 and print what journaling costs",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every target this many times, interleaved, and report each one's median run",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="leave servers and the load generator wherever the kernel puts them (default: "
        "servers on the first CPU, everything else on the others)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)

    targets = _pick("targets", args.targets, TARGETS, DEFAULT_TARGETS)
    if args.journal_off and not any(t.key == "mamori-journal-off" for t in targets):
        targets.insert(1 if targets and targets[0].key == "mamori" else 0, TARGETS[1])
    workloads = _pick("workloads", args.workloads, all_workloads, tuple(w.key for w in WORKLOADS))
    opts = Options(
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        wrk_threads=args.wrk_threads,
        calls=args.calls,
        boto_seconds=args.boto_seconds,
    )

    needed = {r.name: r for item in [*targets, *workloads] for r in item.requires}
    missing = [r for r in needed.values() if not r.check()]
    if missing:
        print("Missing for this benchmark:", file=sys.stderr)
        for r in missing:
            print(f"  - {r.name}: {r.fix}", file=sys.stderr)
        print("(or leave it out with --targets / --workloads)", file=sys.stderr)
        return 2

    placement = pin(not args.no_pin)
    print(
        f"mamori benchmark: {', '.join(t.label for t in targets)}; "
        f"{os.cpu_count()} CPUs ({placement.describe()}); python {platform.python_version()}"
    )
    load, cpus = load_average(), os.cpu_count() or 1
    if load is not None and load > cpus / 2:
        print(
            f"warning: load average {load:.1f} on {cpus} CPUs: other work is running, so req/s"
            " and latencies are noisy; the server CPU per request (and the ratio computed from"
            " it) is the steadier number"
        )
    runs: dict[str, dict[str, list[dict]]] = {w.key: {} for w in workloads}
    with tempfile.TemporaryDirectory(prefix="mamori-bench-") as tmp:
        for round_no in range(args.rounds):
            if args.rounds > 1:
                print(f"round {round_no + 1} of {args.rounds}", flush=True)
            for target in targets:
                _run_target(target, workloads, opts, Path(tmp) / str(round_no), runs)
    results = {
        key: {target: _median_run(found) for target, found in by_target.items()}
        for key, by_target in runs.items()
    }

    print_table(results, workloads, targets, opts)
    ratios = compute_ratios(results, workloads)
    print_ratios(ratios)

    report = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": _versions(),
        "options": vars(opts),
        "placement": {
            "server_cpus": sorted(placement.server),
            "client_cpus": sorted(placement.client),
        },
        "targets": [{"key": t.key, "label": t.label} for t in targets],
        "workloads": [{"key": w.key, "label": w.label} for w in workloads],
        "results": results,
        "ratios": ratios,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
