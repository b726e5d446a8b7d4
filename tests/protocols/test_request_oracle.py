"""botocore is the oracle for our request parsers.

For every operation of every service mamori serves, in every protocol its model lists:
hypothesis-generated params -> botocore's own serializer (with its validation) -> the HTTP
request botocore would send -> our parser -> must equal the params again.

``MAMORI_ORACLE_EXAMPLES`` (default 3) sets the examples per case; the generation is
derandomized so the suite is reproducible. Set ``MAMORI_ORACLE_RANDOM=1`` to explore.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.model import OperationModel, Shape
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings

from mamori.protocols.base import HttpRequest
from mamori.protocols.parsers import PARSERS
from mamori.protocols.uri import UriTemplate
from mamori.service_models import SERVICES, protocols_of, service_model
from tests.protocols.strategies import params_strategy

ENDPOINT = "http://127.0.0.1:4566"
EXAMPLES = int(os.environ.get("MAMORI_ORACLE_EXAMPLES", "3"))
RANDOM = os.environ.get("MAMORI_ORACLE_RANDOM") == "1"
REST = ("rest-json", "rest-xml")


def _cases() -> list[Any]:
    cases = []
    for name in SERVICES:
        model = service_model(name)
        for protocol in protocols_of(model):
            for op in model.operation_names:
                cases.append(pytest.param(name, op, protocol, id=f"{name}-{protocol}-{op}"))
    return cases


@cache
def _parser(protocol: str) -> Any:
    return PARSERS[protocol]()


@cache
def _serializer(protocol: str) -> Any:
    return create_serializer(protocol, include_validation=True)


def to_http_request(request_dict: dict[str, Any]) -> HttpRequest:
    """What the gateway would hand the parser for the request botocore sends."""
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)
    prepared = create_request_object(request_dict).prepare()
    url = urlsplit(prepared.url)
    body = prepared.body
    if body is None:
        body = b""
    elif isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, bytes):
        body = body.read()
    headers = {
        k.lower(): v.decode("latin-1") if isinstance(v, bytes) else v
        for k, v in prepared.headers.items()
    }
    return HttpRequest(
        method=prepared.method,
        path=url.path,
        query_string=url.query,
        headers=headers,
        body=body,
    )


def roundtrip(op: OperationModel, protocol: str, params: dict[str, Any]) -> dict[str, Any]:
    request_dict = _serializer(protocol).serialize_to_request(params, op)
    request = to_http_request(request_dict)
    uri_params: dict[str, str] = {}
    if protocol in REST:
        template = UriTemplate.compile(op.http["requestUri"])
        matched = template.match(request.path)
        assert matched is not None, f"{op.http['requestUri']} does not match {request.path}"
        assert template.query_matches(request.query), (template.required_query, request.query)
        uri_params = matched
    return _parser(protocol).parse(request, op, uri_params)


def expected_params(op: OperationModel, protocol: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as the wire can carry them (only what is legitimately lossy is changed)."""
    expected = {k: v for k, v in params.items() if v is not None}
    shape = op.input_shape
    if shape is None or protocol not in REST:
        return expected
    payload = shape.serialization.get("payload")
    if payload:
        member = shape.members[payload]
        streaming = member.serialization.get("streaming")
        if member.type_name in ("blob", "string") and streaming:
            # botocore always sends a body; the parser always hands it over.
            value = expected.get(payload, b"")
            expected[payload] = value.encode() if isinstance(value, str) else value
        elif (
            member.type_name in ("blob", "string")
            and not expected.get(payload)
            and payload not in shape.required_members
        ):
            # An empty optional payload is no body at all.
            expected.pop(payload, None)
    return expected


def normalize_actual(op: OperationModel, protocol: str, actual: dict[str, Any], params) -> dict:
    shape = op.input_shape
    if shape is None or protocol not in REST:
        return actual
    for name, member in shape.members.items():
        ser = member.serialization
        if (
            ser.get("location") == "header"
            and ser.get("name", "").lower() == "content-length"
            and name not in params
        ):
            # The HTTP layer adds Content-Length to every body; the member picks it up.
            assert isinstance(actual.pop(name, 0), int)
    if protocol != "rest-json":
        return actual
    payload = shape.serialization.get("payload")
    if payload and payload not in params and actual.get(payload) == {}:
        # botocore sends "{}" for an absent structure payload in rest-json.
        actual = {k: v for k, v in actual.items() if k != payload}
    return actual


def assert_same(expected: Any, actual: Any, shape: Shape | None, path: str = "") -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        assert expected.keys() == actual.keys(), (path, sorted(expected), sorted(actual))
        for k in expected:
            assert_same(expected[k], actual[k], None, f"{path}.{k}")
    elif isinstance(expected, list) and isinstance(actual, list):
        assert len(expected) == len(actual), (path, expected, actual)
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_same(e, a, None, f"{path}[{i}]")
    elif isinstance(expected, datetime):
        assert isinstance(actual, datetime) and actual.tzinfo is not None, (path, actual)
        assert expected == actual, (path, expected, actual)
    elif isinstance(expected, float):
        assert isinstance(actual, float), (path, expected, actual)
        assert expected == actual, (path, expected, actual)
    else:
        assert type(expected) is type(actual), (path, expected, actual)
        assert expected == actual, (path, expected, actual)


@pytest.mark.parametrize(("service", "operation", "protocol"), _cases())
def test_request_roundtrip(service: str, operation: str, protocol: str) -> None:
    op = service_model(service).operation_model(operation)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(params_strategy(op, protocol=protocol))
    def check(params: dict[str, Any]) -> None:
        actual = roundtrip(op, protocol, params)
        actual = normalize_actual(op, protocol, actual, params)
        assert_same(expected_params(op, protocol, params), actual, op.input_shape)

    check()
