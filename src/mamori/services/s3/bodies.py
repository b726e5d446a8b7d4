"""Reading object bodies back: which bytes a request wants, and the decrypting stream."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from mamori.services.s3.blobs import BlobStore
from mamori.services.s3.errors import invalid_range

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``Range: bytes=a-b`` -> [start, end) within the object; None for the whole object.

    Syntactically invalid or multi-range headers are ignored (the whole object is returned), as
    S3 does; an unsatisfiable range is 416 InvalidRange.
    """
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        length = int(last)
        if length == 0 or size == 0:
            raise invalid_range(size)
        return max(size - length, 0), size
    start = int(first)
    end = int(last) + 1 if last != "" else size
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise invalid_range(size)
    return start, min(end, size)


_COPY_RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")


def parse_copy_range(text: str, size: int) -> tuple[int, int] | None:
    """``x-amz-copy-source-range`` -> [start, end): only the ``bytes=first-last`` form (no
    suffix, no open end); None when the text has another form or the range is empty."""
    match = _COPY_RANGE.match(text.strip())
    if match is None or not size or int(match.group(2)) < int(match.group(1)):
        return None
    return parse_range(text, size)


def part_ranges(blobs: list[dict[str, Any]]) -> list[tuple[int, int]]:
    ranges = []
    offset = 0
    for blob in blobs:
        ranges.append((offset, offset + blob["size"]))
        offset += blob["size"]
    return ranges


def open_body(
    store: BlobStore, blobs: list[dict[str, Any]], data_key: bytes, start: int, end: int
) -> Iterator[bytes]:
    """The plaintext of [start, end) across the object's blobs. Files are opened now (before the
    response starts), so a concurrent overwrite cannot pull them away mid-read."""
    handles = []
    plan = []
    offset = 0
    try:
        for blob in blobs:
            lo, hi = offset, offset + blob["size"]
            offset = hi
            if (hi <= start or lo >= end) and not (blob["size"] == 0 and start == end == lo):
                continue
            handle = store.open(blob["id"])
            handles.append(handle)
            plan.append((handle, blob, max(start - lo, 0), min(end, hi) - lo))
    except BaseException:
        for handle in handles:
            handle.close()
        raise
    return _stream(store, plan, handles, data_key)


def _stream(store, plan, handles, data_key) -> Iterator[bytes]:
    try:
        for handle, blob, lo, hi in plan:
            yield from store.read_range(handle, blob, data_key, lo, hi)
    finally:
        for handle in handles:
            handle.close()


async def chunks_of(body: Any) -> AsyncIterator[bytes]:
    """A request body (streamed, or bytes for tests and small calls) as async chunks."""
    if body is None:
        return
    if isinstance(body, bytes | bytearray):
        if body:
            yield bytes(body)
        return
    if hasattr(body, "__aiter__"):
        async for chunk in body:
            yield chunk
        return
    for chunk in body:
        yield chunk


async def async_iter(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
