"""Request bodies as the gateway hands them on: read whole (bounded) or streamed."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable

from mamori.errors import AwsError

Receive = Callable[[], Awaitable[dict]]


def too_large(limit: int) -> AwsError:
    return AwsError(
        "RequestEntityTooLarge",
        f"The request body is larger than the {limit} bytes this endpoint accepts.",
        status=413,
    )


async def read_body(receive: Receive, limit: int, declared_length: str | None) -> bytes:
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise AwsError("IncompleteBody", "The client closed the connection early.")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def body_stream(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise AwsError("IncompleteBody", "The client closed the connection early.")
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def sha256_checked(stream: AsyncIterator[bytes], expected_hex: str) -> AsyncIterator[bytes]:
    """Pass the stream through and fail at its end if it does not hash to ``expected_hex``."""
    digest = hashlib.sha256()
    async for chunk in stream:
        digest.update(chunk)
        yield chunk
    expected_hex = expected_hex.lower()
    if not expected_hex.isascii() or not hmac.compare_digest(digest.hexdigest(), expected_hex):
        raise AwsError(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
