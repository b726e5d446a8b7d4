"""Calls: the compact form the gateway journals a call in, turned into the CloudTrail record by
whichever writer prepares the row (its thread, or its process after a trip through the pipe)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from mamori.gateway import audit
from mamori.iam.principals import Principal
from mamori.journal.calls import CALL_LAYOUT, is_call, owner_copies, record_of_call
from mamori.service_models import service_model
from mamori.store.schema import journal_table
from tests.journal.conftest import WRITERS, make_journal

WHEN = datetime(2026, 12, 7, 5, 30, 15, tzinfo=UTC)
ALICE = Principal(
    "IAMUser",
    "123456789012",
    "arn:aws:iam::123456789012:user/alice",
    "AIDAALICE",
    user_name="alice",
    access_key_id="AKIAALICE",
)


def _call(operation: str = "Encrypt", **overrides):
    facts = {
        "operation": service_model("kms").operation_model(operation),
        "principal": ALICE,
        "region": "eu-west-1",
        "event_time": WHEN,
        "source_ip": "10.1.2.3",
        "user_agent": "aws-cli/1.46",
        "request_id": "6c1a3b4e-0000-4000-8000-000000000001",
        "params": {"KeyId": "alias/app", "Plaintext": b"secret!"},
        "output": None,
        "error_code": None,
        "error_message": None,
        "resources": [{"ARN": "arn:aws:kms:eu-west-1:123456789012:key/k", "type": "AWS::KMS::Key"}],
        "tls": True,
        "host": "kms.example:4566",
        **overrides,
    }
    return audit.build_call(**facts)


def test_a_call_is_the_cloudtrail_record_in_awss_key_order():
    call = _call()
    assert is_call(call) and call[0] == CALL_LAYOUT
    record = record_of_call(call)
    assert list(record) == [
        "eventVersion",
        "userIdentity",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "requestParameters",
        "responseElements",
        "requestID",
        "eventID",
        "readOnly",
        "resources",
        "eventType",
        "managementEvent",
        "recipientAccountId",
        "eventCategory",
        "tlsDetails",
    ]
    assert record["userIdentity"]["userName"] == "alice"
    assert record["eventTime"] == "2026-12-07T05:30:15Z"
    assert (record["eventSource"], record["eventName"]) == ("kms.amazonaws.com", "Encrypt")
    # the plaintext never reaches the journal: redacted before the call is queued
    assert "secret" not in json.dumps(call, default=str)
    # (KMS records the algorithm it used though the request left it out)
    assert record["requestParameters"] == {
        "keyId": "alias/app",
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
    }
    assert record["responseElements"] is None  # Encrypt is read-only for CloudTrail's purposes
    assert record["tlsDetails"] == {
        "tlsVersion": "TLSv1.3",
        "clientProvidedHostHeader": "kms.example:4566",
    }


def test_a_failed_call_carries_its_error_and_no_response_elements():
    record = record_of_call(
        _call("CreateKey", output={"KeyMetadata": {"KeyId": "k"}}, error_code="AccessDenied")
    )
    assert (record["errorCode"], record["errorMessage"]) == ("AccessDenied", "")
    assert list(record).index("errorCode") == list(record).index("userAgent") + 1
    assert record["responseElements"] is None


def test_a_call_is_the_same_record_after_crossing_a_pipe_as_json():
    call = _call()
    crossed = json.loads(json.dumps(call, default=str))
    assert isinstance(crossed, list) and is_call(crossed)
    assert record_of_call(crossed) == json.loads(json.dumps(record_of_call(call), default=str))


def test_build_record_is_the_record_of_build_call():
    call = _call()
    record = audit.build_record(
        operation=service_model("kms").operation_model("Encrypt"),
        principal=ALICE,
        region="eu-west-1",
        event_time=WHEN,
        source_ip="10.1.2.3",
        user_agent="aws-cli/1.46",
        request_id="6c1a3b4e-0000-4000-8000-000000000001",
        params={"KeyId": "alias/app", "Plaintext": b"secret!"},
        output=None,
        error_code=None,
        error_message=None,
        resources=[{"ARN": "arn:aws:kms:eu-west-1:123456789012:key/k", "type": "AWS::KMS::Key"}],
        tls=True,
        host="kms.example:4566",
    )
    assert record == record_of_call(call)


def test_the_event_id_is_a_time_ordered_uuid_derived_from_the_call():
    call = _call()
    event_id = record_of_call(call)["eventID"]
    assert record_of_call(list(call))["eventID"] == event_id  # the same after a resend
    parsed = uuid.UUID(event_id)
    assert parsed.version == 7
    assert parsed.int >> 80 == int(WHEN.timestamp() * 1000)
    others = {
        record_of_call(_call(request_id="6c1a3b4e-0000-4000-8000-000000000002"))["eventID"],
        record_of_call(_call(error_code="InternalFailure"))["eventID"],
        record_of_call(_call("Decrypt"))["eventID"],
    }
    assert event_id not in others and len(others) == 3


@pytest.mark.parametrize("bad", [[2, *range(16)], [1, 2, 3], ()])
def test_a_call_of_another_layout_is_refused(bad):
    with pytest.raises(ValueError, match="layout"):
        record_of_call(bad)


@pytest.mark.parametrize("writer", WRITERS)
def test_appended_calls_are_stored_as_records_with_their_index_columns(store, writer):
    journal = make_journal(writer, store, flush_interval=0.02)
    journal.start()
    try:
        calls = [_call(), _call("ListKeys", params={}, resources=None, tls=False)]
        for call in calls:
            journal.append(call)
        with store.begin() as conn:  # and one in the caller's transaction
            mutation = _call("CreateKey", output={"KeyMetadata": {"KeyId": "k"}}, params={})
            journal.append_in(conn, mutation)
        journal.flush(timeout=30)
        entries = journal.read(0, 10)
    finally:
        journal.close()
    by_id = {entry.record["eventID"]: entry.record for entry in entries}
    expected = [record_of_call(c) for c in [*calls, mutation]]
    assert len(by_id) == 3
    for record in expected:
        assert by_id[record["eventID"]] == json.loads(json.dumps(record, default=str))
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(
                journal_table.c.event_id,
                journal_table.c.event_name,
                journal_table.c.username,
                journal_table.c.access_key_id,
                journal_table.c.read_only,
                journal_table.c.region,
            )
        ).all()
    columns = {row.event_id: row for row in rows}
    listed = columns[expected[1]["eventID"]]
    assert (listed.event_name, listed.username, listed.access_key_id) == (
        "ListKeys",
        "alice",
        "AKIAALICE",
    )
    assert bool(listed.read_only) and listed.region == "eu-west-1"
    assert not columns[expected[2]["eventID"]].read_only


OWNER_KEY = [
    {"ARN": "arn:aws:kms:eu-west-1:999988887777:key/k", "accountId": "999988887777", "type": "k"}
]


def test_a_cross_account_call_has_a_copy_for_the_resource_owner():
    call = _call(resources=OWNER_KEY)
    copies = owner_copies(call)
    assert len(copies) == 1
    mine, theirs = record_of_call(call), record_of_call(copies[0])
    assert (mine["recipientAccountId"], theirs["recipientAccountId"]) == (
        "123456789012",
        "999988887777",
    )
    assert mine["sharedEventID"] == theirs["sharedEventID"]
    assert mine["eventID"] != theirs["eventID"]
    assert theirs["userIdentity"] == {
        "type": "AWSAccount",
        "principalId": "AIDAALICE",
        "accountId": "123456789012",
    }
    # the same ids after a resend to a writer
    assert record_of_call(owner_copies(list(call))[0])["eventID"] == theirs["eventID"]


def test_calls_in_the_callers_account_only_have_no_copies():
    assert owner_copies(_call()) == []
    denied = _call(resources=OWNER_KEY, error_code="AccessDeniedException", error_message="no")
    assert owner_copies(denied) == []
    assert "sharedEventID" not in record_of_call(denied)
