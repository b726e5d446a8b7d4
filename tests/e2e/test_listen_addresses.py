"""`mamori serve --host ::`: the endpoint it announces, and the one `mamori env` exports, are
where boto3 reaches it (the server listens IPv6-only there, so not 127.0.0.1)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import make_client


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")


def test_a_server_on_every_ipv6_address_is_reached_where_it_says(fresh_server):
    fresh_server.host = "::"
    fresh_server.start()  # waits until the server answers at the endpoint below
    expected = f"http://[::1]:{fresh_server.port}"
    announced = fresh_server.log().splitlines()[0]
    assert announced.startswith(f"mamori listening on {expected} "), announced
    where = ["--host", "::", "--port", str(fresh_server.port), "--data-dir", fresh_server.data_dir]
    exported = subprocess.run(
        [sys.executable, "-m", "mamori.cli", "env", *where],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert f"export AWS_ENDPOINT_URL={expected}" in exported.splitlines()
    identity = make_client(expected, "sts").get_caller_identity()
    assert identity["Arn"] == "arn:aws:iam::000000000000:root"
