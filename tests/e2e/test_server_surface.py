"""mamori's own server surface: connection handling, /_mamori/clock, health, reset, settings."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.conftest import free_port, make_client


def _exchange(endpoint: str, *messages: bytes, timeout: float = 3.0) -> tuple[list[bytes], bool]:
    """Send ``messages`` on one connection, each once the one before was answered; return the
    responses and whether the server closed the connection instead of answering them all."""
    parts = urlsplit(endpoint)
    responses: list[bytes] = []
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        reader = sock.makefile("rb")
        for message in messages:
            try:
                sock.sendall(message)
                response = _read_response(reader)
            except TimeoutError:  # neither answered nor closed: the message was swallowed
                return responses, False
            except ConnectionError:
                return responses, True
            if response is None:
                return responses, True
            responses.append(response)
    return responses, False


def _read_response(reader) -> bytes | None:
    """One response (head and Content-Length body), or None when the connection has closed."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline()
        if not line:
            return None
        head += line
    length = 0
    for line in head.decode("latin-1").lower().split("\r\n"):
        if line.startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    return head + reader.read(length)


def _head(response: bytes) -> str:
    return response.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()


# A request answered before its body was read must not leave the body to be taken for the next
# request on the connection (RFC 9110 10.1.1): the connection is closed after the answer.


def test_refused_uploads_on_one_client_all_get_their_own_error(server):
    server.client("s3").create_bucket(Bucket="surface-desync")
    stranger = make_client(
        server.endpoint,
        "s3",
        aws_access_key_id="AKIADOESNOTEXIST0000",
        aws_secret_access_key="x" * 40,
    )
    for _ in range(3):  # botocore sends Expect: 100-continue; mamori refuses before the body
        with pytest.raises(ClientError) as error:
            stranger.put_object(Bucket="surface-desync", Key="k", Body=b"hello world")
        assert error.value.response["Error"]["Code"] == "InvalidAccessKeyId"
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as error:
        stranger.list_objects_v2(Bucket="surface-desync")
    assert error.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_a_body_over_the_limit_is_refused_and_the_connection_closed(server):
    host = urlsplit(server.endpoint).netloc.encode()
    too_large = (
        b"POST / HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"X-Amz-Target: TrentService.ListKeys\r\n"
        b"Content-Type: application/x-amz-json-1.1\r\n"
        b"Expect: 100-continue\r\n"
        b"Content-Length: 17000000\r\n\r\n"
    )
    responses, closed = _exchange(server.endpoint, too_large, _HEALTH % host)
    assert len(responses) == 1
    assert responses[0].startswith(b"HTTP/1.1 413 ")
    assert "connection: close" in _head(responses[0])
    assert closed  # rather than the health request being swallowed as the refused body


def test_an_internal_endpoint_that_ignores_the_body_closes_the_connection(server):
    host = urlsplit(server.endpoint).netloc.encode()
    with_body = (
        b"GET /_mamori/health HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"Expect: 100-continue\r\nContent-Length: 41\r\n\r\n"
    )
    responses, closed = _exchange(server.endpoint, with_body, _HEALTH % host)
    assert len(responses) == 1
    assert responses[0].startswith(b"HTTP/1.1 200 ")
    assert "connection: close" in _head(responses[0])
    assert closed


def test_an_error_after_the_body_was_read_keeps_the_connection(server):
    host = urlsplit(server.endpoint).netloc.encode()
    unsigned = (
        b"POST / HTTP/1.1\r\nHost: " + host + b"\r\n"
        b"X-Amz-Target: TrentService.ListKeys\r\n"
        b"Content-Type: application/x-amz-json-1.1\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    responses, closed = _exchange(server.endpoint, unsigned, _HEALTH % host)
    assert not closed
    assert responses[0].startswith(b"HTTP/1.1 400 ")
    assert "connection: close" not in _head(responses[0])
    assert responses[1].startswith(b"HTTP/1.1 200 ")


_HEALTH = b"GET /_mamori/health HTTP/1.1\r\nHost: %s\r\n\r\n"


# POST /_mamori/clock: a move that cannot be made is refused with 400 and changes nothing.


def _post_clock(endpoint: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(endpoint + "/_mamori/clock", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _clock_offset(endpoint: str) -> float:
    with urllib.request.urlopen(endpoint + "/_mamori/clock", timeout=10) as response:
        return json.loads(response.read())["offset_seconds"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"advance_seconds": Infinity}',
        b'{"advance_seconds": NaN}',
        b'{"advance_seconds": 1e300}',
        b'{"advance_seconds": 1e15}',
        b'{"advance_seconds": 1e400}',
        b'{"advance_seconds": 230000000000}',  # some 7300 years
        b'{"advance_seconds": true}',
        b'{"set": "9999-12-31T23:59:59Z"}',
        b'{"set": 20300101}',
    ],
)
def test_an_impossible_clock_move_is_refused_and_changes_nothing(server, body):
    before = _clock_offset(server.endpoint)
    status, answer = _post_clock(server.endpoint, body)
    assert status == 400
    assert answer["error"]
    assert _clock_offset(server.endpoint) == before
    assert server.client("sts").get_caller_identity()["Account"] == "000000000000"


def test_the_clock_moves_up_to_its_limit_and_calls_keep_working(fresh_server):
    fresh_server.start("--allow-time-travel")
    status, answer = _post_clock(fresh_server.endpoint, b'{"set": "8999-12-31T00:00:00Z"}')
    assert status == 200, answer
    assert answer["now"].startswith("8999-12-31T")
    assert fresh_server.client("sts").get_caller_identity()["Account"] == "000000000000"
    iam = fresh_server.client("iam")
    iam.create_user(UserName="late")
    assert iam.get_user(UserName="late")["User"]["CreateDate"].year == 8999
    status, _ = _post_clock(fresh_server.endpoint, b'{"advance_seconds": 172800}')
    assert status == 400


def test_the_clock_command_reports_bad_input_in_one_line(server):
    result = _mamori("clock", "advance", "abc", "--endpoint", server.endpoint)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "mamori: not a duration: 'abc' (examples: 90s, 15m, 2h, 1d)"
    ]


def test_the_clock_command_without_a_server_says_so_in_one_line():
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = _mamori("clock", "--endpoint", nowhere)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mamori: cannot reach the server at {nowhere}")


def _mamori(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mamori.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


# /_mamori/health tells a load balancer when the node refuses calls.


def _health(endpoint: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(endpoint + "/_mamori/health", timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _wait_for(condition, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return result


def _refused(sts) -> dict | None:
    try:
        sts.get_caller_identity()
    except ClientError as error:
        return error.response
    return None


def test_health_is_unavailable_while_calls_are_refused(fresh_server):
    fresh_server.start()
    sts = fresh_server.client("sts")
    assert _health(fresh_server.endpoint)[1]["journal"] == {"writable": True}
    blocker = sqlite3.connect(fresh_server.data_dir / "mamori.db", timeout=30)
    blocker.execute("BEGIN EXCLUSIVE")  # the journal cannot be written from now on
    try:
        refused = _wait_for(lambda: _refused(sts), "calls kept being served")
        assert refused["Error"]["Code"] == "ServiceUnavailable"
        status, health = _health(fresh_server.endpoint)
        assert status == 503
        assert health["status"] == "unavailable"
        assert health["journal"]["writable"] is False
        assert "journal" in health["journal"]["error"]
    finally:
        blocker.rollback()
        blocker.close()
    _wait_for(lambda: _refused(sts) is None, "the server did not recover")
    status, health = _health(fresh_server.endpoint)
    assert (status, health["status"], health["journal"]) == (200, "ok", {"writable": True})


# POST /_mamori/reset wipes the object bodies on disk with their rows.


def _blob_files(data_dir) -> list:
    return [path for path in (data_dir / "s3" / "blobs").rglob("*") if path.is_file()]


def test_reset_deletes_the_object_bodies_on_disk(fresh_server):
    fresh_server.start("--allow-reset")
    s3 = fresh_server.client("s3")
    s3.create_bucket(Bucket="surface-reset")
    for key in ("a", "b", "c"):
        s3.put_object(Bucket="surface-reset", Key=key, Body=key.encode() * 1000)
    assert len(_blob_files(fresh_server.data_dir)) == 3
    outside = fresh_server.data_dir / "s3" / "keep-me"
    outside.write_text("not a blob")
    request = urllib.request.Request(fresh_server.endpoint + "/_mamori/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    assert _blob_files(fresh_server.data_dir) == []
    assert outside.read_text() == "not a blob"
    s3.create_bucket(Bucket="surface-reset")  # and the store works as before
    s3.put_object(Bucket="surface-reset", Key="again", Body=b"again")
    assert s3.get_object(Bucket="surface-reset", Key="again")["Body"].read() == b"again"
    assert len(_blob_files(fresh_server.data_dir)) == 1


# Settings mamori cannot work with stop it with one line naming them.


def test_a_root_key_id_taken_by_an_iam_user_stops_the_server_with_one_line(fresh_server):
    fresh_server.start()
    iam = fresh_server.client("iam")
    iam.create_user(UserName="holder")
    taken = iam.create_access_key(UserName="holder")["AccessKey"]["AccessKeyId"]
    assert fresh_server.stop() == 0
    fresh_server.env = {
        "MAMORI_ROOT_ACCESS_KEY_ID": taken,
        "MAMORI_ROOT_SECRET_ACCESS_KEY": "another-secret-another-secret-another-sec",
    }
    with pytest.raises(RuntimeError, match="exited early"):
        fresh_server.start()
    log = fresh_server.log()
    assert "Traceback" not in log
    assert f"mamori: MAMORI_ROOT_ACCESS_KEY_ID: the access key {taken} already belongs to" in log
    assert fresh_server.process.returncode == 1


# Root's session credentials are not its root keys.


def test_the_roots_session_credentials_survive_a_restart(fresh_server):
    fresh_server.start()
    session = fresh_server.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    assert fresh_server.stop() == 0
    fresh_server.start()
    temporary = make_client(
        fresh_server.endpoint,
        "sts",
        aws_access_key_id=session["AccessKeyId"],
        aws_secret_access_key=session["SecretAccessKey"],
        aws_session_token=session["SessionToken"],
    )
    assert temporary.get_caller_identity()["Arn"] == "arn:aws:iam::000000000000:root"


# The domain clock's offset survives a restart: domain time never runs backwards.


def test_time_travel_survives_a_restart(fresh_server):
    fresh_server.start("--allow-time-travel")
    session = fresh_server.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    status, _ = _post_clock(fresh_server.endpoint, b'{"advance_seconds": 960}')
    assert status == 200
    assert fresh_server.stop() == 0
    fresh_server.start("--allow-time-travel")
    assert _clock_offset(fresh_server.endpoint) >= 960
    expired = make_client(
        fresh_server.endpoint,
        "sts",
        aws_access_key_id=session["AccessKeyId"],
        aws_secret_access_key=session["SecretAccessKey"],
        aws_session_token=session["SessionToken"],
    )
    with pytest.raises(ClientError) as error:
        expired.get_caller_identity()
    assert error.value.response["Error"]["Code"] == "ExpiredToken"


def test_reset_sets_the_clock_back_for_good(fresh_server):
    fresh_server.start("--allow-time-travel", "--allow-reset")
    assert _post_clock(fresh_server.endpoint, b'{"advance_seconds": 86400}')[0] == 200
    request = urllib.request.Request(fresh_server.endpoint + "/_mamori/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    assert _clock_offset(fresh_server.endpoint) == 0
    assert fresh_server.stop() == 0
    fresh_server.start("--allow-time-travel", "--allow-reset")
    assert _clock_offset(fresh_server.endpoint) == 0


def test_a_refused_move_is_not_saved(fresh_server):
    fresh_server.start("--allow-time-travel")
    assert _post_clock(fresh_server.endpoint, b'{"advance_seconds": 60}')[0] == 200
    assert _post_clock(fresh_server.endpoint, b'{"advance_seconds": 1e300}')[0] == 400
    assert fresh_server.stop() == 0
    fresh_server.start("--allow-time-travel")
    assert 60 <= _clock_offset(fresh_server.endpoint) < 61
