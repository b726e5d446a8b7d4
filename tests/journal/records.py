"""CloudTrail-format records for the journal tests."""

from __future__ import annotations

import itertools
import uuid

_counter = itertools.count()


def record(name: str = "DescribeKey", *, read_only: bool = True, **extra) -> dict:
    n = next(_counter)
    rec = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::000000000000:user/alice",
            "accountId": "000000000000",
            "accessKeyId": "AKIAALICE",
            "userName": "alice",
        },
        "eventTime": f"2024-05-01T12:{n // 60 % 60:02d}:{n % 60:02d}Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "boto3",
        "requestParameters": {"keyId": "k"},
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "000000000000",
        "eventCategory": "Management",
    }
    rec.update(extra)
    return rec
