"""The ``smithy-rpc-v2-cbor`` protocol: one CBOR map per response, members by their own names.

Blobs are CBOR byte strings, timestamps CBOR tag 1 (epoch seconds) whatever the model's
``timestampFormat``; errors are a map with ``__type`` and ``message`` like awsJson.
"""

from __future__ import annotations

from typing import Any

import cbor2
from botocore.model import ServiceModel

from mamori.protocols.serializers.common import epoch_seconds, to_bytes
from mamori.protocols.serializers.json import JsonLikeSerializer
from mamori.protocols.serializers.values import ValueCompiler


def _cbor_timestamp(_fmt: str | None):
    def convert(value: Any) -> cbor2.CBORTag:
        return cbor2.CBORTag(1, epoch_seconds(value))

    return convert


class CborSerializer(JsonLikeSerializer):
    def __init__(self) -> None:
        self.values = ValueCompiler(wire_names=False, blob=to_bytes, timestamp=_cbor_timestamp)

    def _content_type(self, service: ServiceModel) -> str:
        return "application/cbor"

    def _base_headers(self, service: ServiceModel, request_id: str) -> dict[str, str]:
        return {
            "x-amzn-RequestId": request_id,
            "Content-Type": "application/cbor",
            "smithy-protocol": "rpc-v2-cbor",
        }

    def _encode(self, document: dict[str, Any]) -> bytes:
        return cbor2.dumps(document)
