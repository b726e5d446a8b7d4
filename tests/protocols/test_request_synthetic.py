"""The request oracle on a synthetic model that uses the traits no model mamori serves does
(querystring maps, jsonvalue headers, header lists of numbers and timestamps, flattened and
renamed maps, XML attributes, labels of other types than string, documents), in every
protocol that can carry them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.model import ServiceModel
from hypothesis import HealthCheck, given, settings

from tests.protocols.strategies import params_strategy
from tests.protocols.test_request_oracle import (
    EXAMPLES,
    RANDOM,
    assert_same,
    expected_params,
    normalize_actual,
    roundtrip,
)

STR = {"type": "string"}
KEY = {"type": "string", "pattern": "^k[a-z]{1,5}$"}  # never one of the named query keys

SHAPES: dict[str, Any] = {
    "Str": STR,
    "Key": KEY,
    "Int": {"type": "integer", "min": -5, "max": 100000},
    "Long": {"type": "long"},
    "Dbl": {"type": "double"},
    "Flt": {"type": "float"},
    "Bool": {"type": "boolean"},
    "Blob": {"type": "blob"},
    "Ts": {"type": "timestamp"},
    "TsIso": {"type": "timestamp", "timestampFormat": "iso8601"},
    "TsEpoch": {"type": "timestamp", "timestampFormat": "unixTimestamp"},
    "TsRfc": {"type": "timestamp", "timestampFormat": "rfc822"},
    "Json": {"type": "string", "jsonvalue": True},
    "Doc": {"type": "structure", "members": {}, "document": True},
    "Enum": {"type": "string", "enum": ["A", "B-c", "d e"]},
    "StrList": {"type": "list", "member": {"shape": "Str"}},
    "IntList": {"type": "list", "member": {"shape": "Int"}},
    "TsList": {"type": "list", "member": {"shape": "Ts"}},
    "FlatList": {"type": "list", "member": {"shape": "Str"}, "flattened": True},
    "NamedList": {"type": "list", "member": {"shape": "Str", "locationName": "item"}},
    "StrMap": {"type": "map", "key": {"shape": "Key"}, "value": {"shape": "Str"}},
    "ListMap": {"type": "map", "key": {"shape": "Key"}, "value": {"shape": "StrList"}},
    "FlatMap": {
        "type": "map",
        "key": {"shape": "Key"},
        "value": {"shape": "Int"},
        "flattened": True,
    },
    "NamedMap": {
        "type": "map",
        "key": {"shape": "Key", "locationName": "Name"},
        "value": {"shape": "Nested", "locationName": "Thing"},
    },
    "Nested": {
        "type": "structure",
        "members": {
            "Kind": {"shape": "Enum", "xmlAttribute": True, "locationName": "kind"},
            "Label": {"shape": "Str", "locationName": "label"},
            "When": {"shape": "TsIso"},
            "Epoch": {"shape": "TsEpoch"},
            "Rfc": {"shape": "TsRfc"},
            "Data": {"shape": "Blob"},
            "Ratio": {"shape": "Flt"},
            "Child": {"shape": "Nested"},
            "Items": {"shape": "NamedList"},
        },
    },
    "Choice": {
        "type": "structure",
        "union": True,
        "members": {
            "Text": {"shape": "Str"},
            "Number": {"shape": "Int"},
            "Deep": {"shape": "Nested"},
        },
    },
}

BODY_MEMBERS = {
    "Nested": {"shape": "Nested"},
    "Flat": {"shape": "FlatList", "locationName": "Entry"},
    "FlatMap": {"shape": "FlatMap"},
    "Things": {"shape": "NamedMap"},
    "Choice": {"shape": "Choice"},
    "Numbers": {"shape": "IntList"},
    "Big": {"shape": "Long"},
    "Precise": {"shape": "Dbl"},
    "On": {"shape": "Bool"},
}

REST_MEMBERS = {
    "Id": {"shape": "Str", "location": "uri", "locationName": "Id"},
    "Count": {"shape": "Int", "location": "uri", "locationName": "Count"},
    "At": {"shape": "Ts", "location": "uri", "locationName": "At"},
    "Path": {"shape": "Str", "location": "uri", "locationName": "Path"},
    "Flag": {"shape": "Bool", "location": "querystring", "locationName": "flag"},
    "Since": {"shape": "Ts", "location": "querystring", "locationName": "since"},
    "Many": {"shape": "StrList", "location": "querystring", "locationName": "many"},
    "Context": {"shape": "Json", "location": "header", "locationName": "X-Context"},
    "Stamps": {"shape": "TsList", "location": "header", "locationName": "X-Stamps"},
    "Ints": {"shape": "IntList", "location": "header", "locationName": "X-Ints"},
    "Words": {"shape": "StrList", "location": "header", "locationName": "X-Words"},
    "Ratio": {"shape": "Dbl", "location": "header", "locationName": "X-Ratio"},
    "Changed": {"shape": "Ts", "location": "header", "locationName": "X-Changed"},
    "Meta": {"shape": "StrMap", "location": "headers", "locationName": "x-meta-"},
}


def model(protocol: str, query_map: str) -> ServiceModel:
    shapes = copy.deepcopy(SHAPES)
    members = dict(BODY_MEMBERS)
    required = ["Nested"]
    uri = "/"
    if protocol in ("rest-json", "rest-xml"):
        members.update(REST_MEMBERS)
        members["Extra"] = {"shape": query_map, "location": "querystring"}
        required += ["Id", "Count", "At", "Path"]
        uri = "/things/{Id}/{Count}/{At}/{Path+}?mode=x"
    if protocol in ("json", "rest-json", "smithy-rpc-v2-cbor"):
        members["Doc"] = {"shape": "Doc"}
    if protocol == "smithy-rpc-v2-cbor":
        members.pop("Doc")  # botocore's CBOR serializer has no document support
    shapes["Input"] = {
        "type": "structure",
        "required": required,
        "members": members,
        "locationName": "Input",
        "xmlNamespace": {"uri": "https://example.com/synth"},
    }
    description = {
        "version": "2.0",
        "metadata": {
            "apiVersion": "2020-01-01",
            "endpointPrefix": "synth",
            "protocol": protocol,
            "protocols": [protocol],
            "serviceId": "Synth",
            "signatureVersion": "v4",
            "uid": "synth-2020-01-01",
            "jsonVersion": "1.1",
            "targetPrefix": "Synth",
        },
        "operations": {
            "Everything": {
                "name": "Everything",
                "http": {"method": "POST", "requestUri": uri},
                "input": {"shape": "Input"},
            }
        },
        "shapes": shapes,
    }
    return ServiceModel(description, service_name=f"synth-{protocol}-{query_map}")


CASES = [
    pytest.param(p, m, id=f"{p}-{m}")
    for p in ("json", "query", "rest-json", "rest-xml", "smithy-rpc-v2-cbor")
    for m in (("StrMap", "ListMap") if p.startswith("rest") else ("StrMap",))
]


@pytest.mark.parametrize(("protocol", "query_map"), CASES)
def test_synthetic_roundtrip(protocol: str, query_map: str) -> None:
    op = model(protocol, query_map).operation_model("Everything")

    @settings(
        max_examples=max(EXAMPLES * 10, 30),
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
