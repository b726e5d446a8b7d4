"""Routing oracle: every request botocore builds for an operation is routed to that operation.

For each operation of every service in scope, and each protocol its model lists, botocore's own
serializer builds the request (with generated params) and signs nothing; the router must name
the same service, operation and protocol. S3 is checked path-style and virtual-hosted-style.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from botocore.awsrequest import prepare_request_dict
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings

from mamori.gateway.routing import Router
from mamori.protocols.base import HttpRequest
from mamori.service_models import SERVICES, protocols_of, service_model
from tests.protocols.strategies import params_strategy

ENDPOINT = "http://127.0.0.1:4566"
ROUTER = Router()
CASES = [
    (service, protocol, operation)
    for service in SERVICES
    for protocol in protocols_of(service_model(service))
    for operation in service_model(service).operation_names
]


def to_http_request(request_dict: dict, host_bucket: str | None = None) -> HttpRequest:
    prepare_request_dict(request_dict, ENDPOINT)
    url = request_dict["url"]
    rest = url.split("://", 1)[1]
    host, _, path_and_query = rest.partition("/")
    path, _, query = ("/" + path_and_query).partition("?")
    headers = {k.lower(): str(v) for k, v in request_dict["headers"].items()}
    headers["host"] = host
    if host_bucket is not None:
        # Virtual-hosted style: the bucket moves from the path to the host name.
        prefix = "/" + host_bucket
        assert path.startswith(prefix)
        path = path[len(prefix) :] or "/"
        headers["host"] = f"{host_bucket}.s3.localhost:4566"
    body = request_dict["body"]
    if isinstance(body, dict):  # the query protocol's params, form-encoded on the wire
        body = urlencode(body, doseq=True).encode()
    elif isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = b""
    return HttpRequest(request_dict["method"], path, query, headers, body)


@pytest.mark.parametrize(("service", "protocol", "operation"), CASES)
def test_botocore_request_routes_to_its_operation(service, protocol, operation):
    operation_model = service_model(service).operation_model(operation)

    @settings(
        max_examples=2,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(params_strategy(operation_model, protocol=protocol, max_depth=2))
    def check(params):
        check_routing(service, protocol, operation_model, params)

    check()


def check_routing(service, protocol, operation_model, params):
    model = operation_model.service_model
    operation = operation_model.name
    request_dict = create_serializer(protocol, include_validation=False).serialize_to_request(
        params, operation_model
    )
    request = to_http_request(request_dict)
    if request.headers.get("x-amz-target") is None and protocol not in ("query",):
        # A REST request carries no service name; SigV4's credential scope names it.
        signing = model.metadata.get("signingName") or model.metadata["endpointPrefix"]
        request.headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/{signing}/aws4_request"
        )
    route = ROUTER.route(request)
    assert (route.service.service_name, route.protocol) == (service, protocol)
    if route.operation.name != operation:
        assert indistinguishable(operation_model, route.operation, request), route.operation.name
    bucket = params.get("Bucket")
    if service == "s3" and isinstance(bucket, str) and _virtual_hostable(bucket):
        request_dict = create_serializer(protocol).serialize_to_request(params, operation_model)
        request = to_http_request(request_dict, host_bucket=bucket)
        route = ROUTER.route(request)
        assert route.operation.name == operation or indistinguishable(
            operation_model, route.operation, request
        )
        assert route.uri_params.get("Bucket") == bucket


def indistinguishable(expected, routed, request) -> bool:
    """Two operations no request can tell apart: same method and URI, and nothing in this
    request that only the expected one has (S3's deprecated GetBucketLifecycle and its
    successor; ListBuckets and ListDirectoryBuckets called without parameters)."""
    if (expected.http["method"], expected.http["requestUri"]) != (
        routed.http["method"],
        routed.http["requestUri"],
    ):
        return False
    if expected.deprecated and not routed.deprecated:
        return True
    own_query = {
        m.serialization.get("name", name)
        for name, m in expected.input_shape.members.items()
        if m.serialization.get("location") == "querystring"
    }
    return not own_query & set(request.query)


def _virtual_hostable(bucket: str) -> bool:
    import re

    return bool(re.fullmatch(r"[a-z0-9][a-z0-9\-]{1,61}[a-z0-9]", bucket))
