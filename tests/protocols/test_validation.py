"""Input validation: AWS's codes and messages, from the model's constraints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mamori.errors import ValidationError
from mamori.protocols.validation import check, error_code, validate
from mamori.service_models import service_model


def op(service: str, name: str):
    return service_model(service).operation_model(name)


def test_required_member_message() -> None:
    with pytest.raises(ValidationError) as info:
        validate(op("kms", "Encrypt"), {"Plaintext": b"x"}, "json")
    err = info.value
    assert err.code == "ValidationException"
    assert err.status == 400
    assert err.message == (
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_several_errors_are_listed() -> None:
    with pytest.raises(ValidationError) as info:
        validate(op("kms", "Encrypt"), {}, "json")
    assert info.value.message.startswith("2 validation errors detected: ")
    assert "Value null at 'keyId'" in info.value.message
    # Plaintext is sensitive: its value is never echoed.
    assert "Value null at 'plaintext'" in info.value.message
    assert info.value.message.count("; ") == 1


def test_enum() -> None:
    with pytest.raises(ValidationError) as info:
        validate(op("kms", "CreateKey"), {"KeyUsage": "NOPE"}, "json")
    assert info.value.message.startswith(
        "1 validation error detected: Value 'NOPE' at 'keyUsage' failed to satisfy constraint: "
        "Member must satisfy enum value set: [SIGN_VERIFY, ENCRYPT_DECRYPT"
    )


def test_number_range() -> None:
    with pytest.raises(ValidationError) as info:
        validate(op("kms", "GenerateRandom"), {"NumberOfBytes": 0}, "json")
    assert info.value.message == (
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy "
        "constraint: Member must have value greater than or equal to 1"
    )
    with pytest.raises(ValidationError) as info:
        validate(op("kms", "GenerateRandom"), {"NumberOfBytes": 1025}, "json")
    assert info.value.message.endswith("Member must have value less than or equal to 1024")
    validate(op("kms", "GenerateRandom"), {"NumberOfBytes": 1024}, "json")


def test_string_length() -> None:
    with pytest.raises(ValidationError) as info:
        validate(op("kms", "CreateKey"), {"Description": "x" * 8193}, "json")
    assert info.value.message.endswith(
        "at 'description' failed to satisfy constraint: "
        "Member must have length less than or equal to 8192"
    )
    with pytest.raises(ValidationError) as info:
        validate(op("kms", "DescribeKey"), {"KeyId": ""}, "json")
    assert info.value.message == (
        "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_blob_length_does_not_echo_the_value() -> None:
    with pytest.raises(ValidationError) as info:
        validate(op("kms", "Encrypt"), {"KeyId": "k", "Plaintext": b""}, "json")
    assert info.value.message == (
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_list_length_and_nested_paths() -> None:
    tags = [{"TagKey": "k", "TagValue": "v"}] * 51
    errors = check(op("kms", "CreateKey").input_shape, {"Tags": tags})
    assert errors == []  # KMS has no max on Tags
    errors = check(op("iam", "CreateUser").input_shape, {"UserName": "u", "Tags": [{}] * 51})
    assert any("at 'tags' failed" in e and "less than or equal to 50" in e for e in errors)
    assert "Value null at 'tags.1.member.key' failed to satisfy constraint: " in "".join(errors)


def test_pattern() -> None:
    with pytest.raises(ValidationError) as info:
        validate(op("iam", "CreateUser"), {"UserName": "bad name!"}, "query")
    assert info.value.code == "ValidationError"
    assert info.value.message == (
        "1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )


def test_pattern_python_cannot_compile_is_skipped() -> None:
    # sts tag keys use \p{L}, which Python's re does not know: not checked, not an error.
    shape = op("sts", "AssumeRole").input_shape
    params = {"RoleArn": "a" * 20, "RoleSessionName": "s1", "Tags": [{"Key": "k", "Value": "v"}]}
    assert check(shape, params) == []


def test_types() -> None:
    shape = op("kms", "GenerateRandom").input_shape
    assert check(shape, {"NumberOfBytes": "12"}) == [
        "Value '12' at 'numberOfBytes' failed to satisfy constraint: Member must be of type integer"
    ]
    assert check(shape, {"NumberOfBytes": True}) != []
    shape = op("cloudtrail", "LookupEvents").input_shape
    assert check(shape, {"StartTime": "yesterday"}) != []
    assert check(shape, {"StartTime": datetime(2024, 1, 1, tzinfo=UTC)}) == []


def test_union_needs_exactly_one_member() -> None:
    union = service_model("logs").shape_for("GetLogObjectResponseStream")
    del union  # an output union; find an input one generically
    model = service_model("iam")
    unions = [
        model.shape_for(n) for n in model.shape_names if model.shape_for(n).metadata.get("union")
    ]
    if not unions:
        pytest.skip("no union in the model")
    shape = unions[0]
    names = list(shape.members)
    if len(names) < 2:
        pytest.skip("single-member union")
    value = {names[0]: None, names[1]: None}
    errors = check(shape, {k: v for k, v in value.items() if v is not None})
    assert any("exactly one member" in e for e in errors)


@pytest.mark.parametrize(
    ("service", "protocol", "code"),
    [
        ("kms", "json", "ValidationException"),
        ("guardduty", "rest-json", "ValidationException"),
        ("shield", "smithy-rpc-v2-cbor", "ValidationException"),
        ("iam", "query", "ValidationError"),
        ("sts", "query", "ValidationError"),
        ("sns", "query", "ValidationError"),
        ("cloudwatch", "query", "ValidationError"),
        ("cloudwatch", "json", "ValidationError"),  # awsQueryCompatible
        ("cloudwatch", "smithy-rpc-v2-cbor", "ValidationError"),
        ("s3", "rest-xml", "InvalidArgument"),
    ],
)
def test_error_code_per_service(service: str, protocol: str, code: str) -> None:
    assert error_code(protocol, service_model(service).metadata) == code
