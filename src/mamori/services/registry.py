"""Which operations exist: providers, their methods, and coverage against botocore's models.

A provider is a class with one method per operation, named as boto3 names it in snake_case
(``GetCallerIdentity`` -> ``get_caller_identity``), taking ``(ctx, params)`` and returning the
output dict or raising ``AwsError``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore import xform_name

from mamori.service_models import SERVICES, service_model

# service model name -> "module:Class"
PROVIDERS: dict[str, str] = {
    "cloudtrail": "mamori.services.cloudtrail.provider:CloudTrailProvider",
    "iam": "mamori.services.iam.provider:IamProvider",
    "kms": "mamori.services.kms.provider:KmsProvider",
    "s3": "mamori.services.s3.provider:S3Provider",
    "sts": "mamori.services.sts.provider:StsProvider",
}

Handler = Callable[[Any, dict[str, Any]], Any]


class Provider:
    service_name: str = ""

    def __init__(self, runtime) -> None:
        self.runtime = runtime

    def prepare_handler(self, operation: str, handler: Handler) -> Handler:
        """The callable the gateway runs for ``operation`` (a provider may put in front of it
        a check every operation of a kind shares; done once per operation, not per call)."""
        return handler

    def after_reset(self) -> None:
        """The store was wiped (``/_mamori/reset``): drop what the service keeps outside it."""


@dataclass(frozen=True)
class Coverage:
    service: str
    implemented: int
    total: int
    operations: tuple[str, ...]


def _load(path: str) -> type[Provider]:
    module_name, class_name = path.split(":")
    return getattr(importlib.import_module(module_name), class_name)


class Registry:
    def __init__(self, runtime) -> None:
        self.providers: dict[str, Provider] = {
            name: _load(path)(runtime) for name, path in PROVIDERS.items()
        }
        self._handlers: dict[tuple[str, str], Handler | None] = {}

    def handler(self, service: str, operation: str) -> Handler | None:
        key = (service, operation)
        try:
            return self._handlers[key]
        except KeyError:
            pass
        provider = self.providers.get(service)
        found = getattr(provider, xform_name(operation), None) if provider else None
        if found is not None:
            found = provider.prepare_handler(operation, found)
        self._handlers[key] = found
        return found

    def after_reset(self) -> None:
        for provider in self.providers.values():
            provider.after_reset()

    def coverage(self) -> list[Coverage]:
        return coverage()


def coverage() -> list[Coverage]:
    """Implemented / total operations per service, from the provider classes (nothing is
    started: providers may register scheduled work when they are instantiated)."""
    classes = {name: _load(path) for name, path in PROVIDERS.items()}
    result = []
    for name in SERVICES:
        ops = service_model(name).operation_names
        cls = classes.get(name)
        done = tuple(op for op in ops if cls is not None and hasattr(cls, xform_name(op)))
        result.append(Coverage(name, len(done), len(ops), done))
    return result
