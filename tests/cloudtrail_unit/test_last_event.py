"""last_successful_event (GetKeyLastUsage's query) over a real journal: which events count, the
newest first, the account, region and start it is scoped to, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mamori.journal import Journal
from mamori.services.cloudtrail.history import last_successful_event

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
ACCOUNT = "000000000000"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
OTHER = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/66666666-7777-8888-9999-000000000000"
CRYPTO = {"Encrypt", "Decrypt", "GenerateDataKey"}
_n = itertools.count()


def rec(name, *, when, key=KEY, account=ACCOUNT, region="us-east-1", error=None) -> dict:
    record = {
        "eventVersion": "1.11",
        "userIdentity": {"type": "Root", "accountId": account},
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "requestID": f"req-{next(_n)}",
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "recipientAccountId": account,
        "resources": [{"ARN": key, "accountId": account, "type": "AWS::KMS::Key"}],
    }
    if error:
        record["errorCode"] = error
    return record


def last(journal, *, account=ACCOUNT, region="us-east-1", start=NOW - timedelta(days=90)):
    return last_successful_event(
        journal,
        account_id=account,
        region=region,
        resource_name=KEY,
        event_source="kms.amazonaws.com",
        event_names=CRYPTO,
        start=start,
    )


def test_newest_successful_cryptographic_event_of_the_key(store):
    journal = Journal(store)
    t = NOW - timedelta(minutes=10)
    same_second = [rec("Encrypt", when=t), rec("Decrypt", when=t)]  # seq breaks the tie
    later = [
        rec("Decrypt", when=t + timedelta(seconds=5), error="InvalidCiphertextException"),
        rec("DescribeKey", when=t + timedelta(seconds=6)),
        rec("Encrypt", when=t + timedelta(seconds=7), key=OTHER),
        rec("Encrypt", when=t + timedelta(seconds=8), region="eu-west-1"),
        rec("Encrypt", when=t + timedelta(seconds=9), account="111111111111"),
    ]
    with store.begin() as conn:
        for record in same_second + later:
            journal.append_in(conn, record)
    found = last(journal)
    expected = same_second[1]
    assert found.event_id == expected["eventID"]
    assert found.event_name == "Decrypt"
    assert found.request_id == expected["requestID"]
    assert found.event_time == t.replace(microsecond=0)
    assert last(journal, region="eu-west-1").event_name == "Encrypt"
    assert last(journal, account="222222222222") is None


def test_nothing_before_start(store):
    journal = Journal(store)
    with store.begin() as conn:
        journal.append_in(conn, rec("Encrypt", when=NOW - timedelta(days=91)))
    assert last(journal) is None
    assert last(journal, start=NOW - timedelta(days=92)).event_name == "Encrypt"


def test_only_below_the_commit_safe_horizon(store):
    """PostgreSQL: a use committed while an earlier-allocated journal row may still commit is not
    answered yet (SQLite serializes writers: nothing to wait for there)."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite commits journal rows in seq order")
    journal = Journal(store)
    t = NOW - timedelta(minutes=1)
    with store.begin() as conn:
        journal.append_in(conn, rec("Encrypt", when=t))
    assert last(journal).event_name == "Encrypt"
    slow = store.engine.connect()
    slow_tx = slow.begin()
    journal.append_in(slow, rec("DescribeKey", when=t))  # allocated first, not committed
    with store.begin() as conn:
        journal.append_in(conn, rec("Decrypt", when=t + timedelta(seconds=1)))
    assert last(journal).event_name == "Encrypt"
    slow_tx.commit()
    slow.close()
    assert last(journal).event_name == "Decrypt"
