"""EventHistory (LookupEvents' query) over a real journal: filters, order, pages, tokens, scope,
retention and pruning, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mamori.errors import AwsError
from mamori.journal import Cursors
from mamori.services.cloudtrail.history import EventHistory, LookupQuery
from mamori.store.schema import journal_table

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
ACCOUNT = "000000000000"
_n = itertools.count()


def rec(
    name="GetUser",
    *,
    when: datetime | None = None,
    account=ACCOUNT,
    region="us-east-1",
    source="iam.amazonaws.com",
    user="alice",
    key="AKIAALICE",
    read_only=True,
    resources=None,
    error=None,
) -> dict:
    when = when or NOW - timedelta(minutes=1)
    record = {
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAALICE",
            "arn": f"arn:aws:iam::{account}:user/{user}",
            "accountId": account,
            "accessKeyId": key,
            "userName": user,
        },
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "test",
        "requestParameters": None,
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": f"evt-{next(_n):06d}-{uuid.uuid4().hex[:8]}",
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error:
        record["errorCode"] = error
        record["errorMessage"] = "no"
    if resources:
        record["resources"] = [
            {"ARN": arn, "accountId": account, "type": t} for t, arn in resources
        ]
    return record


def lookup(store, *attribute, now=NOW, account=ACCOUNT, region="us-east-1", **kw):
    start, end = kw.pop("start", None), kw.pop("end", None)
    query = LookupQuery(account, region, tuple(attribute) or None, start, end)
    return EventHistory(store).lookup(query, now=now, **kw)


def names(page) -> list[str]:
    return [e["EventName"] for e in page["Events"]]


def test_newest_first_and_every_event_field(store, write):
    role = "arn:aws:iam::000000000000:role/r"
    records = [
        rec("ListUsers", when=NOW - timedelta(seconds=30)),
        rec(
            "CreateRole",
            when=NOW - timedelta(seconds=20),
            read_only=False,
            resources=[("AWS::IAM::Role", role)],
        ),
        rec("GetRole", when=NOW - timedelta(seconds=20)),  # same second: seq decides
    ]
    write(*records)
    page = lookup(store)
    assert names(page) == ["GetRole", "CreateRole", "ListUsers"]
    assert "NextToken" not in page
    event = page["Events"][1]
    assert event == {
        "EventId": records[1]["eventID"],
        "EventName": "CreateRole",
        "ReadOnly": "false",
        "AccessKeyId": "AKIAALICE",
        "EventTime": NOW - timedelta(seconds=20),
        "EventSource": "iam.amazonaws.com",
        "Username": "alice",
        "Resources": [{"ResourceType": "AWS::IAM::Role", "ResourceName": role}],
        "CloudTrailEvent": event["CloudTrailEvent"],
    }
    assert json.loads(event["CloudTrailEvent"]) == records[1]
    assert page["Events"][0]["ReadOnly"] == "true" and page["Events"][0]["Resources"] == []


def test_each_lookup_attribute(store, write):
    key_arn = "arn:aws:kms:us-east-1:000000000000:key/k1"
    target = rec(
        "Encrypt",
        source="kms.amazonaws.com",
        user="bob",
        key="AKIABOB",
        resources=[("AWS::KMS::Key", key_arn)],
    )
    write(
        rec("CreateUser", read_only=False, resources=[("AWS::IAM::User", "arn:u")]),
        target,
        rec("GetUser"),
    )
    cases = {
        ("EventId", target["eventID"]): ["Encrypt"],
        ("EventName", "Encrypt"): ["Encrypt"],
        ("EventName", "CreateUser"): ["CreateUser"],
        ("ReadOnly", "false"): ["CreateUser"],
        ("ReadOnly", "true"): ["GetUser", "Encrypt"],
        ("ReadOnly", "TRUE"): ["GetUser", "Encrypt"],
        ("ReadOnly", "maybe"): [],
        ("Username", "bob"): ["Encrypt"],
        ("Username", "alice"): ["GetUser", "CreateUser"],
        ("ResourceType", "AWS::KMS::Key"): ["Encrypt"],
        ("ResourceName", key_arn): ["Encrypt"],
        ("ResourceName", "arn:u"): ["CreateUser"],
        ("EventSource", "kms.amazonaws.com"): ["Encrypt"],
        ("EventSource", "iam.amazonaws.com"): ["GetUser", "CreateUser"],
        ("AccessKeyId", "AKIABOB"): ["Encrypt"],
        ("EventName", "Nope"): [],
    }
    for attribute, expected in cases.items():
        assert names(lookup(store, *attribute)) == expected, attribute


def test_resource_lookup_shows_an_event_once_and_pages_through_duplicates(store, write):
    arns = [("AWS::IAM::Role", f"arn:aws:iam::000000000000:role/r{i}") for i in range(3)]
    write(*[rec(f"Op{i}", resources=arns, when=NOW - timedelta(seconds=60 - i)) for i in range(5)])
    seen = []
    token = None
    while True:
        page = lookup(store, "ResourceType", "AWS::IAM::Role", max_results=2, next_token=token)
        seen += names(page)
        token = page.get("NextToken")
        if not token:
            break
    assert seen == ["Op4", "Op3", "Op2", "Op1", "Op0"]
    assert len(lookup(store, "ResourceType", "AWS::IAM::Role")["Events"][0]["Resources"]) == 3


def test_pagination_with_ties_is_complete_and_stable(store, write):
    base = NOW - timedelta(hours=1)
    # 23 events, several in each second, written in two batches
    first = [rec(f"E{i:02d}", when=base + timedelta(seconds=i // 4)) for i in range(15)]
    write(*first)
    page = lookup(store, max_results=5)
    collected = names(page)
    # newer events arriving between pages do not disturb the next pages
    write(*[rec(f"E{i:02d}", when=base + timedelta(seconds=10 + i)) for i in range(15, 23)])
    while "NextToken" in page:
        page = lookup(store, max_results=5, next_token=page["NextToken"])
        collected += names(page)
    assert collected == [f"E{i:02d}" for i in reversed(range(15))]
    assert names(lookup(store, max_results=50))[:8] == [f"E{i:02d}" for i in range(22, 14, -1)]


def test_time_range_is_inclusive_and_checked(store, write):
    t = [NOW - timedelta(hours=h) for h in (5, 4, 3, 2, 1)]
    write(*[rec(f"H{i}", when=w) for i, w in enumerate(t)])
    assert names(lookup(store, start=t[1], end=t[3])) == ["H3", "H2", "H1"]
    assert names(lookup(store, start=t[4])) == ["H4"]
    assert names(lookup(store, end=t[0])) == ["H0"]
    assert names(lookup(store, "EventName", "H2", start=t[1], end=t[3])) == ["H2"]
    with pytest.raises(AwsError) as error:
        LookupQuery.from_params(
            {"StartTime": t[3], "EndTime": t[1]}, account_id=ACCOUNT, region="us-east-1"
        )
    assert error.value.code == "InvalidTimeRangeException"


def test_scope_is_account_and_region(store, write):
    write(
        rec("Mine"),
        rec("OtherAccount", account="111111111111"),
        rec("OtherRegion", region="eu-west-1"),
    )
    assert names(lookup(store)) == ["Mine"]
    assert names(lookup(store, account="111111111111")) == ["OtherAccount"]
    assert names(lookup(store, region="eu-west-1")) == ["OtherRegion"]
    assert names(lookup(store, "EventName", "OtherAccount")) == []


def test_retention_is_90_days_by_the_domain_clock(store, write):
    write(
        rec("Old", when=NOW - timedelta(days=90, seconds=1)),
        rec("Edge", when=NOW - timedelta(days=89, hours=23)),
        rec("New"),
    )
    assert names(lookup(store)) == ["New", "Edge"]
    assert names(lookup(store, start=NOW - timedelta(days=365))) == ["New", "Edge"]
    assert names(lookup(store, now=NOW + timedelta(days=30))) == ["New"]
    assert names(lookup(store, now=NOW + timedelta(days=91))) == []
    assert names(lookup(store, "EventName", "Old")) == []


def test_prune_deletes_expired_events_oldest_first_but_not_past_a_cursor(store, write):
    old = [
        rec(f"Old{i}", when=NOW - timedelta(days=100 - i), resources=[("AWS::IAM::User", "u")])
        for i in range(5)
    ]
    write(*old, rec("New"))
    history = EventHistory(store)
    cursors = Cursors(store)
    with store.connect() as conn:
        seqs = [r[0] for r in conn.execute(journal_table.select().order_by(journal_table.c.seq))]
    cursors.commit(None, "some-consumer", seqs[1])  # has read the first two events only
    assert history.prune(NOW, batch=2) == 2
    cursors.commit(None, "some-consumer", seqs[-1])
    assert history.prune(NOW, batch=2) == 3
    assert history.prune(NOW) == 0
    # looked up as of a time when they were still within retention: gone all the same
    assert names(lookup(store, now=NOW - timedelta(days=50), end=NOW - timedelta(days=60))) == []
    assert names(lookup(store)) == ["New"]


def test_next_token_is_opaque_tamper_checked_and_bound_to_the_query(store, write):
    write(*[rec("GetUser") for _ in range(3)])
    token = lookup(store, max_results=1)["NextToken"]
    assert "GetUser" not in token and ACCOUNT not in token
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[-1] ^= 1
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    for bad, kwargs in [
        (tampered, {}),
        ("not a token", {}),
        ("", {}),
        (token, {"account": "111111111111"}),
        (token, {"region": "eu-west-1"}),
    ]:
        if not bad:
            continue
        with pytest.raises(AwsError) as error:
            lookup(store, max_results=1, next_token=bad, **kwargs)
        assert error.value.code == "InvalidNextTokenException"
    with pytest.raises(AwsError) as error:
        lookup(store, "EventName", "GetUser", max_results=1, next_token=token)
    assert error.value.code == "InvalidNextTokenException"
    assert len(lookup(store, max_results=1, next_token=token)["Events"]) == 1


def test_request_checks():
    def parse(**params):
        return LookupQuery.from_params(params, account_id=ACCOUNT, region="us-east-1")

    attr = {"AttributeKey": "EventName", "AttributeValue": "X"}
    with pytest.raises(AwsError) as error:
        parse(LookupAttributes=[attr, attr])
    assert error.value.code == "InvalidLookupAttributesException"
    with pytest.raises(AwsError) as error:
        parse(LookupAttributes=[{"AttributeKey": "Bogus", "AttributeValue": "X"}])
    assert error.value.code == "InvalidLookupAttributesException"
    assert parse(LookupAttributes=[attr]).attribute == ("EventName", "X")
    assert parse(EventCategory="insight").category == "insight"


def test_max_results_and_insight_category(store, write):
    write(*[rec("GetUser") for _ in range(60)])
    assert len(lookup(store)["Events"]) == 50
    assert len(lookup(store, max_results=7)["Events"]) == 7
    for bad in (0, 51):
        with pytest.raises(AwsError) as error:
            lookup(store, max_results=bad)
        assert error.value.code == "InvalidMaxResultsException"
    query = LookupQuery(ACCOUNT, "us-east-1", category="insight")
    assert EventHistory(store).lookup(query, now=NOW) == {"Events": []}


def test_console_sign_in_events_are_found_like_any_other(store, write):
    from mamori.gateway.audit import console_sign_in_record
    from mamori.iam.principals import Principal

    alice = Principal(
        type="IAMUser",
        account_id=ACCOUNT,
        arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
        principal_id="AIDAALICE",
        user_name="alice",
    )
    ok = console_sign_in_record(
        alice,
        event_time=NOW - timedelta(minutes=2),
        source_ip="192.0.2.1",
        user_agent="Mozilla/5.0",
        success=True,
        mfa_used=True,
    )
    failed = console_sign_in_record(
        alice,
        event_time=NOW - timedelta(minutes=1),
        source_ip="192.0.2.1",
        user_agent="Mozilla/5.0",
        success=False,
        mfa_used=False,
    )
    write(ok, failed)
    page = lookup(store, "EventName", "ConsoleLogin")
    assert names(page) == ["ConsoleLogin", "ConsoleLogin"]
    newest = json.loads(page["Events"][0]["CloudTrailEvent"])
    assert newest["eventType"] == "AwsConsoleSignIn"
    assert newest["eventSource"] == "signin.amazonaws.com"
    assert newest["responseElements"] == {"ConsoleLogin": "Failure"}
    assert newest["errorMessage"] == "Failed authentication"
    oldest = json.loads(page["Events"][1]["CloudTrailEvent"])
    assert oldest["additionalEventData"]["MFAUsed"] == "Yes"
    assert page["Events"][0]["Username"] == "alice"
