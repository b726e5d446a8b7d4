"""S3 streaming: a 1 GiB upload and download through boto3, against mamori and moto's server.

Prints throughput (MiB/s) for each and the servers' peak resident memory (VmHWM from
/proc/<pid>/status). mamori streams bodies (encrypting/decrypting 64 KiB segments on the way
through), so its peak should stay far below the object size; moto holds objects in memory.

    python benchmarks/s3_stream.py [--size-mib 1024] [--only mamori|moto]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

KEY_ID = "AKIAMAMORIBENCH00001"
SECRET = "mamori-bench-secret-access-key-00000000000"
MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early ({proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError as exc:
            if getattr(exc, "code", None):
                return  # an HTTP error is an answer
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_mamori(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "MAMORI_ROOT_ACCESS_KEY_ID": KEY_ID,
        "MAMORI_ROOT_SECRET_ACCESS_KEY": SECRET,
        "MAMORI_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mamori.cli",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/_mamori/health", proc)
    return proc, url


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/moto-api/", proc)
    return proc, url


def make_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(MiB)
    with open(path, "wb") as f:
        for i in range(size // MiB):
            chunk = i.to_bytes(8, "big") + block[8:]
            f.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def run(name: str, url: str, pid: int, source: Path, expected: str, work: Path) -> dict:
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 2}),
    )
    bucket = f"bench-{os.getpid()}"
    s3.create_bucket(Bucket=bucket)
    transfer = TransferConfig(multipart_chunksize=8 * MiB, max_concurrency=4)
    size = source.stat().st_size
    start = time.perf_counter()
    s3.upload_file(str(source), bucket, "big.bin", Config=transfer)
    upload = time.perf_counter() - start
    target = work / f"{name}.out"
    start = time.perf_counter()
    s3.download_file(bucket, "big.bin", str(target), Config=transfer)
    download = time.perf_counter() - start
    ok = sha256(target) == expected
    target.unlink()
    # A single-stream GET as well (no ranged parallelism).
    start = time.perf_counter()
    body = s3.get_object(Bucket=bucket, Key="big.bin")["Body"]
    while body.read(MiB):
        pass
    single = time.perf_counter() - start
    return {
        "name": name,
        "upload": size / MiB / upload,
        "download": size / MiB / download,
        "single_get": size / MiB / single,
        "rss": peak_rss_mib(pid),
        "ok": ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--only", choices=["mamori", "moto"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="s3bench-") as tmp:
        work = Path(tmp)
        source = work / "source.bin"
        expected = make_file(source, args.size_mib * MiB)
        results = []
        for name in ("mamori", "moto"):
            if args.only and args.only != name:
                continue
            proc, url = start_mamori(work / "mamori-data") if name == "mamori" else start_moto()
            try:
                results.append(run(name, url, proc.pid, source, expected, work))
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    print(f"S3 streaming, {args.size_mib} MiB object, boto3 (8 MiB parts, 4 threads)")
    print(
        f"{'server':8} {'upload MiB/s':>13} {'download MiB/s':>15} {'1-stream GET':>13} "
        f"{'peak RSS MiB':>13}  ok"
    )
    for r in results:
        print(
            f"{r['name']:8} {r['upload']:13.1f} {r['download']:15.1f} {r['single_get']:13.1f} "
            f"{r['rss']:13.1f}  {r['ok']}"
        )
    if len(results) == 2:
        m, o = results
        print(
            f"mamori/moto: upload {m['upload'] / o['upload']:.2f}x, download "
            f"{m['download'] / o['download']:.2f}x, peak RSS {m['rss'] / o['rss']:.2f}x"
        )
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
