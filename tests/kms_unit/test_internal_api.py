"""The internal API other services (S3) use: data keys via a service, authorized for the caller
with kms:ViaService, against an in-process runtime."""

from __future__ import annotations

import uuid

import pytest

from mamori.config import Settings
from mamori.errors import AwsError
from mamori.gateway.context import RequestContext
from mamori.iam.principals import Principal, root_principal
from mamori.protocols.base import HttpRequest
from mamori.runtime import Runtime
from mamori.service_models import service_model
from mamori.services.kms import api


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    rt = Runtime(Settings(data_dir=tmp_path_factory.mktemp("kms-api") / "data"))
    yield rt
    rt.close()


def s3_ctx(runtime, principal: Principal | None = None) -> RequestContext:
    return RequestContext(
        runtime,
        HttpRequest(method="PUT", path="/bucket/key", source_ip="127.0.0.1"),
        service_model("s3").operation_model("PutObject"),
        region="us-east-1",
        principal=principal or root_principal("000000000000", None),
        request_id=str(uuid.uuid4()),
        now=runtime.clock.now(),
        protocol="rest-xml",
    )


def commit(ctx) -> None:
    ctx.finish(commit=True)


def test_default_service_key_and_data_keys_via_s3(runtime):
    ctx = s3_ctx(runtime)
    arn = api.default_service_key(ctx, "s3")
    commit(ctx)
    ctx = s3_ctx(runtime)
    assert api.default_service_key(ctx, "s3") == arn
    commit(ctx)
    context = {"aws:s3:arn": "arn:aws:s3:::bucket/key"}
    ctx = s3_ctx(runtime)
    plaintext, blob, key_arn = api.generate_data_key(ctx, "alias/aws/s3", context, via_service="s3")
    assert key_arn == arn and len(plaintext) == 32
    assert api.decrypt(s3_ctx(runtime), blob, context, via_service="s3") == (plaintext, arn)
    with pytest.raises(AwsError) as error:
        api.decrypt(s3_ctx(runtime), blob, {"aws:s3:arn": "other"}, via_service="s3")
    assert error.value.code == "InvalidCiphertextException"
    # The aws/s3 key's policy allows use only via S3.
    with pytest.raises(AwsError) as error:
        api.generate_data_key(s3_ctx(runtime), "alias/aws/s3", context, via_service="ec2")
    assert error.value.code == "AccessDenied"


def test_errors_are_the_api_errors(runtime):
    with pytest.raises(AwsError) as error:
        api.generate_data_key(s3_ctx(runtime), str(uuid.uuid4()), {}, via_service="s3")
    assert error.value.code == "NotFoundException"
