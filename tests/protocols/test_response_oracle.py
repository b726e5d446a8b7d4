"""Response oracle: every output of every operation, in every protocol a service speaks.

hypothesis builds an output dict for the operation's output shape (as a provider would return
it); mamori's serializer writes the HTTP response; botocore's own response parser reads it back
and must return the same dict (plus ``ResponseMetadata``). The helpers here are shared with
``test_error_oracle.py``.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import os
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.handlers import parse_get_bucket_location
from botocore.model import OperationModel, Shape
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.protocols.base import HttpResponse
from mamori.protocols.serializers import SERIALIZERS
from mamori.service_models import SERVICES, protocols_of, service_model
from tests.protocols.strategies import shape_strategy

XML_PROTOCOLS = frozenset({"query", "rest-xml"})
REST_PROTOCOLS = frozenset({"rest-json", "rest-xml"})
REQUEST_ID = "c0ffee00-1234-4bcd-9876-0123456789ab"
# MAMORI_ORACLE_EXAMPLES=50 for a deeper (slower) search than the default quick pass.
ORACLE_SETTINGS = settings(
    max_examples=int(os.environ.get("MAMORI_ORACLE_EXAMPLES", "4")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

_serializers: dict[str, Any] = {}
_parsers: dict[str, Any] = {}


def serializer(protocol: str) -> Any:
    if protocol not in _serializers:
        _serializers[protocol] = SERIALIZERS[protocol]()
    return _serializers[protocol]


def parser(protocol: str) -> Any:
    if protocol not in _parsers:
        _parsers[protocol] = create_parser(protocol)
    return _parsers[protocol]


def service_protocols() -> list[tuple[str, str]]:
    return [(name, p) for name in SERVICES for p in protocols_of(service_model(name))]


class RawStream:
    """What botocore's EventStream reads (urllib3's response has the same ``stream()``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, amt: int = 1024):
        for start in range(0, len(self._data), 97):
            yield self._data[start : start + 97]

    def read(self, amt: int | None = None) -> bytes:
        data, self._data = (
            (self._data, b"") if amt is None else (self._data[:amt], self._data[amt:])
        )
        return data

    def close(self) -> None:
        pass


def body_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if inspect.isasyncgen(body) or hasattr(body, "__aiter__"):

        async def drain() -> bytes:
            return b"".join([chunk async for chunk in body])

        return asyncio.run(drain())
    return b"".join(body)


def to_response_dict(
    response: HttpResponse, operation: OperationModel | None, *, error: bool = False
) -> dict[str, Any]:
    """The dict botocore's endpoint hands its parser (see ``convert_to_response_dict``)."""
    data = body_bytes(response.body)
    body: Any = data
    if not error and operation is not None and response.status < 300:
        if operation.has_event_stream_output:
            body = RawStream(data)
        elif operation.has_streaming_output:
            body = StreamingBody(io.BytesIO(data), len(data))
    return {
        "status_code": response.status,
        "headers": HeadersDict(response.headers),
        "body": body,
        "context": {"operation_name": operation.name if operation else ""},
    }


def _xml_name(name: str, member: Shape) -> str:
    if member.type_name == "list" and member.serialization.get("flattened"):
        return member.member.serialization.get("name") or member.serialization.get("name", name)
    return member.serialization.get("name", name)


def _shared_xml_names(shape: Shape) -> set[str]:
    """Members whose XML element name another member also uses (e.g. S3's TopicConfiguration
    ``Event`` and flattened ``Events`` both are ``<Event>``): the XML cannot tell them apart, and
    botocore fills both from the same elements, so they are left out of the comparison."""
    seen: dict[str, list[str]] = {}
    for name, member in shape.members.items():
        if member.serialization.get("location") or member.serialization.get("xmlAttribute"):
            continue
        seen.setdefault(_xml_name(name, member), []).append(name)
    return {name for names in seen.values() if len(names) > 1 for name in names}


def normalize(shape: Shape, value: Any, protocol: str) -> Any:
    """A value in comparable form, shape-driven; drops only what the wire cannot tell apart."""
    if value is None:
        return None
    type_name = shape.type_name
    if type_name == "structure":
        if shape.is_document_type:
            return value
        out = {}
        shared = _shared_xml_names(shape) if protocol in XML_PROTOCOLS else ()
        for name, member in shape.members.items():
            item = value.get(name)
            if item is None or name in shared:
                continue
            item = normalize(member, item, protocol)
            if (
                protocol in XML_PROTOCOLS
                and member.serialization.get("flattened")
                and member.type_name in ("list", "map")
                and not item
            ):
                continue  # an empty flattened list/map has no element at all
            out[name] = item
        return out
    if type_name == "list":
        return [normalize(shape.member, item, protocol) for item in value]
    if type_name == "map":
        return {k: normalize(shape.value, v, protocol) for k, v in value.items()}
    if type_name == "timestamp":
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if type_name in ("float", "double"):
        return float(value)
    if type_name == "blob":
        if hasattr(value, "read"):
            return value.read()
        return value.encode() if isinstance(value, str) else bytes(value)
    return value


# --------------------------------------------------------------------------- output oracle


def _cases() -> list[Any]:
    cases = []
    for name, protocol in service_protocols():
        model = service_model(name)
        for op in model.operation_names:
            cases.append(pytest.param(name, op, protocol, id=f"{name}-{protocol}-{op}"))
    return cases


def _event_strategy(stream_shape: Shape, protocol: str) -> st.SearchStrategy[list[dict]]:
    events = [
        st.builds(lambda v, n=name: {n: v}, shape_strategy(member, protocol=protocol))
        for name, member in stream_shape.members.items()
        if not member.metadata.get("exception")
    ]
    return st.lists(st.one_of(events), max_size=3)


def output_strategy(operation: OperationModel, protocol: str) -> st.SearchStrategy[dict]:
    shape = operation.output_shape
    if shape is None:
        return st.just({})
    base = shape_strategy(shape, protocol=protocol)
    status_members = [
        name
        for name, member in shape.members.items()
        if member.serialization.get("location") == "statusCode"
    ]
    if status_members:
        # A statusCode member is the HTTP status itself: only a success status parses as output.
        statuses = st.sampled_from([200, 201, 202])
        base = st.tuples(base, statuses).map(
            lambda pair: {**pair[0], **dict.fromkeys(status_members, pair[1])}
        )
    stream = shape.event_stream_name
    if not stream:
        return base
    events = _event_strategy(shape.members[stream], protocol)
    return st.tuples(base, events).map(lambda pair: {**pair[0], stream: pair[1]})


def _expected_event(stream_shape: Shape, event: dict, protocol: str) -> dict:
    """An event as botocore reads it back: an absent event payload reads as empty."""
    expected = normalize(stream_shape, event, protocol)
    for name, value in expected.items():
        member = stream_shape.members[name]
        for member_name, inner in member.members.items():
            if inner.serialization.get("eventpayload") and member_name not in value:
                empty = {"blob": b"", "string": "", "structure": {}}
                value[member_name] = empty.get(inner.type_name)
    return expected


def expected_output(
    operation: OperationModel, output: dict, protocol: str, response: HttpResponse
) -> dict:
    shape = operation.output_shape
    status, response_headers = response.status, HeadersDict(response.headers)
    stream = shape.event_stream_name
    expected = normalize(shape, {k: v for k, v in output.items() if k != stream}, protocol)
    if stream:
        stream_shape = shape.members[stream]
        expected[stream] = [
            _expected_event(stream_shape, event, protocol) for event in output[stream]
        ]
    for name, member in shape.members.items():
        traits = member.serialization
        # Content-Type is always on the wire; absent from the output, it reads back as the
        # serializer's default for the body.
        if (
            traits.get("location") == "header"
            and traits.get("name", "").lower() == "content-type"
            and name not in expected
            and "Content-Type" in response_headers
        ):
            expected[name] = response_headers["Content-Type"]
    if protocol in REST_PROTOCOLS:
        payload = shape.serialization.get("payload")
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            if location == "statusCode":
                expected.setdefault(name, status)
            elif location == "headers":
                expected.setdefault(name, {})
        if payload and payload not in expected and payload != stream:
            member = shape.members[payload]
            if member.type_name == "structure":
                expected[payload] = {}
            elif member.type_name == "string" or not operation.has_streaming_output:
                expected[payload] = ""
            else:
                expected[payload] = b""
    return expected


def actual_output(operation: OperationModel, parsed: dict, protocol: str) -> dict:
    shape = operation.output_shape
    stream = shape.event_stream_name
    events = parsed.pop(stream, None)
    actual = normalize(shape, parsed, protocol)
    if stream:
        stream_shape = shape.members[stream]
        actual[stream] = [normalize(stream_shape, event, protocol) for event in events]
    return actual


def check_metadata(metadata: dict, protocol: str) -> None:
    assert metadata["RequestId"] == REQUEST_ID
    if protocol == "rest-xml":
        assert metadata["HostId"]


# Outputs their model cannot describe, which botocore completes with an after-call handler
# (its clients always run it): S3 GetBucketLocation's body is a bare <LocationConstraint>.
AFTER_CALL = {("s3", "GetBucketLocation"): parse_get_bucket_location}


@pytest.mark.parametrize(("service", "operation", "protocol"), _cases())
def test_output_round_trips(service: str, operation: str, protocol: str) -> None:
    op = service_model(service).operation_model(operation)

    @ORACLE_SETTINGS
    @given(output_strategy(op, protocol))
    def check(output: dict) -> None:
        response = serializer(protocol).serialize(op, output, REQUEST_ID)
        parsed = parser(protocol).parse(to_response_dict(response, op), op.output_shape)
        after_call = AFTER_CALL.get((service, operation))
        if after_call is not None:
            raw = RawStream(body_bytes(response.body))
            after_call(parsed, AWSResponse("", response.status, response.headers, raw))
        if op.output_shape is None:
            # botocore reads no metadata without an output shape for some protocols.
            assert response.headers.get("x-amzn-RequestId", REQUEST_ID) == REQUEST_ID
            assert parsed["ResponseMetadata"].get("RequestId", REQUEST_ID) == REQUEST_ID
            return
        stream = op.output_shape.event_stream_name
        if not stream:
            check_metadata(parsed.pop("ResponseMetadata"), protocol)
        elif protocol not in REST_PROTOCOLS:
            parsed.pop("ResponseMetadata", None)
            assert response.headers["x-amzn-RequestId"] == REQUEST_ID
        else:
            check_metadata(parsed.pop("ResponseMetadata"), protocol)
        expected = expected_output(op, output, protocol, response)
        assert actual_output(op, parsed, protocol) == expected

    check()


# --------------------------------------------------------------------------- specific behaviours


def _parse(service: str, protocol: str, operation: str, output: dict) -> tuple[HttpResponse, dict]:
    op = service_model(service).operation_model(operation)
    response = serializer(protocol).serialize(op, output, REQUEST_ID)
    return response, parser(protocol).parse(to_response_dict(response, op), op.output_shape)


WHEN = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
TIMESTAMP_FORMS = [
    WHEN,
    WHEN.replace(tzinfo=None),  # naive means UTC
    WHEN.astimezone(timezone(timedelta(hours=5))),
    WHEN.timestamp(),
    "2024-01-02T03:04:05.678Z",
    "2024-01-02T05:04:05.678+02:00",
]


@pytest.mark.parametrize("value", TIMESTAMP_FORMS, ids=repr)
@pytest.mark.parametrize(
    ("service", "protocol", "operation", "path"),
    [
        ("kms", "json", "DescribeKey", ("KeyMetadata", "CreationDate")),
        ("sts", "query", "AssumeRole", ("Credentials", "Expiration")),
        (
            "cloudwatch",
            "smithy-rpc-v2-cbor",
            "ListDashboards",
            ("DashboardEntries", 0, "LastModified"),
        ),
        ("guardduty", "rest-json", "GetMalwareScan", ("ScanStartedAt",)),
        ("s3", "rest-xml", "ListObjectsV2", ("Contents", 0, "LastModified")),
    ],
)
def test_timestamps_in_any_form(
    service: str, protocol: str, operation: str, path: tuple, value: Any
) -> None:
    output: Any = value
    for key in reversed(path):
        output = [output] if key == 0 else {key: output}
    _, parsed = _parse(service, protocol, operation, output)
    for key in path:
        parsed = parsed[key]
    assert parsed == WHEN


def test_epoch_int_timestamp_in_header() -> None:
    _, parsed = _parse("s3", "rest-xml", "HeadObject", {"LastModified": int(WHEN.timestamp())})
    assert parsed["LastModified"] == WHEN.replace(microsecond=0)


def test_xml_text_and_attributes_are_escaped() -> None:
    tricky = "a<b>&c\"d'e\r\nf\tg ]]> ünï 😀"
    _, parsed = _parse("sts", "query", "GetCallerIdentity", {"Arn": tricky, "UserId": ""})
    assert parsed["Arn"] == tricky
    assert parsed["UserId"] == ""
    grants = [{"Grantee": {"Type": tricky, "ID": tricky}, "Permission": "READ"}]
    _, parsed = _parse("s3", "rest-xml", "GetBucketAcl", {"Grants": grants})
    assert parsed["Grants"] == grants


def test_characters_xml_cannot_carry_still_give_a_well_formed_document() -> None:
    # C0 controls, U+FFFE/U+FFFF and lone surrogates have no XML 1.0 form, not even as
    # references: they become U+FFFD and the rest of the document is intact.
    value = "x\x00y\x1bz\ufffe\udc80!"
    _, parsed = _parse("sts", "query", "GetCallerIdentity", {"Arn": value, "Account": "1"})
    assert parsed["Arn"] == "x\ufffdy\ufffdz\ufffd\ufffd!"
    assert parsed["Account"] == "1"
    _, parsed = _parse("kms", "json", "DescribeKey", {"KeyMetadata": {"KeyId": value}})
    assert parsed["KeyMetadata"]["KeyId"] == value  # JSON escapes them all


def test_unknown_keys_and_none_members_are_left_out() -> None:
    output = {"KeyId": "k", "Plaintext": None, "Extra": object(), "KeyMaterialId": None}
    response, _ = _parse("kms", "json", "Decrypt", output)
    assert response.body == b'{"KeyId":"k"}'
    assert response.headers["Content-Type"] == "application/x-amz-json-1.1"
    response, _ = _parse("sqs", "json", "GetQueueUrl", {"QueueUrl": "u"})
    assert response.headers["Content-Type"] == "application/x-amz-json-1.0"


def test_streaming_payload_is_passed_through() -> None:
    op = service_model("s3").operation_model("GetObject")
    chunks = iter([b"hello ", b"world"])
    response = serializer("rest-xml").serialize(op, {"Body": chunks, "ContentLength": 11}, "r")
    assert response.body is chunks
    assert response.headers["Content-Length"] == "11"

    async def agen():
        yield b"a"
        yield b"b"

    stream = agen()
    response = serializer("rest-xml").serialize(op, {"Body": stream}, "r")
    assert response.body is stream
    assert body_bytes(response.body) == b"ab"
    response = serializer("rest-xml").serialize(op, {"Body": io.BytesIO(b"file")}, "r")
    assert body_bytes(response.body) == b"file"
    lam = service_model("lambda").operation_model("Invoke")
    response = serializer("rest-json").serialize(lam, {"Payload": b"{}", "StatusCode": 200}, "r")
    assert response.body == b"{}"


def test_query_document_shape() -> None:
    response, _ = _parse("sts", "query", "GetCallerIdentity", {"Account": "0"})
    assert response.headers["Content-Type"] == "text/xml"
    assert response.headers["x-amzn-RequestId"] == REQUEST_ID
    assert response.body.decode() == (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        "<GetCallerIdentityResult><Account>0</Account></GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{REQUEST_ID}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    )


def test_rest_xml_document_shape() -> None:
    s3_ns = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
    response, _ = _parse(
        "s3", "rest-xml", "GetBucketTagging", {"TagSet": [{"Key": "k", "Value": "v"}]}
    )
    body = response.body.decode()
    assert body.startswith(f'<?xml version="1.0" encoding="UTF-8"?>\n<Tagging {s3_ns}>')
    assert "<TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet>" in body
    assert response.headers["x-amz-request-id"] == REQUEST_ID
    assert response.headers["x-amz-id-2"]
    response, _ = _parse(
        "s3",
        "rest-xml",
        "GetBucketEncryption",
        {"ServerSideEncryptionConfiguration": {"Rules": []}},
    )
    assert f"<ServerSideEncryptionConfiguration {s3_ns}>" in response.body.decode()
    response, parsed = _parse(
        "s3", "rest-xml", "HeadObject", {"ContentLength": 3, "Metadata": {"a": "b"}}
    )
    assert response.body == b""
    assert response.headers["x-amz-meta-a"] == "b"
    assert parsed["Metadata"] == {"a": "b"}
