"""botocore's service models: the specification every layer is driven by."""

from __future__ import annotations

from functools import cache

from botocore.loaders import Loader
from botocore.model import ServiceModel

# The services mamori serves (botocore model names).
SERVICES = (
    "kms",
    "sts",
    "iam",
    "cognito-idp",
    "cognito-identity",
    "cloudtrail",
    "config",
    "cloudwatch",
    "logs",
    "events",
    "guardduty",
    "inspector2",
    "inspector-scan",
    "wafv2",
    "shield",
    "s3",
    "sns",
    "sqs",
    "lambda",
    "organizations",
)

_loader = Loader()


@cache
def service_model(name: str) -> ServiceModel:
    return ServiceModel(_loader.load_service_model(name, "service-2"), service_name=name)


def protocols_of(model: ServiceModel) -> list[str]:
    return list(model.metadata.get("protocols") or [model.metadata["protocol"]])
