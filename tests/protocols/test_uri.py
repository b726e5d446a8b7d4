"""UriTemplate: matching raw paths against botocore's requestUri templates."""

from __future__ import annotations

import pytest

from mamori.protocols.uri import UriTemplate
from mamori.service_models import SERVICES, protocols_of, service_model


def test_labels_are_percent_decoded() -> None:
    t = UriTemplate.compile("/2015-03-31/functions/{FunctionName}/invocations")
    assert t.match("/2015-03-31/functions/my%20fn%3Av1/invocations") == {"FunctionName": "my fn:v1"}
    assert t.match("/2015-03-31/functions/a/b/invocations") is None
    assert t.match("/2015-03-31/functions//invocations") is None
    assert t.labels == ("FunctionName",) and t.greedy is None


def test_greedy_label_takes_slashes() -> None:
    t = UriTemplate.compile("/{Bucket}/{Key+}")
    assert t.match("/bucket/a/b%2Fc/d.txt") == {"Bucket": "bucket", "Key": "a/b/c/d.txt"}
    assert t.match("/bucket//leading") == {"Bucket": "bucket", "Key": "/leading"}
    assert t.match("/bucket/dir/") == {"Bucket": "bucket", "Key": "dir/"}
    assert t.match("/bucket/") is None
    assert t.match("/bucket") is None
    assert t.greedy == "Key"


def test_plus_in_path_is_literal() -> None:
    t = UriTemplate.compile("/{Bucket}/{Key+}")
    assert t.match("/b/a+b%2B") == {"Bucket": "b", "Key": "a+b+"}


def test_required_query() -> None:
    assert UriTemplate.compile("/{Bucket}/{Key+}?uploads").required_query == {"uploads": None}
    assert UriTemplate.compile("/{Bucket}/{Key+}?x-id=GetObject").required_query == {
        "x-id": "GetObject"
    }
    t = UriTemplate.compile("/{Bucket}?list-type=2")
    assert t.required_query == {"list-type": "2"}
    assert t.match("/bucket") == {"Bucket": "bucket"}
    assert t.query_matches({"list-type": ["2"], "prefix": ["a"]})
    assert not t.query_matches({"list-type": ["1"]})
    assert not t.query_matches({})


def test_trailing_slash_is_tolerated() -> None:
    t = UriTemplate.compile("/{Bucket}")
    assert t.match("/bucket/") == {"Bucket": "bucket"}
    assert UriTemplate.compile("/").match("/") == {}
    assert UriTemplate.compile("/").match("/x") is None


def test_literals_are_escaped() -> None:
    t = UriTemplate.compile("/v1/{Name}.json")
    assert t.match("/v1/abc.json") == {"Name": "abc"}
    assert t.match("/v1/abcxjson") is None


def test_compile_is_cached() -> None:
    assert UriTemplate.compile("/{A}/b") is UriTemplate.compile("/{A}/b")


def test_specificity_orders_most_specific_first() -> None:
    templates = [
        UriTemplate.compile(u)
        for u in (
            "/{Bucket}/{Key+}",
            "/{Bucket}",
            "/{Bucket}?uploads",
            "/{Bucket}/{Key+}?uploads",
            "/2015-03-31/functions/{FunctionName}",
            "/2015-03-31/functions/{FunctionName}/invocations",
        )
    ]
    ordered = [t.template for t in sorted(templates, key=lambda t: t.specificity)]
    assert ordered.index("/2015-03-31/functions/{FunctionName}/invocations") < ordered.index(
        "/2015-03-31/functions/{FunctionName}"
    )
    assert ordered.index("/{Bucket}?uploads") < ordered.index("/{Bucket}")
    assert ordered.index("/{Bucket}/{Key+}?uploads") < ordered.index("/{Bucket}/{Key+}")
    assert ordered.index("/2015-03-31/functions/{FunctionName}") < ordered.index("/{Bucket}/{Key+}")


def _rest_templates() -> list[tuple[str, str, str]]:
    out = []
    for name in SERVICES:
        model = service_model(name)
        if not {"rest-json", "rest-xml"} & set(protocols_of(model)):
            continue
        for op in model.operation_names:
            http = model.operation_model(op).http
            out.append((name, op, http["requestUri"]))
    return out


@pytest.mark.parametrize(("service", "operation", "uri"), _rest_templates())
def test_every_model_template_compiles(service: str, operation: str, uri: str) -> None:
    t = UriTemplate.compile(uri)
    sample = t.path
    for label in t.labels:
        sample = sample.replace("{" + label + "+}", "x/y").replace("{" + label + "}", "x")
    matched = t.match(sample)
    assert matched is not None
    assert set(matched) == set(t.labels)
