"""`mamori serve`, `mamori env`, `mamori coverage`, health, reset and time travel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from mamori.service_models import service_model
from tests.conftest import make_client


def _call(url: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _mamori(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mamori.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_health_reports_version_store_and_services(server):
    status, health = _call(server.endpoint + "/_mamori/health")
    assert status == 200
    assert health["version"]
    assert health["uptime_seconds"] >= 0
    assert health["store"] == {"dialect": "sqlite", "ok": True}
    assert health["services"]["sts"]["implemented"] >= 1
    assert health["services"]["kms"]["total"] > 40


def test_serve_prints_endpoint_and_stops_cleanly_on_sigterm(fresh_server):
    fresh_server.start()
    server_log = fresh_server.log()
    assert f"http://127.0.0.1:{fresh_server.port}" in server_log
    assert "mamori env" in server_log
    make_client(fresh_server.endpoint, "sts").get_caller_identity()
    assert fresh_server.stop(signal.SIGTERM) == 0


def test_serve_stops_cleanly_on_sigint(fresh_server):
    fresh_server.start()
    assert fresh_server.stop(signal.SIGINT) == 0


def test_env_prints_working_export_lines(fresh_server, tmp_path):
    fresh_server.env = {"MAMORI_ROOT_ACCESS_KEY_ID": "", "MAMORI_ROOT_SECRET_ACCESS_KEY": ""}
    env = {"MAMORI_ROOT_ACCESS_KEY_ID": "", "MAMORI_ROOT_SECRET_ACCESS_KEY": ""}
    first = _mamori(
        "env", "--data-dir", str(fresh_server.data_dir), "--port", str(fresh_server.port), env=env
    )
    assert first.returncode == 0, first.stderr
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in first.stdout.strip().splitlines()
    )
    assert set(exports) == {
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
    }
    assert exports["AWS_ENDPOINT_URL"] == fresh_server.endpoint
    assert exports["AWS_ACCESS_KEY_ID"].startswith("AKIA")
    # Generated once, then kept: a second call prints the same pair.
    again = _mamori("env", "--data-dir", str(fresh_server.data_dir), env=env)
    assert exports["AWS_SECRET_ACCESS_KEY"] in again.stdout
    fresh_server.start()
    sts = make_client(
        fresh_server.endpoint,
        "sts",
        aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
    )
    assert sts.get_caller_identity()["Account"] == "000000000000"
    key_file = fresh_server.data_dir / "master.key"
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600


def test_account_id_is_configurable(fresh_server):
    fresh_server.env = {"MAMORI_ACCOUNT_ID": "123456789012"}
    fresh_server.start()
    identity = make_client(fresh_server.endpoint, "sts").get_caller_identity()
    assert identity["Arn"] == "arn:aws:iam::123456789012:root"


def test_coverage_lists_every_service():
    result = _mamori("coverage")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    for service in ("kms", "sts", "iam", "s3", "cloudwatch", "organizations", "total"):
        assert service in lines
    as_json = json.loads(_mamori("coverage", "--json").stdout)
    sts = next(row for row in as_json if row["service"] == "sts")
    assert "GetCallerIdentity" in sts["operations"]
    assert sts["total"] == len(service_model("sts").operation_names)


def test_reset_is_refused_unless_enabled(fresh_server):
    fresh_server.start()
    for path in ("/_mamori/reset", "/moto-api/reset"):
        status, body = _call(fresh_server.endpoint + path, "POST", {})
        assert status == 403
        assert "--allow-reset" in body["error"]


def test_reset_wipes_state_and_keeps_root_credentials(server):
    for path in ("/_mamori/reset", "/moto-api/reset"):
        status, body = _call(server.endpoint + path, "POST", {})
        assert status == 200, body
        assert server.client("sts").get_caller_identity()["Account"] == "000000000000"


def test_time_travel_is_refused_unless_enabled(fresh_server):
    fresh_server.start()
    status, _ = _call(fresh_server.endpoint + "/_mamori/clock")
    assert status == 200
    status, body = _call(fresh_server.endpoint + "/_mamori/clock", "POST", {"advance_seconds": 5})
    assert status == 403 and "--allow-time-travel" in body["error"]
    cli = _mamori("clock", "advance", "1d", "--endpoint", fresh_server.endpoint)
    assert cli.returncode != 0


def test_time_travel_moves_the_domain_clock_but_not_sigv4(server):
    from datetime import datetime, timedelta

    _, before = _call(server.endpoint + "/_mamori/clock")
    start = datetime.fromisoformat(before["now"].replace("Z", "+00:00"))
    status, after = _call(server.endpoint + "/_mamori/clock", "POST", {"advance_seconds": 3600})
    assert status == 200
    moved = datetime.fromisoformat(after["now"].replace("Z", "+00:00"))
    assert moved - start >= timedelta(seconds=3600)
    cli = _mamori("clock", "advance", "1d", "--endpoint", server.endpoint)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["offset_seconds"] >= 3600 + 86400
    # Signed requests keep working: SigV4's skew check uses the real wall clock.
    assert server.client("sts").get_caller_identity()["Account"] == "000000000000"
    status, _ = _call(server.endpoint + "/_mamori/clock", "POST", {"advance_seconds": -5})
    assert status == 400
    status, _ = _call(server.endpoint + "/_mamori/clock", "POST", {"nonsense": 1})
    assert status == 400


@pytest.mark.parametrize("payload", [b"{", b"[]", b'{"advance_seconds": "soon"}'])
def test_clock_rejects_malformed_bodies(server, payload):
    request = urllib.request.Request(
        server.endpoint + "/_mamori/clock", data=payload, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 400
