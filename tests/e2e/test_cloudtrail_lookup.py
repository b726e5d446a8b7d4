"""CloudTrail event history end to end: every call (allowed, denied, failed) is found by
LookupEvents within a second, through boto3 and the AWS CLI, scoped to its account and region."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, make_client
from tests.e2e.sts_helpers import (
    allow,
    document,
    new_user,
    server_now,
    session_client,
    time_travel,
    trust,
    unique,
)

RECORD_FIELDS = {
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
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
}


def lookup(ct, key: str | None = None, value: str | None = None, **params) -> list[dict]:
    """Every event of a lookup (all pages)."""
    if key is not None:
        params["LookupAttributes"] = [{"AttributeKey": key, "AttributeValue": value}]
    events = []
    for page in ct.get_paginator("lookup_events").paginate(**params):
        events += page["Events"]
    return events


def wait_for(ct, key, value, match=lambda record: True, timeout: float = 1.0, **params):
    """(event, record, seconds waited) of the newest event matching; fails after ``timeout``."""
    started = time.monotonic()
    while True:
        page = ct.lookup_events(
            LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], **params
        )
        for event in page["Events"]:
            record = json.loads(event["CloudTrailEvent"])
            if match(record):
                return event, record, time.monotonic() - started
        if time.monotonic() - started > timeout:
            pytest.fail(f"no event for {key}={value} within {timeout} s")
        time.sleep(0.05)


def by_request(request_id: str):
    return lambda record: record["requestID"] == request_id


@pytest.fixture(scope="module")
def ct(server):
    return server.client("cloudtrail")


def test_calls_appear_within_one_second_with_the_aws_record(server, ct):
    iam = server.client("iam")
    name = unique("ct-user")
    created = iam.create_user(UserName=name)
    event, record, waited = wait_for(
        ct, "EventName", "CreateUser", by_request(created["ResponseMetadata"]["RequestId"])
    )
    assert waited < 1.0
    got = iam.get_user(UserName=name)  # read-only: group-committed
    read_event, read_record, waited = wait_for(
        ct, "EventName", "GetUser", by_request(got["ResponseMetadata"]["RequestId"])
    )
    assert waited < 1.0
    assert read_event["ReadOnly"] == "true" and read_record["readOnly"] is True

    assert set(record) >= RECORD_FIELDS
    assert event["EventId"] == record["eventID"]
    assert event["EventName"] == "CreateUser" and event["ReadOnly"] == "false"
    assert event["EventSource"] == "iam.amazonaws.com" == record["eventSource"]
    assert event["Username"] == "root" and event["AccessKeyId"] == ACCESS_KEY_ID
    assert event["Resources"] == [
        {"ResourceType": "AWS::IAM::User", "ResourceName": created["User"]["Arn"]}
    ]
    assert abs(event["EventTime"].timestamp() - server_now(server).timestamp()) < 60
    assert record["userIdentity"] == {
        "type": "Root",
        "principalId": "000000000000",
        "arn": "arn:aws:iam::000000000000:root",
        "accountId": "000000000000",
        "accessKeyId": ACCESS_KEY_ID,
    }
    assert record["awsRegion"] == "us-east-1"
    assert record["requestParameters"] == {"userName": name}
    assert record["responseElements"]["user"]["arn"] == created["User"]["Arn"]
    assert record["resources"] == [
        {"ARN": created["User"]["Arn"], "accountId": "000000000000", "type": "AWS::IAM::User"}
    ]
    assert record["eventType"] == "AwsApiCall" and record["managementEvent"] is True
    assert record["recipientAccountId"] == "000000000000"
    assert record["eventCategory"] == "Management"
    assert record["eventTime"].endswith("Z") and record["sourceIPAddress"] == "127.0.0.1"
    assert "Boto3" in record["userAgent"]
    assert "errorCode" not in record and "tlsDetails" not in record  # plain HTTP


def test_every_lookup_attribute(server, ct):
    name, arn, client = new_user(server, allow(["iam:GetUser", "sts:GetCallerIdentity"]))
    key = client("sts")._request_signer._credentials.access_key
    me = client("iam").get_user(UserName=name)["ResponseMetadata"]["RequestId"]
    client("sts").get_caller_identity()
    time.sleep(0.3)  # read-only calls: group commit (100 ms)

    mine = lookup(ct, "Username", name)
    assert [e["EventName"] for e in mine] == ["GetCallerIdentity", "GetUser"]
    assert lookup(ct, "AccessKeyId", key) == mine
    get_user = mine[1]
    assert lookup(ct, "EventId", get_user["EventId"]) == [get_user]
    assert json.loads(get_user["CloudTrailEvent"])["requestID"] == me

    def first_page_has(key_, value, event):
        page = ct.lookup_events(LookupAttributes=[{"AttributeKey": key_, "AttributeValue": value}])
        return event["EventId"] in {e["EventId"] for e in page["Events"]}

    assert first_page_has("EventName", "GetCallerIdentity", mine[0])
    assert first_page_has("EventSource", "sts.amazonaws.com", mine[0])
    assert first_page_has("ReadOnly", "true", mine[0])
    assert not first_page_has("ReadOnly", "false", mine[0])
    created = lookup(ct, "ResourceName", arn)  # CreateUser and PutUserPolicy name the user
    assert "CreateUser" in [e["EventName"] for e in created]
    assert first_page_has("ResourceType", "AWS::IAM::User", created[0])
    assert lookup(ct, "Username", unique("nobody")) == []

    with pytest.raises(ClientError) as error:
        ct.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "Username", "AttributeValue": name},
                {"AttributeKey": "EventName", "AttributeValue": "GetUser"},
            ]
        )
    assert error.value.response["Error"]["Code"] == "InvalidLookupAttributesException"


def test_time_range_and_pagination(server, ct):
    name, _, client = new_user(server, allow("sts:GetCallerIdentity"))
    sts = client("sts")
    before = server_now(server).replace(microsecond=0)
    ids = [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(7)]
    after = server_now(server)
    time.sleep(0.3)

    pages = []
    token = None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = ct.lookup_events(
            LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": name}],
            MaxResults=3,
            **kwargs,
        )
        pages.append([json.loads(e["CloudTrailEvent"])["requestID"] for e in page["Events"]])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [rid for p in pages for rid in p] == list(reversed(ids))  # newest first, no gaps

    window = lookup(ct, "Username", name, StartTime=before, EndTime=after)
    assert len(window) == 7
    assert lookup(ct, "Username", name, EndTime=before - timedelta(seconds=1)) == []
    assert lookup(ct, "Username", name, StartTime=after + timedelta(seconds=2)) == []
    with pytest.raises(ClientError) as error:
        ct.lookup_events(StartTime=after, EndTime=before)
    assert error.value.response["Error"]["Code"] == "InvalidTimeRangeException"
    with pytest.raises(ClientError) as error:
        ct.lookup_events(NextToken=token or "bm90LWEtdG9rZW4")
    assert error.value.response["Error"]["Code"] == "InvalidNextTokenException"


def test_denied_and_failed_calls_show_their_error(server, ct):
    name, _, client = new_user(server)
    with pytest.raises(ClientError):
        client("iam").list_users()
    with pytest.raises(ClientError) as denied_lookup:
        client("cloudtrail").lookup_events()
    assert denied_lookup.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError):
        server.client("iam").get_user(UserName=unique("missing"))
    time.sleep(0.3)
    events = {
        e["EventName"]: json.loads(e["CloudTrailEvent"]) for e in lookup(ct, "Username", name)
    }
    assert events["ListUsers"]["errorCode"] == "AccessDenied"
    assert "is not authorized to perform: iam:ListUsers" in events["ListUsers"]["errorMessage"]
    assert events["LookupEvents"]["errorCode"] == "AccessDeniedException"  # as answered
    assert events["LookupEvents"]["eventSource"] == "cloudtrail.amazonaws.com"
    _, failed, _ = wait_for(ct, "EventName", "GetUser", lambda r: "errorCode" in r)
    assert failed["errorCode"] == "NoSuchEntityException"


def test_assumed_role_calls_carry_the_session_context(server, ct):
    user, user_arn, client = new_user(server, allow(["sts:AssumeRole", "sts:SetSourceIdentity"]))
    iam = server.client("iam")
    role_name = unique("ct-role")
    role = iam.create_role(
        RoleName=role_name,
        AssumeRolePolicyDocument=trust(
            {"AWS": user_arn}, ["sts:AssumeRole", "sts:SetSourceIdentity"]
        ),
    )["Role"]
    iam.put_role_policy(
        RoleName=role_name,
        PolicyName="p",
        PolicyDocument=document(allow(["iam:ListRoles", "cloudtrail:LookupEvents"])),
    )
    session_name = unique("sess")
    assumed = client("sts").assume_role(
        RoleArn=role["Arn"], RoleSessionName=session_name, SourceIdentity="alice"
    )
    credentials = assumed["Credentials"]
    session_client(server, credentials, "iam").list_roles(MaxItems=1)
    time.sleep(0.3)
    # the session itself may look up events: of its own account
    session_ct = session_client(server, credentials, "cloudtrail")
    (event,) = lookup(session_ct, "Username", session_name)
    record = json.loads(event["CloudTrailEvent"])
    assert event["EventName"] == "ListRoles" and event["AccessKeyId"] == credentials["AccessKeyId"]
    identity = record["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == assumed["AssumedRoleUser"]["Arn"]
    assert identity["principalId"] == assumed["AssumedRoleUser"]["AssumedRoleId"]
    assert identity["accessKeyId"] == credentials["AccessKeyId"]
    assert "userName" not in identity
    context = identity["sessionContext"]
    assert context["sessionIssuer"] == {
        "type": "Role",
        "principalId": role["RoleId"],
        "arn": role["Arn"],
        "accountId": "000000000000",
        "userName": role_name,
    }
    assert context["webIdFederationData"] == {}
    assert context["attributes"]["mfaAuthenticated"] == "false"
    assert context["attributes"]["creationDate"].endswith("Z")
    assert context["sourceIdentity"] == "alice"
    # AssumeRole itself is the user's event, naming the role as its resource
    (assume,) = [e for e in lookup(ct, "Username", user) if e["EventName"] == "AssumeRole"]
    assert assume["Resources"] == [{"ResourceType": "AWS::IAM::Role", "ResourceName": role["Arn"]}]


def test_no_secret_reaches_an_event(server, ct):
    iam = server.client("iam")
    name = unique("ct-secret")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    arn = iam.get_user(UserName=name)["User"]["Arn"]
    role = iam.create_role(
        RoleName=unique("ct-secret-role"), AssumeRolePolicyDocument=trust({"AWS": arn})
    )["Role"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document(allow("*")))
    creds = make_client(
        server.endpoint,
        "sts",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    ).assume_role(RoleArn=role["Arn"], RoleSessionName="ct-secret")["Credentials"]
    time.sleep(0.3)
    secrets = [key["SecretAccessKey"], creds["SecretAccessKey"], creds["SessionToken"]]
    since = server_now(server) - timedelta(minutes=1)
    texts = [e["CloudTrailEvent"] for e in lookup(ct, StartTime=since)]
    assert any(key["AccessKeyId"] in text for text in texts)
    for text in texts:
        for secret in secrets:
            assert secret not in text
    (created,) = [
        json.loads(t) for t in texts if '"CreateAccessKey"' in t and key["AccessKeyId"] in t
    ]
    assert created["responseElements"]["accessKey"]["secretAccessKey"] == (
        "HIDDEN_DUE_TO_SECURITY_REASONS"
    )


def test_events_are_scoped_to_account_and_region(server, ct):
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "mamori.cli",
            "accounts",
            "create",
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    other = json.loads(created.stdout)
    creds = dict(
        aws_access_key_id=other["AccessKeyId"], aws_secret_access_key=other["SecretAccessKey"]
    )
    name = unique("ct-other")
    make_client(server.endpoint, "iam", **creds).create_user(UserName=name)
    other_ct = make_client(server.endpoint, "cloudtrail", **creds)
    _, record, _ = wait_for(
        other_ct, "EventName", "CreateUser", lambda r: r["requestParameters"] == {"userName": name}
    )
    assert record["recipientAccountId"] == other["AccountId"]
    mine = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}]
    )
    assert name not in json.dumps([e["CloudTrailEvent"] for e in mine["Events"]])
    assert other["AccountId"] not in json.dumps(mine["Events"], default=str)

    # A regional call is found in its region only; IAM (global) is recorded in us-east-1.
    eu = dict(region_name="eu-west-1")
    sts_id = make_client(server.endpoint, "sts", **eu).get_caller_identity()
    iam_id = make_client(server.endpoint, "iam", **eu).list_users(MaxItems=1)
    eu_ct = make_client(server.endpoint, "cloudtrail", **eu)
    _, record, _ = wait_for(
        eu_ct,
        "EventName",
        "GetCallerIdentity",
        by_request(sts_id["ResponseMetadata"]["RequestId"]),
    )
    assert record["awsRegion"] == "eu-west-1"
    _, record, _ = wait_for(
        ct, "EventName", "ListUsers", by_request(iam_id["ResponseMetadata"]["RequestId"])
    )
    assert record["awsRegion"] == "us-east-1"
    in_eu = eu_ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "iam.amazonaws.com"}]
    )
    assert in_eu["Events"] == []


def test_lookup_events_is_itself_recorded_and_the_aws_cli_works(server, ct):
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_PROFILE", None)
    name = unique("ct-cli")
    server.client("iam").create_user(UserName=name)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "awscli",
            "cloudtrail",
            "lookup-events",
            "--endpoint-url",
            server.endpoint,
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=CreateUser",
            "--max-items",
            "5",
            "--output",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)["Events"]
    assert 1 <= len(events) <= 5
    assert all(e["EventName"] == "CreateUser" for e in events)
    newest = json.loads(events[0]["CloudTrailEvent"])
    assert newest["requestParameters"] == {"userName": name}
    _, record, _ = wait_for(
        ct, "EventName", "LookupEvents", lambda r: r["userAgent"].startswith("aws-cli/")
    )
    assert record["eventSource"] == "cloudtrail.amazonaws.com" and record["readOnly"] is True
    assert record["requestParameters"]["lookupAttributes"] == [
        {"attributeKey": "EventName", "attributeValue": "CreateUser"}
    ]


def test_events_older_than_90_days_are_gone(fresh_server):
    fresh_server.start("--allow-time-travel")
    iam = fresh_server.client("iam")
    name = unique("ct-old")
    iam.create_user(UserName=name)
    ct = fresh_server.client("cloudtrail")
    assert lookup(ct, "EventName", "CreateUser")
    time_travel(fresh_server, timedelta(days=89).total_seconds())
    assert lookup(ct, "EventName", "CreateUser")
    time_travel(fresh_server, timedelta(days=2).total_seconds())
    assert lookup(ct, "EventName", "CreateUser") == []
    since = server_now(fresh_server) - timedelta(days=365)
    assert lookup(ct, "EventName", "CreateUser", StartTime=since) == []
