"""Shared fixtures: a live ``mamori serve`` process and boto3 clients pointed at it."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from mamori.config import Settings

# The store fixture (SQLite and PostgreSQL) for the store, journal and other suites.
pytest_plugins = ("tests.store_fixtures",)

ACCESS_KEY_ID = "AKIAMAMORITESTROOT01"
SECRET_ACCESS_KEY = "mamori-test-root-secret-access-key-0000000"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    data_dir: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    scheme: str = "http"
    host: str = "127.0.0.1"  # the listen address (--host); connections go where mamori says

    @property
    def endpoint(self) -> str:
        return Settings(host=self.host, port=self.port, tls=self.scheme == "https").endpoint_url

    def start(self, *extra_args: str, timeout: float = 30.0, scheme: str = "http") -> LiveServer:
        self.scheme = scheme
        env = {
            **os.environ,
            "MAMORI_ROOT_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "MAMORI_ROOT_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "MAMORI_LOG_LEVEL": "warning",
            **self.env,
        }
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mamori.cli",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--host",
                self.host,
                *extra_args,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mamori exited early:\n{self.log()}")
            try:
                context = ssl._create_unverified_context() if scheme == "https" else None
                with urllib.request.urlopen(
                    self.endpoint + "/_mamori/health", timeout=1, context=context
                ):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mamori did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def client(self, service: str, **kwargs):
        return make_client(self.endpoint, service, **kwargs)

    def create_account(self) -> dict:
        """A new account hosted by this server (``mamori accounts create``): its id and root
        keys."""
        created = subprocess.run(
            [sys.executable, "-m", "mamori.cli", "accounts", "create", "--data-dir", self.data_dir],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(created.stdout)


def make_client(endpoint: str, service: str, **kwargs):
    kwargs.setdefault("aws_access_key_id", ACCESS_KEY_ID)
    kwargs.setdefault("aws_secret_access_key", SECRET_ACCESS_KEY)
    kwargs.setdefault("region_name", REGION)
    kwargs.setdefault("config", Config(retries={"max_attempts": 1}))
    return boto3.client(service, endpoint_url=endpoint, **kwargs)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    """One server for the session, with reset and time travel enabled."""
    live = LiveServer(tmp_path_factory.mktemp("mamori") / "data")
    live.start("--allow-reset", "--allow-time-travel")
    yield live
    live.stop()


@pytest.fixture
def fresh_server(tmp_path) -> Iterator[LiveServer]:
    """A server of the test's own, for tests that stop, kill or reconfigure it."""
    live = LiveServer(tmp_path / "data")
    yield live
    live.stop(signal.SIGKILL)
