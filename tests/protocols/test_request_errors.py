"""Bad requests get the service's own error, per protocol; and a few protocol details the
oracle does not reach (streams, namespaces, leniency)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import cbor2
import pytest

from mamori.errors import AwsError
from mamori.protocols.base import HttpRequest
from mamori.protocols.parsers import PARSERS
from mamori.protocols.parsers.rest import split_header_list
from mamori.protocols.parsers.rest_xml import MALFORMED_XML
from mamori.protocols.uri import UriTemplate
from mamori.service_models import service_model


def op(service: str, name: str):
    return service_model(service).operation_model(name)


def parse(protocol: str, operation, request: HttpRequest, uri_params=None) -> dict:
    return PARSERS[protocol]().parse(request, operation, uri_params or {})


def json_request(body: bytes | str) -> HttpRequest:
    if isinstance(body, str):
        body = body.encode()
    return HttpRequest(
        "POST", "/", headers={"content-type": "application/x-amz-json-1.1"}, body=body
    )


def raises(code: str, fn, *args) -> AwsError:
    with pytest.raises(AwsError) as info:
        fn(*args)
    assert info.value.code == code, (info.value.code, info.value.message)
    assert info.value.status == 400
    return info.value


# --- json ----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{", b"not json", b"[1, 2]", b'"key"', b"\xff\xfe", b"1"])
def test_json_malformed_body(body: bytes) -> None:
    raises("SerializationException", parse, "json", op("kms", "DescribeKey"), json_request(body))


def test_json_empty_body_is_empty_object() -> None:
    assert parse("json", op("kms", "ListKeys"), json_request(b"")) == {}
    err = raises("ValidationException", parse, "json", op("kms", "DescribeKey"), json_request(b""))
    assert err.message == (
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: "
        "Member must not be null"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"NumberOfBytes": "12"},
        {"NumberOfBytes": 1.5},
        {"NumberOfBytes": True},
        {"NumberOfBytes": [1]},
        {"Recipient": "x"},
    ],
)
def test_json_wrong_types(body: dict) -> None:
    raises(
        "SerializationException",
        parse,
        "json",
        op("kms", "GenerateRandom"),
        json_request(json.dumps(body)),
    )


def test_json_bad_base64_blob() -> None:
    raises(
        "SerializationException",
        parse,
        "json",
        op("kms", "Encrypt"),
        json_request('{"KeyId": "k", "Plaintext": "!!not base64!!"}'),
    )


def test_json_values() -> None:
    params = parse(
        "json",
        op("cloudtrail", "LookupEvents"),
        json_request(
            '{"StartTime": 1700000000.5, "EndTime": 1700000001, "MaxResults": 5,'
            ' "Unknown": 1, "NextToken": null}'
        ),
    )
    assert params == {
        "StartTime": datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC),
        "EndTime": datetime(2023, 11, 14, 22, 13, 21, tzinfo=UTC),
        "MaxResults": 5,
    }
    params = parse(
        "json", op("kms", "Encrypt"), json_request('{"KeyId": "k", "Plaintext": "aGk="}')
    )
    assert params == {"KeyId": "k", "Plaintext": b"hi"}


def test_json_enum_and_length_errors() -> None:
    err = raises(
        "ValidationException",
        parse,
        "json",
        op("kms", "CreateKey"),
        json_request('{"KeyUsage": "X", "Description": "' + "d" * 8193 + '"}'),
    )
    assert err.message.startswith("2 validation errors detected: ")
    assert "Value 'X' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum" in (
        err.message
    )
    assert "Member must have length less than or equal to 8192" in err.message


def test_query_compatible_json_uses_query_code() -> None:
    raises("ValidationError", parse, "json", op("cloudwatch", "PutMetricData"), json_request(b"{}"))


# --- cbor ----------------------------------------------------------------------------------


def cbor_request(body: bytes) -> HttpRequest:
    return HttpRequest(
        "POST", "/service/X/operation/Y", headers={"smithy-protocol": "rpc-v2-cbor"}, body=body
    )


@pytest.mark.parametrize("body", [b"\xa1", b"\xff", b"\x82\x01\x02", b"\x61\xff", b"\x1b"])
def test_cbor_malformed(body: bytes) -> None:
    raises(
        "SerializationException",
        parse,
        "smithy-rpc-v2-cbor",
        op("shield", "DescribeProtection"),
        cbor_request(body),
    )


def test_cbor_wrong_types_and_inert_tags() -> None:
    o = op("cloudwatch", "ListMetrics")
    raises(
        "SerializationException",
        parse,
        "smithy-rpc-v2-cbor",
        o,
        cbor_request(cbor2.dumps({"Namespace": 5})),
    )
    # Tag 35 would make cbor2 compile a regular expression; here it stays an inert tag.
    regex = bytes.fromhex("a1694e616d657370616365d8236361")  # {"Namespace": 35("a")}
    raises("SerializationException", parse, "smithy-rpc-v2-cbor", o, cbor_request(regex))


def test_cbor_values() -> None:
    o = op("cloudwatch", "GetMetricStatistics")
    body = cbor2.dumps(
        {
            "Namespace": "ns",
            "MetricName": "m",
            "StartTime": cbor2.CBORTag(1, 1700000000),
            "EndTime": cbor2.CBORTag(1, 1700000000.25),
            "Period": 60,
        }
    )
    assert parse("smithy-rpc-v2-cbor", o, cbor_request(body)) == {
        "Namespace": "ns",
        "MetricName": "m",
        "StartTime": datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        "EndTime": datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=UTC),
        "Period": 60,
    }
    err = raises("ValidationError", parse, "smithy-rpc-v2-cbor", o, cbor_request(b""))
    assert "Value null at 'namespace'" in err.message


# --- query ---------------------------------------------------------------------------------


def form(body: str, query: str = "") -> HttpRequest:
    return HttpRequest(
        "POST",
        "/",
        query_string=query,
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=body.encode(),
    )


def test_query_missing_required_and_pattern() -> None:
    err = raises(
        "ValidationError",
        parse,
        "query",
        op("iam", "CreateUser"),
        form("Action=CreateUser&Version=2010-05-08"),
    )
    assert err.message == (
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: "
        "Member must not be null"
    )
    err = raises(
        "ValidationError",
        parse,
        "query",
        op("iam", "CreateUser"),
        form("Action=CreateUser&UserName=a%20b"),
    )
    assert "Member must satisfy regular expression pattern" in err.message


def test_query_wrong_type() -> None:
    err = raises(
        "ValidationError",
        parse,
        "query",
        op("iam", "ListUsers"),
        form("Action=ListUsers&MaxItems=many"),
    )
    assert err.message == (
        "1 validation error detected: Value 'many' at 'maxItems' failed to satisfy "
        "constraint: Member must be of type integer"
    )


def test_query_get_lists_maps_and_empty_list() -> None:
    request = HttpRequest(
        "GET",
        "/",
        query_string="Action=CreateUser&Version=2010-05-08&UserName=bob"
        "&Tags.member.2.Key=b&Tags.member.2.Value=2&Tags.member.1.Key=a&Tags.member.1.Value=1",
    )
    assert parse("query", op("iam", "CreateUser"), request) == {
        "UserName": "bob",
        "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
    }
    assert parse("query", op("iam", "TagUser"), form("UserName=bob&Tags=")) == {
        "UserName": "bob",
        "Tags": [],
    }
    params = parse(
        "query",
        op("sns", "SetTopicAttributes"),
        form("TopicArn=t&AttributeName=Policy&AttributeValue=%7B%7D"),
    )
    assert params == {"TopicArn": "t", "AttributeName": "Policy", "AttributeValue": "{}"}
    params = parse(
        "query",
        op("sns", "CreateTopic"),
        form(
            "Name=t&Attributes.entry.1.key=A&Attributes.entry.1.value=1"
            "&Attributes.entry.2.key=B&Attributes.entry.2.value="
        ),
    )
    assert params == {"Name": "t", "Attributes": {"A": "1", "B": ""}}


# --- rest-json -----------------------------------------------------------------------------


def test_rest_json_bad_body_and_query_value() -> None:
    o = op("lambda", "CreateAlias")
    uri = {"FunctionName": "f"}
    request = HttpRequest("POST", "/2015-03-31/functions/f/aliases", body=b"{oops")
    raises("SerializationException", parse, "rest-json", o, request, uri)
    o = op("lambda", "ListFunctions")
    request = HttpRequest("GET", "/2015-03-31/functions", query_string="MaxItems=ten")
    err = raises("ValidationException", parse, "rest-json", o, request)
    assert "Value 'ten' at 'maxItems'" in err.message
    request = HttpRequest("GET", "/2015-03-31/functions", query_string="MaxItems=0")
    err = raises("ValidationException", parse, "rest-json", o, request)
    assert "Member must have value greater than or equal to 1" in err.message


def test_rest_json_labels_and_body() -> None:
    o = op("lambda", "CreateAlias")
    request = HttpRequest(
        "POST",
        "/2015-03-31/functions/my-fn/aliases",
        body=json.dumps({"Name": "live", "FunctionVersion": "1"}).encode(),
    )
    uri = UriTemplate.compile(o.http["requestUri"]).match(request.path)
    assert parse("rest-json", o, request, uri) == {
        "FunctionName": "my-fn",
        "Name": "live",
        "FunctionVersion": "1",
    }


def test_rest_json_jsonvalue_header_and_blob_payload() -> None:
    o = op("lambda", "Invoke")
    context = base64.b64encode(b'{"custom":{"a":1}}').decode()
    request = HttpRequest(
        "POST",
        "/2015-03-31/functions/f/invocations",
        headers={"x-amz-client-context": context, "x-amz-invocation-type": "Event"},
        body=b'{"x": 1}',
    )
    params = parse("rest-json", o, request, {"FunctionName": "f"})
    assert params["Payload"] == b'{"x": 1}'
    assert params["InvocationType"] == "Event"
    assert params["ClientContext"] == context  # a plain string member, not jsonvalue


# --- rest-xml (S3) -------------------------------------------------------------------------


def s3(name: str):
    return op("s3", name)


def test_malformed_xml() -> None:
    request = HttpRequest("PUT", "/b", query_string="tagging", body=b"<Tagging><TagSet>")
    err = raises(
        "MalformedXML", parse, "rest-xml", s3("PutBucketTagging"), request, {"Bucket": "b"}
    )
    assert err.message == MALFORMED_XML


def test_xml_entities_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><Tagging><TagSet><Tag><Key>&b;</Key>'
        b"<Value>v</Value></Tag></TagSet></Tagging>"
    )
    request = HttpRequest("PUT", "/b", query_string="tagging", body=bomb)
    raises("MalformedXML", parse, "rest-xml", s3("PutBucketTagging"), request, {"Bucket": "b"})


def test_xml_wrong_value_type_is_malformed() -> None:
    body = (
        b"<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status><Filter/>"
        b"<Expiration><Days>soon</Days></Expiration></Rule></LifecycleConfiguration>"
    )
    request = HttpRequest("PUT", "/b", query_string="lifecycle", body=body)
    raises(
        "MalformedXML",
        parse,
        "rest-xml",
        s3("PutBucketLifecycleConfiguration"),
        request,
        {"Bucket": "b"},
    )


def test_s3_bad_header_and_enum_are_invalid_argument() -> None:
    request = HttpRequest("GET", "/b", query_string="list-type=2&max-keys=lots")
    raises("InvalidArgument", parse, "rest-xml", s3("ListObjectsV2"), request, {"Bucket": "b"})
    request = HttpRequest("PUT", "/b/k", headers={"x-amz-acl": "everyone"})
    err = raises(
        "InvalidArgument", parse, "rest-xml", s3("PutObject"), request, {"Bucket": "b", "Key": "k"}
    )
    assert "at 'aCL'" in err.message or "at 'acl'" in err.message.lower()


def test_xml_namespaces_prefixes_and_attributes_are_handled() -> None:
    body = (
        b'<ns0:AccessControlPolicy xmlns:ns0="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<ns0:Owner><ns0:ID>owner</ns0:ID></ns0:Owner><ns0:AccessControlList>"
        b'<ns0:Grant><ns0:Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        b' xsi:type="CanonicalUser"><ns0:ID>someone</ns0:ID></ns0:Grantee>'
        b"<ns0:Permission>READ</ns0:Permission></ns0:Grant></ns0:AccessControlList>"
        b"</ns0:AccessControlPolicy>"
    )
    request = HttpRequest("PUT", "/b", query_string="acl", body=body)
    params = parse("rest-xml", s3("PutBucketAcl"), request, {"Bucket": "b"})
    assert params["AccessControlPolicy"] == {
        "Owner": {"ID": "owner"},
        "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "someone"}, "Permission": "READ"}],
    }


def test_streaming_body_is_handed_over() -> None:
    async def chunks():
        yield b"data"

    stream = chunks()
    request = HttpRequest(
        "PUT",
        "/b/a/key.txt",
        headers={
            "x-amz-meta-color": "blue",
            "x-amz-meta-size": "L",
            "content-type": "text/plain",
            "expires": "Thu, 01 Jan 2026 00:00:00 GMT",
        },
        stream=stream,
    )
    uri = UriTemplate.compile(s3("PutObject").http["requestUri"]).match(request.path)
    params = parse("rest-xml", s3("PutObject"), request, uri)
    assert params["Body"] is stream
    assert params["Key"] == "a/key.txt"
    assert params["Metadata"] == {"color": "blue", "size": "L"}
    assert params["ContentType"] == "text/plain"
    assert params["Expires"] == datetime(2026, 1, 1, tzinfo=UTC)
    request = HttpRequest("PUT", "/b/k", body=b"bytes")
    assert (
        parse("rest-xml", s3("PutObject"), request, {"Bucket": "b", "Key": "k"})["Body"] == b"bytes"
    )


def test_header_lists() -> None:
    assert split_header_list("a, b,c") == ["a", "b", "c"]
    assert split_header_list('"a,b", "c\\"d",e') == ["a,b", 'c"d', "e"]
    assert split_header_list("") == [""]
    request = HttpRequest(
        "GET",
        "/b",
        query_string="list-type=2",
        headers={"x-amz-optional-object-attributes": "RestoreStatus"},
    )
    params = parse("rest-xml", s3("ListObjectsV2"), request, {"Bucket": "b"})
    assert params["OptionalObjectAttributes"] == ["RestoreStatus"]


def test_every_protocol_has_a_parser() -> None:
    from mamori.protocols import PROTOCOLS, get_parser

    assert set(PARSERS) == set(PROTOCOLS)
    for protocol in PROTOCOLS:
        assert hasattr(get_parser(protocol), "parse")


def test_integer_out_of_range() -> None:
    raises(
        "SerializationException",
        parse,
        "json",
        op("kms", "GenerateRandom"),
        json_request('{"NumberOfBytes": 4294967296}'),
    )
    request = HttpRequest("GET", "/2015-03-31/functions", query_string="MaxItems=4294967296")
    raises("ValidationException", parse, "rest-json", op("lambda", "ListFunctions"), request)


def test_deep_nesting_is_refused_cleanly() -> None:
    # wafv2 statements are recursive (And/Or/Not): nest far beyond any real rule.
    for depth in (400, 3000):
        statement = '{"NotStatement": {"Statement": ' * depth + "{}" + "}}" * depth
        body = (
            '{"Name": "n", "Scope": "REGIONAL", "DefaultAction": {"Allow": {}}, '
            '"VisibilityConfig": {}, "Rules": [{"Statement": ' + statement + "}]}"
        )
        with pytest.raises(AwsError) as info:
            parse("json", op("wafv2", "CreateWebACL"), json_request(body))
        assert info.value.code in ("SerializationException", "ValidationException")
