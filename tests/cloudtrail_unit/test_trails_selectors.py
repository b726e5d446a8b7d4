"""Event selectors and trail names, without a server."""

from __future__ import annotations

import pytest

from mamori.errors import AwsError
from mamori.services.cloudtrail import selectors
from mamori.services.cloudtrail.trails import validate_name


def record(source="iam.amazonaws.com", name="ListUsers", read_only=True, **params):
    return {
        "eventSource": source,
        "eventName": name,
        "readOnly": read_only,
        "requestParameters": params or None,
    }


def test_default_selectors_log_management_events_only():
    config = {}
    assert selectors.matches(config, selectors.view(record()))
    s3_get = selectors.view(record("s3.amazonaws.com", "GetObject", bucketName="b", key="k"))
    assert s3_get.category == "Data"
    assert not selectors.matches(config, s3_get)


def test_basic_selectors():
    config = {
        "EventSelectors": selectors.check_basic(
            [
                {
                    "ReadWriteType": "WriteOnly",
                    "IncludeManagementEvents": True,
                    "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::b/"]}],
                }
            ]
        )
    }
    assert not selectors.matches(config, selectors.view(record()))
    assert selectors.matches(config, selectors.view(record(name="CreateUser", read_only=False)))
    put = record("s3.amazonaws.com", "PutObject", False, bucketName="b", key="x")
    other = record("s3.amazonaws.com", "PutObject", False, bucketName="c", key="x")
    assert selectors.matches(config, selectors.view(put))
    assert not selectors.matches(config, selectors.view(other))


def test_advanced_selectors():
    config = {
        "AdvancedEventSelectors": selectors.check_advanced(
            [
                {
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Management"]},
                        {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]},
                        {"Field": "eventName", "StartsWith": ["Create", "Delete"]},
                    ]
                }
            ]
        )
    }
    assert selectors.matches(config, selectors.view(record(name="CreateUser", read_only=False)))
    assert not selectors.matches(config, selectors.view(record(name="ListUsers")))
    kms = record("kms.amazonaws.com", "CreateKey", False)
    assert not selectors.matches(config, selectors.view(kms))
    with pytest.raises(AwsError):
        selectors.check_advanced([{"FieldSelectors": [{"Field": "readOnly", "Equals": ["x"]}]}])


@pytest.mark.parametrize("name", ["ab", "-abc", "abc-", "a..b", "192.168.1.1", "a b c"])
def test_invalid_trail_names(name):
    with pytest.raises(AwsError) as err:
        validate_name(name)
    assert err.value.code == "InvalidTrailNameException"


def test_valid_trail_name():
    validate_name("my-trail_1.x")
