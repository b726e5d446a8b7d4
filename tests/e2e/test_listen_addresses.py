"""`mamori serve --host ::`: the endpoint it announces, and the one `mamori env` exports, are
where boto3 reaches it (the server listens IPv6-only there, so not 127.0.0.1)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, free_port, make_client


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")


def test_a_server_on_every_ipv6_address_is_reached_where_it_says(tmp_path):
    port = free_port()
    data_dir = str(tmp_path / "data")
    env = {
        **os.environ,
        "MAMORI_ROOT_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "MAMORI_ROOT_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "MAMORI_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mamori.cli",
            "serve",
            "--host",
            "::",
            "--port",
            str(port),
            "--data-dir",
            data_dir,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = server.stdout.readline()
        assert first.startswith("mamori listening on "), first
        announced = first.split()[3]
        assert announced == f"http://[::1]:{port}"
        exported = subprocess.run(
            [
                sys.executable,
                "-m",
                "mamori.cli",
                "env",
                "--host",
                "::",
                "--port",
                str(port),
                "--data-dir",
                data_dir,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=True,
        ).stdout
        assert f"export AWS_ENDPOINT_URL={announced}" in exported.splitlines()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(announced + "/_mamori/health", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the server never answered where it said"
                time.sleep(0.05)
        identity = make_client(announced, "sts").get_caller_identity()
        assert identity["Arn"] == "arn:aws:iam::000000000000:root"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
