"""Error oracle: every modelled error of every operation, in every protocol a service speaks.

mamori's ``serialize_error`` writes the error; botocore's parser must report the code AWS gives
(the error shape's ``error.code`` where the model has one, else the shape's name), the message,
the modelled HTTP status and the error shape's extra members; and a real botocore client, its HTTP
layer stubbed with our response, must raise the modelled exception class.
"""

from __future__ import annotations

import copy
import http.client
import json
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.errorfactory import ClientExceptionsFactory
from botocore.exceptions import ClientError
from hypothesis import given

from mamori.errors import AwsError
from mamori.protocols.serializers import error_status
from mamori.service_models import service_model
from tests.protocols.strategies import shape_strategy
from tests.protocols.test_response_oracle import (
    ORACLE_SETTINGS,
    REQUEST_ID,
    XML_PROTOCOLS,
    RawStream,
    body_bytes,
    normalize,
    parser,
    serializer,
    service_protocols,
    to_response_dict,
)

MESSAGE = "Key 'arn:aws:kms:us-east-1:000000000000:key/x' <is> \"pending\" & ünïcødé\ttab"

_exceptions: dict[str, Any] = {}


def exceptions_of(service: str) -> Any:
    if service not in _exceptions:
        factory = ClientExceptionsFactory()
        _exceptions[service] = factory.create_client_exceptions(service_model(service))
    return _exceptions[service]


def expected_status(shape: Any) -> int:
    status = shape.metadata.get("error", {}).get("httpStatusCode")
    if status:
        return int(status)
    return 500 if shape._shape_model.get("fault") else 400


def _operation_cases() -> list[Any]:
    return [
        pytest.param(name, protocol, op, id=f"{name}-{protocol}-{op}")
        for name, protocol in service_protocols()
        for op in service_model(name).operation_names
        if service_model(name).operation_model(op).error_shapes
    ]


@pytest.mark.parametrize(("service", "protocol", "operation"), _operation_cases())
def test_every_modelled_error_of_the_operation(service: str, protocol: str, operation: str) -> None:
    model = service_model(service)
    op = model.operation_model(operation)
    head = op.http.get("method") == "HEAD"
    for shape in op.error_shapes:
        error = AwsError(shape.name, MESSAGE)
        response = serializer(protocol).serialize_error(model, op, error, REQUEST_ID)
        status = expected_status(shape)
        assert response.status == status == error_status(model, error), shape.name
        parsed = parser(protocol).parse(to_response_dict(response, op, error=True), op.output_shape)
        err = parsed["Error"]
        if head:
            # A HEAD answer has no body: every client sees only the status, as with AWS.
            assert err["Code"] == str(status)
            assert err["Message"] == http.client.responses.get(status, "")
            continue
        assert err["Code"] == shape.error_code, shape.name
        assert err["Message"] == MESSAGE
        assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID
        # botocore picks the exception class by code; when two shapes share a code (CloudWatch's
        # DashboardNotFoundError and ResourceNotFound are both "ResourceNotFound") it can only
        # pick one of them, as it does with AWS itself.
        raised = exceptions_of(service).from_code(err["Code"]).__name__
        assert model.shape_for(raised).error_code == shape.error_code, (raised, shape.name)
        # The query code is also how AWS names the error to query-era clients.
        if model.is_query_compatible and protocol != "query":
            kind = "Receiver" if status >= 500 else "Sender"
            assert response.headers["x-amzn-query-error"] == f"{shape.error_code};{kind}"


def _error_shape_cases() -> list[Any]:
    cases = {}
    for name, protocol in service_protocols():
        model = service_model(name)
        for op_name in model.operation_names:
            op = model.operation_model(op_name)
            if op.http.get("method") == "HEAD":
                continue
            for shape in op.error_shapes:
                cases.setdefault(
                    (name, protocol, shape.name),
                    pytest.param(
                        name, protocol, shape.name, op_name, id=f"{name}-{protocol}-{shape.name}"
                    ),
                )
    return list(cases.values())


def _message_member(shape: Any) -> str | None:
    for name in shape.members:
        if name.lower() == "message":
            return name
    return None


@pytest.mark.parametrize(("service", "protocol", "error", "operation"), _error_shape_cases())
def test_error_members_round_trip(service: str, protocol: str, error: str, operation: str) -> None:
    """The error shape's own members (botocore merges them into the parsed response)."""
    model = service_model(service)
    op = model.operation_model(operation)
    shape = model.shape_for(error)
    message_name = _message_member(shape)

    @ORACLE_SETTINGS
    @given(shape_strategy(shape, protocol=protocol))
    def check(fields: dict) -> None:
        message = fields.get(message_name, "") if message_name else MESSAGE
        response = serializer(protocol).serialize_error(
            model, op, AwsError(error, message, fields=fields), REQUEST_ID
        )
        response_dict = to_response_dict(response, op, error=True)
        parsed = parser(protocol).parse(response_dict, op.output_shape)
        assert parsed["Error"]["Code"] == shape.error_code
        # An empty <Message/> element reads back as None in botocore's XML parsers.
        assert (parsed["Error"]["Message"] or "") == message
        modelled = parser(protocol).parse(
            response_dict, model.shape_for_error_code(shape.error_code)
        )
        expected = normalize(shape, fields, protocol)
        if protocol in XML_PROTOCOLS and message_name:
            # XML errors carry the message as <Message>, not as the member's own element.
            expected.pop(message_name, None)
            modelled.pop(message_name, None)
        elif message_name:
            expected[message_name] = message  # always sent, if only empty
        assert normalize(shape, modelled, protocol) == expected

    check()


# --------------------------------------------------------------------------- full client path


def client_for(service: str, protocol: str, respond: Any) -> Any:
    """A botocore client speaking ``protocol``, whose HTTP layer answers with ``respond(op)``."""
    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    original = loader.load_service_model

    def load_service_model(name: str, type_name: str, api_version: str | None = None) -> Any:
        data = original(name, type_name, api_version)
        if name == service and type_name == "service-2":
            data = copy.copy(data)
            data["metadata"] = {**data["metadata"], "protocol": protocol, "protocols": [protocol]}
        return data

    loader.load_service_model = load_service_model
    client = session.create_client(
        service,
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:4566",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert client.meta.service_model.resolved_protocol == protocol

    def before_send(request: Any, **kwargs: Any) -> AWSResponse:
        op_name = kwargs["event_name"].rsplit(".", 1)[-1] if "event_name" in kwargs else None
        response = respond(op_name)
        return AWSResponse(
            request.url, response.status, response.headers, RawStream(body_bytes(response.body))
        )

    client.meta.events.register("before-send", before_send)
    return client


CLIENT_ERRORS = [
    # (service, protocol, operation, params, error shape, code botocore reports)
    ("kms", "json", "Decrypt", {"CiphertextBlob": b"x"}, "NotFoundException", "NotFoundException"),
    (
        "sqs",
        "json",
        "GetQueueUrl",
        {"QueueName": "q"},
        "QueueDoesNotExist",
        "QueueDoesNotExist",
    ),
    (
        "cloudwatch",
        "json",
        "PutDashboard",
        {"DashboardName": "d", "DashboardBody": "{}"},
        "DashboardInvalidInputError",
        "InvalidParameterInput",
    ),
    (
        "cloudwatch",
        "smithy-rpc-v2-cbor",
        "PutDashboard",
        {"DashboardName": "d", "DashboardBody": "{}"},
        "DashboardInvalidInputError",
        "InvalidParameterInput",
    ),
    (
        "cloudwatch",
        "query",
        "PutDashboard",
        {"DashboardName": "d", "DashboardBody": "{}"},
        "DashboardInvalidInputError",
        "InvalidParameterInput",
    ),
    ("iam", "query", "GetRole", {"RoleName": "r"}, "NoSuchEntityException", "NoSuchEntity"),
    (
        "sts",
        "query",
        "AssumeRole",
        {"RoleArn": "arn:aws:iam::000000000000:role/r", "RoleSessionName": "session"},
        "MalformedPolicyDocumentException",
        "MalformedPolicyDocument",
    ),
    (
        "lambda",
        "rest-json",
        "GetFunction",
        {"FunctionName": "f"},
        "ResourceNotFoundException",
        "ResourceNotFoundException",
    ),
    (
        "guardduty",
        "rest-json",
        "GetDetector",
        {"DetectorId": "d"},
        "BadRequestException",
        "BadRequestException",
    ),
    ("s3", "rest-xml", "GetObject", {"Bucket": "b", "Key": "k"}, "NoSuchKey", "NoSuchKey"),
    ("s3", "rest-xml", "HeadObject", {"Bucket": "b", "Key": "k"}, "NoSuchKey", "404"),
    ("shield", "smithy-rpc-v2-cbor", "DescribeProtection", {}, "ResourceNotFoundException", None),
]


@pytest.mark.parametrize(
    ("service", "protocol", "operation", "params", "error", "code"),
    [pytest.param(*case, id=f"{case[0]}-{case[1]}-{case[2]}") for case in CLIENT_ERRORS],
)
def test_client_raises_the_modelled_exception(
    service: str, protocol: str, operation: str, params: dict, error: str, code: str | None
) -> None:
    model = service_model(service)
    op = model.operation_model(operation)

    def respond(_: Any) -> Any:
        return serializer(protocol).serialize_error(model, op, AwsError(error, MESSAGE), REQUEST_ID)

    client = client_for(service, protocol, respond)
    method = getattr(client, botocore.xform_name(operation))
    with pytest.raises(ClientError) as raised:
        method(**params)
    exc = raised.value
    assert type(exc).__name__ == (error if code != "404" else "ClientError")
    assert isinstance(exc, getattr(client.exceptions, error)) or code == "404"
    assert exc.response["Error"]["Code"] == (code or model.shape_for(error).error_code)
    if code != "404":
        assert exc.response["Error"]["Message"] == MESSAGE
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == expected_status(
        model.shape_for(error)
    )
    assert exc.response["ResponseMetadata"]["RequestId"] == REQUEST_ID


WHEN = datetime(2024, 5, 17, 12, 30, 45, 123000, tzinfo=UTC)
CLIENT_OUTPUTS = [
    ("s3", "rest-xml", "GetBucketLocation", {"Bucket": "b"}, {"LocationConstraint": "eu-west-1"}),
    # (service, protocol, operation, params, output): consistent data, since a real client also
    # checks what it can (S3 checksums, content lengths, url-encoded keys).
    (
        "sts",
        "query",
        "GetCallerIdentity",
        {},
        {"UserId": "AIDA<&>", "Account": "000000000000", "Arn": "arn:aws:iam::000000000000:root"},
    ),
    (
        "kms",
        "json",
        "ListKeys",
        {},
        {"Keys": [{"KeyId": "k1", "KeyArn": "arn"}], "Truncated": False},
    ),
    (
        "cloudwatch",
        "smithy-rpc-v2-cbor",
        "ListDashboards",
        {},
        {"DashboardEntries": [{"DashboardName": "d", "LastModified": WHEN, "Size": 12}]},
    ),
    (
        "cloudwatch",
        "json",
        "ListDashboards",
        {},
        {"DashboardEntries": [{"DashboardName": "d", "LastModified": WHEN, "Size": 12}]},
    ),
    (
        "cloudwatch",
        "query",
        "ListDashboards",
        {},
        {"DashboardEntries": [{"DashboardName": "d", "LastModified": WHEN, "Size": 12}]},
    ),
    (
        "lambda",
        "rest-json",
        "GetFunction",
        {"FunctionName": "f"},
        {"Configuration": {"FunctionName": "f", "MemorySize": 128}, "Tags": {"a": "b"}},
    ),
    (
        "s3",
        "rest-xml",
        "GetObject",
        {"Bucket": "b", "Key": "k"},
        {
            "Body": b"hello world",
            "ContentLength": 11,
            "ContentType": "text/plain",
            "LastModified": WHEN.replace(microsecond=0),
            "Metadata": {"owner": "me"},
            "ETag": '"5eb63bbbe01eeed093cb22bb8f5acdc3"',
        },
    ),
    (
        "s3",
        "rest-xml",
        "ListObjectsV2",
        {"Bucket": "b"},
        {
            "Name": "b",
            "KeyCount": 2,
            "IsTruncated": False,
            "Contents": [
                {"Key": "a & b <c>", "Size": 3, "LastModified": WHEN},
                {"Key": "d", "Size": 0, "LastModified": WHEN, "StorageClass": "STANDARD"},
            ],
        },
    ),
    (
        "s3",
        "rest-xml",
        "GetBucketAcl",
        {"Bucket": "b"},
        {
            "Owner": {"ID": "o"},
            "Grants": [
                {
                    "Grantee": {"Type": "CanonicalUser", "ID": "o"},
                    "Permission": "FULL_CONTROL",
                }
            ],
        },
    ),
]


@pytest.mark.parametrize(
    ("service", "protocol", "operation", "params", "output"),
    [pytest.param(*case, id=f"{case[0]}-{case[1]}-{case[2]}") for case in CLIENT_OUTPUTS],
)
def test_client_reads_our_output(
    service: str, protocol: str, operation: str, params: dict, output: dict
) -> None:
    op = service_model(service).operation_model(operation)
    response = serializer(protocol).serialize(op, output, REQUEST_ID)
    client = client_for(service, protocol, lambda _: response)
    result = getattr(client, botocore.xform_name(operation))(**params)
    assert result["ResponseMetadata"]["RequestId"] == REQUEST_ID
    for name, value in output.items():
        member = op.output_shape.members[name]
        if member.type_name == "blob" and op.has_streaming_output:
            assert result[name].read() == value
        else:
            assert normalize(member, result[name], protocol) == normalize(member, value, protocol)


# --------------------------------------------------------------------------- specific behaviours


def test_legacy_query_code_given_by_the_provider() -> None:
    """SQS's model has no ``error.code``s, yet AWS answers QueueDoesNotExist with the query code
    AWS.SimpleQueueService.NonExistentQueue; a provider passes it as the header, and botocore
    reports that code while still raising QueueDoesNotExist."""
    model = service_model("sqs")
    op = model.operation_model("GetQueueUrl")
    legacy = "AWS.SimpleQueueService.NonExistentQueue"
    error = AwsError(
        "QueueDoesNotExist", "gone", headers={"x-amzn-query-error": f"{legacy};Sender"}
    )

    def respond(_: Any) -> Any:
        return serializer("json").serialize_error(model, op, error, REQUEST_ID)

    client = client_for("sqs", "json", respond)
    with pytest.raises(client.exceptions.QueueDoesNotExist) as raised:
        client.get_queue_url(QueueName="q")
    assert raised.value.response["Error"]["Code"] == legacy
    assert raised.value.response["Error"]["QueryErrorCode"] == "QueueDoesNotExist"
    assert raised.value.response["Error"]["Type"] == "Sender"


def test_unmodelled_errors_keep_their_code() -> None:
    kms = service_model("kms")
    error = AwsError("ValidationException", "1 validation error detected")
    for protocol, service in (("json", kms), ("query", service_model("iam"))):
        response = serializer(protocol).serialize_error(service, None, error, REQUEST_ID)
        assert response.status == 400
        parsed = parser(protocol).parse(to_response_dict(response, None, error=True), None)
        assert parsed["Error"]["Code"] == "ValidationException"
        assert parsed["Error"]["Message"] == "1 validation error detected"


def test_error_status_rules() -> None:
    kms, s3 = service_model("kms"), service_model("s3")
    assert error_status(kms, AwsError("NotFoundException")) == 400  # no httpStatusCode: 400
    assert error_status(kms, AwsError("KMSInternalException")) == 500  # the shape's fault trait
    assert error_status(kms, AwsError("Whatever", sender_fault=False)) == 500
    assert error_status(kms, AwsError("NotFoundException", status=404)) == 404
    assert error_status(s3, AwsError("NoSuchKey")) == 404
    # IAM's query code finds the same shape as its name.
    iam = service_model("iam")
    assert error_status(iam, AwsError("NoSuchEntity")) == 404
    assert error_status(iam, AwsError("NoSuchEntityException")) == 404
    response = serializer("query").serialize_error(iam, None, AwsError("NoSuchEntity", "x"), "r")
    assert b"<Code>NoSuchEntity</Code>" in response.body
    assert b"<Type>Sender</Type>" in response.body


def test_error_documents() -> None:
    s3 = service_model("s3")
    op = s3.operation_model("GetObject")
    error = AwsError("NoSuchKey", "The specified key does not exist.", fields={"Key": "a<b"})
    response = serializer("rest-xml").serialize_error(s3, op, error, "req")
    assert response.headers["Content-Type"] == "application/xml"
    assert response.body.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
        "<Message>The specified key does not exist.</Message><Key>a&lt;b</Key>"
        f"<RequestId>req</RequestId><HostId>{response.headers['x-amz-id-2']}</HostId></Error>"
    )
    gd = service_model("guardduty")
    response = serializer("rest-json").serialize_error(
        gd, None, AwsError("BadRequestException", "bad", fields={"Type": "t"}), "req"
    )
    assert response.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert json.loads(response.body) == {"message": "bad", "type": "t"}
    cw = service_model("cloudwatch")
    response = serializer("smithy-rpc-v2-cbor").serialize_error(
        cw, None, AwsError("DashboardNotFoundError", "no"), "req"
    )
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert response.headers["x-amzn-query-error"] == "ResourceNotFound;Sender"
    assert response.status == 404
