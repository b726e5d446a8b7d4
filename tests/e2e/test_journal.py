"""Every call lands in the journal as a CloudTrail record, durably."""

from __future__ import annotations

import signal

import pytest
from botocore.exceptions import ClientError

from mamori.journal import Journal
from mamori.store import Store
from mamori.store.seal import load_master_key
from tests.conftest import make_client


def journal_records(data_dir) -> list[dict]:
    store = Store(data_dir, None, master_key=load_master_key(data_dir, None))
    try:
        return [entry.record for entry in Journal(store).read(0, 100_000)]
    finally:
        store.close()


def _request_id(call) -> tuple[str, str | None]:
    try:
        response = call()
        return response["ResponseMetadata"]["RequestId"], None
    except ClientError as error:
        return error.response["ResponseMetadata"]["RequestId"], error.response["Error"]["Code"]


def test_success_error_denied_and_unauthenticated_calls_are_all_journaled(fresh_server):
    fresh_server.start()
    endpoint = fresh_server.endpoint
    iam = make_client(endpoint, "iam")
    iam.create_user(UserName="bob")
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    bob_iam = make_client(
        endpoint,
        "iam",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    calls = {
        "ok": lambda: make_client(endpoint, "sts").get_caller_identity(),
        "error": lambda: iam.get_user(UserName="nobody"),
        "denied": lambda: bob_iam.list_users(),
        "unauthenticated": lambda: make_client(
            endpoint, "sts", aws_secret_access_key="x" * 40
        ).get_caller_identity(),
        "unimplemented": lambda: make_client(endpoint, "sns").list_topics(),
    }
    ids = {name: _request_id(call) for name, call in calls.items()}
    assert [code for _, code in ids.values()] == [
        None,
        "NoSuchEntity",
        "AccessDenied",
        "SignatureDoesNotMatch",
        "NotImplemented",
    ]
    assert fresh_server.stop(signal.SIGTERM) == 0  # a clean stop flushes group-committed records

    by_request = {r["requestID"]: r for r in journal_records(fresh_server.data_dir)}
    ok = by_request[ids["ok"][0]]
    assert ok["eventSource"] == "sts.amazonaws.com"
    assert ok["eventName"] == "GetCallerIdentity"
    assert ok["userIdentity"]["type"] == "Root"
    assert ok["userIdentity"]["arn"] == "arn:aws:iam::000000000000:root"
    assert ok["readOnly"] is True
    assert ok["recipientAccountId"] == "000000000000"
    assert ok["eventType"] == "AwsApiCall" and ok["eventID"]
    assert "errorCode" not in ok
    assert by_request[ids["error"][0]]["errorCode"] == "NoSuchEntityException"
    denied = by_request[ids["denied"][0]]
    assert denied["errorCode"] == "AccessDenied"
    assert denied["userIdentity"]["type"] == "IAMUser"
    assert denied["userIdentity"]["userName"] == "bob"
    assert "is not authorized to perform: iam:ListUsers" in denied["errorMessage"]
    assert by_request[ids["unauthenticated"][0]]["errorCode"] == "SignatureDoesNotMatch"
    assert by_request[ids["unimplemented"][0]]["errorCode"] == "NotImplemented"


def test_secrets_never_reach_the_journal(fresh_server):
    fresh_server.start()
    iam = make_client(fresh_server.endpoint, "iam")
    iam.create_user(UserName="carol")
    secret = iam.create_access_key(UserName="carol")["AccessKey"]["SecretAccessKey"]
    fresh_server.stop()
    records = journal_records(fresh_server.data_dir)
    create_key = next(r for r in records if r["eventName"] == "CreateAccessKey")
    assert create_key["responseElements"]["accessKey"]["accessKeyId"]
    assert secret not in repr(records)
    raw = b"".join(p.read_bytes() for p in fresh_server.data_dir.iterdir() if p.is_file())
    assert secret.encode() not in raw


@pytest.mark.parametrize("mutations", [40])
def test_acknowledged_mutations_survive_sigkill(fresh_server, mutations):
    fresh_server.start()
    iam = make_client(fresh_server.endpoint, "iam")
    acknowledged = []
    for i in range(mutations):
        response = iam.create_user(UserName=f"user-{i}")
        acknowledged.append(response["ResponseMetadata"]["RequestId"])
    fresh_server.stop(signal.SIGKILL)  # no chance to flush anything

    recorded = {r["requestID"] for r in journal_records(fresh_server.data_dir)}
    assert set(acknowledged) <= recorded
    fresh_server.start()
    users = make_client(fresh_server.endpoint, "iam").list_users(MaxItems=1000)["Users"]
    assert {u["UserName"] for u in users} >= {f"user-{i}" for i in range(mutations)}


def test_requests_matching_no_operation_are_journaled_too(fresh_server):
    import urllib.error
    import urllib.request

    fresh_server.start()
    request = urllib.request.Request(
        fresh_server.endpoint + "/",
        data=b"{}",
        method="POST",
        headers={
            "X-Amz-Target": "TrentService.NoSuchOperation",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 400
    assert b"UnknownOperationException" in error.value.read()
    fresh_server.stop()
    unknown = [
        r for r in journal_records(fresh_server.data_dir) if r["eventName"] == "NoSuchOperation"
    ]
    assert len(unknown) == 1
    assert unknown[0]["errorCode"] == "UnknownOperationException"


def test_audit_fails_closed_when_the_journal_cannot_be_written(fresh_server):
    import sqlite3
    import time

    fresh_server.start()
    sts = make_client(fresh_server.endpoint, "sts")
    iam = make_client(fresh_server.endpoint, "iam")
    accepted = sts.get_caller_identity()["ResponseMetadata"]["RequestId"]
    blocker = sqlite3.connect(fresh_server.data_dir / "mamori.db", timeout=30)
    blocker.execute("BEGIN EXCLUSIVE")  # the store is unwritable for the server from now on
    try:
        queued = sts.get_caller_identity()["ResponseMetadata"]["RequestId"]
        refused = None
        deadline = time.monotonic() + 30
        while refused is None and time.monotonic() < deadline:
            try:
                sts.get_caller_identity()
                time.sleep(0.2)
            except ClientError as error:
                refused = error.response
        assert refused is not None, "calls kept being served while the journal was unwritable"
        assert refused["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert refused["Error"]["Code"] == "ServiceUnavailable"
        with pytest.raises(ClientError) as error:
            iam.create_user(UserName="never-created")
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    finally:
        blocker.rollback()
        blocker.close()
    deadline = time.monotonic() + 30
    while True:
        try:
            sts.get_caller_identity()
            break
        except ClientError:
            assert time.monotonic() < deadline, "the server did not recover"
            time.sleep(0.2)
    # The refused mutation changed nothing.
    assert "never-created" not in {u["UserName"] for u in iam.list_users()["Users"]}
    assert fresh_server.stop() == 0
    recorded = {r["requestID"] for r in journal_records(fresh_server.data_dir)}
    # The record queued before the failure was kept in memory and written after recovery.
    assert {accepted, queued} <= recorded
