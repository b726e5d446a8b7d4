"""S3 checks the enum values inside its XML bodies itself; the generic validator leaves them to
the operation, and still reports them in headers and query strings."""

from __future__ import annotations

import pytest

from mamori.errors import ValidationError
from mamori.protocols.validation import validate
from mamori.service_models import service_model


def op(service: str, name: str):
    return service_model(service).operation_model(name)


def test_enum_inside_an_s3_xml_body_is_left_to_the_operation() -> None:
    params = {"Bucket": "b", "VersioningConfiguration": {"Status": "Bogus"}}
    validate(op("s3", "PutBucketVersioning"), params, "rest-xml")


def test_enum_in_an_s3_header_is_invalid_argument() -> None:
    params = {"Bucket": "b", "Key": "k", "ServerSideEncryption": "BOGUS"}
    with pytest.raises(ValidationError) as info:
        validate(op("s3", "PutObject"), params, "rest-xml")
    assert info.value.code == "InvalidArgument"
    assert "at 'serverSideEncryption'" in info.value.message


def test_other_constraints_inside_an_s3_body_are_still_reported() -> None:
    params = {"Bucket": "b", "Tagging": {"TagSet": [{"Key": "k"}]}}
    with pytest.raises(ValidationError) as info:
        validate(op("s3", "PutBucketTagging"), params, "rest-xml")
    assert "Value null at 'tagging.tagSet.1.member.value'" in info.value.message


def test_enum_in_a_json_body_is_still_a_validation_exception() -> None:
    with pytest.raises(ValidationError) as info:
        validate(op("kms", "CreateKey"), {"KeyUsage": "BOGUS"}, "json")
    assert info.value.code == "ValidationException"
