"""aws-chunked request bodies: decoded incrementally, verified as they arrive.

S3 uploads may send the body in aws-chunked framing (``Content-Encoding: aws-chunked``), chosen by
the ``x-amz-content-sha256`` value:

* ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` — ``<hex-size>;chunk-signature=<sig>\\r\\n<data>\\r\\n``
  per chunk, ending with a zero-size chunk; each signature chains from the previous one (the seed
  is the request's own signature) over ``AWS4-HMAC-SHA256-PAYLOAD\\n<date>\\n<scope>\\n<prev>\\n
  <sha256('')>\\n<sha256(data)>``.
* ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`` — the same, then trailing headers and an
  ``x-amz-trailer-signature`` over ``AWS4-HMAC-SHA256-TRAILER\\n<date>\\n<scope>\\n<prev>\\n
  <sha256(trailers)>``.
* ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` — ``<hex-size>\\r\\n<data>\\r\\n``, ``0\\r\\n``, then
  trailing headers such as ``x-amz-checksum-crc32:<base64>`` (what botocore sends for PutObject
  over HTTPS).

A signed chunk's data is released only once its signature checks out; unsigned data is released
as it arrives and the trailing checksum is checked at the end (``finish``). Every failure is an
``AwsError`` carrying S3's own code: ``SignatureDoesNotMatch``, ``IncompleteBody``,
``InvalidChunkSizeError``, ``MalformedTrailerError``, ``BadDigest``, ``InvalidRequest``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import zlib
from collections.abc import AsyncIterator, Callable

from mamori.errors import AwsError
from mamori.gateway.auth_errors import S3_SIGNATURE_MISMATCH_MESSAGE
from mamori.gateway.sigv4 import (
    EMPTY_SHA256,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    SignatureInfo,
    signing_key,
)
from mamori.protocols.base import HttpRequest

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "AwsChunkedDecoder",
    "decode_body",
    "decode_stream",
    "decoder_for",
    "supported_checksums",
]

MODES = (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER)
MIN_CHUNK_SIZE = 8192  # every chunk but the last must be at least this large
MAX_LINE = 4096  # a chunk header or trailer line longer than this is malformed
TRAILER_SIGNATURE = "x-amz-trailer-signature"


# --------------------------------------------------------------------------- checksums


class _Crc:
    """An incremental CRC with a (bytes, running) -> running update function."""

    def __init__(self, update: Callable[[bytes, int], int], width: int) -> None:
        self._update = update
        self._value = 0
        self._width = width

    def update(self, data: bytes) -> None:
        self._value = self._update(data, self._value)

    def digest(self) -> bytes:
        return (self._value & ((1 << (8 * self._width)) - 1)).to_bytes(self._width, "big")


def _crc32() -> _Crc:
    return _Crc(zlib.crc32, 4)


def _crt_factories() -> dict[str, Callable[[], object]]:
    factories: dict[str, Callable[[], object]] = {}
    try:
        from awscrt import checksums as crt  # AWS's own runtime, as botocore uses it
    except ImportError:
        crt = None
    if crt is not None:
        factories["crc32c"] = lambda: _Crc(lambda d, v: crt.crc32c(d, v), 4)
        if hasattr(crt, "crc64nvme"):
            factories["crc64nvme"] = lambda: _Crc(lambda d, v: crt.crc64nvme(d, v), 8)
        return factories
    try:
        import crc32c as crc32c_module  # the ICRAR crc32c package
    except ImportError:
        return factories
    factories["crc32c"] = lambda: _Crc(lambda d, v: crc32c_module.crc32c(d, v), 4)
    return factories


CHECKSUM_ALGORITHMS: dict[str, Callable[[], object]] = {
    "crc32": _crc32,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    **_crt_factories(),
}
_CHECKSUM_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}


def supported_checksums() -> list[str]:
    return sorted(CHECKSUM_ALGORITHMS)


def _algorithm_of(header: str) -> str | None:
    header = header.strip().lower()
    if header.startswith("x-amz-checksum-"):
        return header[len("x-amz-checksum-") :]
    return None


# --------------------------------------------------------------------------- errors


def _incomplete_body() -> AwsError:
    return AwsError("IncompleteBody", "The request body terminated unexpectedly", status=400)


def _malformed_trailer(header: str | None = None) -> AwsError:
    return AwsError(
        "MalformedTrailerError",
        "The request contained trailing data that was not well-formed or did not conform to our "
        "published schema.",
        status=400,
        fields={"TrailerHeader": header} if header else None,
    )


def _signature_mismatch(string_to_sign: str, provided: str) -> AwsError:
    return AwsError(
        "SignatureDoesNotMatch",
        S3_SIGNATURE_MISMATCH_MESSAGE,
        status=403,
        fields={"StringToSign": string_to_sign, "SignatureProvided": provided},
    )


def unsupported_trailer(header: str) -> AwsError:
    return AwsError(
        "InvalidRequest",
        "The value specified in the x-amz-trailer header is not supported",
        status=400,
        fields={"TrailerHeader": header},
    )


# --------------------------------------------------------------------------- decoder

_HEADER, _DATA, _DATA_CRLF, _TRAILER, _DONE = range(5)


class AwsChunkedDecoder:
    """Incremental aws-chunked decoder: ``feed(bytes) -> payload bytes``, then ``finish()``.

    ``finish()`` checks the body ended properly, the decoded length and the trailing checksum,
    and returns the trailing headers (lower-case names, without ``x-amz-trailer-signature``).
    """

    def __init__(
        self,
        mode: str,
        *,
        seed_signature: str | None,
        signing_key: bytes | None,
        amz_date: str,
        scope: str,
        trailer_checksum_header: str | None,
        decoded_length: int | None,
        min_chunk_size: int = MIN_CHUNK_SIZE,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"not an aws-chunked mode: {mode!r}")
        self.mode = mode
        self.signed = mode != STREAMING_UNSIGNED_TRAILER
        if self.signed and (seed_signature is None or signing_key is None):
            raise ValueError("signed aws-chunked modes need the seed signature and signing key")
        self._previous = (seed_signature or "").lower()
        self._key = signing_key
        self._amz_date = amz_date
        self._scope = scope
        self._decoded_length = decoded_length
        self._min_chunk_size = min_chunk_size
        self._declared_trailer = (trailer_checksum_header or "").strip().lower() or None
        self._checksum = None
        self._checksum_name: str | None = None
        if self._declared_trailer:
            algorithm = _algorithm_of(self._declared_trailer)
            if algorithm in _CHECKSUM_SIZES and algorithm not in CHECKSUM_ALGORITHMS:
                raise AwsError(
                    "NotImplemented",
                    f"This mamori installation cannot verify {self._declared_trailer} "
                    "(install the 'awscrt' package for CRC32C and CRC64NVME).",
                    status=501,
                    sender_fault=False,
                )
            if algorithm is None or algorithm not in CHECKSUM_ALGORITHMS:
                raise unsupported_trailer(self._declared_trailer)
            self._checksum = CHECKSUM_ALGORITHMS[algorithm]()
            self._checksum_name = self._declared_trailer
        self._buffer = bytearray()
        self._state = _HEADER
        self._remaining = 0
        self._chunk_sig = ""
        self._chunk_hash = None
        self._chunk_data = bytearray()
        self._chunk_index = 0
        self._last_size: int | None = None
        self._total = 0
        self._trailer_lines: list[str] = []
        self.trailers: dict[str, str] = {}

    @property
    def decoded_bytes(self) -> int:
        return self._total

    def feed(self, data: bytes) -> bytes:
        if self._state == _DONE:
            if data:
                raise _incomplete_body()
            return b""
        self._buffer += data
        out = bytearray()
        while True:
            if self._state == _HEADER:
                line = self._take_line()
                if line is None:
                    break
                self._start_chunk(line)
            elif self._state == _DATA:
                if not self._buffer:
                    break
                take = min(self._remaining, len(self._buffer))
                piece = bytes(self._buffer[:take])
                del self._buffer[:take]
                self._remaining -= take
                self._total += take
                if self._decoded_length is not None and self._total > self._decoded_length:
                    raise self._length_error()
                if self._checksum is not None:
                    self._checksum.update(piece)
                if self.signed:
                    self._chunk_hash.update(piece)
                    self._chunk_data += piece
                else:
                    out += piece
                if self._remaining == 0:
                    self._state = _DATA_CRLF
            elif self._state == _DATA_CRLF:
                if len(self._buffer) < 2:
                    break
                if self._buffer[:2] != b"\r\n":
                    raise _incomplete_body()
                del self._buffer[:2]
                if self.signed:
                    self._verify_chunk(self._chunk_hash.hexdigest())
                    out += self._chunk_data
                    self._chunk_data = bytearray()
                self._state = _HEADER
            elif self._state == _TRAILER:
                line = self._take_line()
                if line is None:
                    break
                if line == "":
                    self._end_trailers()
                    self._state = _DONE
                    if self._buffer:
                        raise _incomplete_body()
                    break
                self._trailer_lines.append(line)
                if len(self._trailer_lines) > 64:
                    raise _malformed_trailer()
            else:
                if self._buffer:
                    raise _incomplete_body()
                break
        return bytes(out)

    def finish(self) -> dict[str, str]:
        if self._state != _DONE:
            raise _incomplete_body()
        if self._decoded_length is not None and self._total != self._decoded_length:
            raise self._length_error()
        return self.trailers

    # ------------------------------------------------------------------ internals

    def _take_line(self) -> str | None:
        index = self._buffer.find(b"\r\n")
        if index < 0:
            if len(self._buffer) > MAX_LINE:
                raise _incomplete_body()
            return None
        if index > MAX_LINE:
            raise _incomplete_body()
        raw = bytes(self._buffer[:index])
        del self._buffer[: index + 2]
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise _incomplete_body() from None

    def _start_chunk(self, line: str) -> None:
        size_text, _, extension = line.partition(";")
        size_text = size_text.strip()
        if (
            not size_text
            or len(size_text) > 16
            or any(c not in "0123456789abcdefABCDEF" for c in size_text)
        ):
            raise _incomplete_body()
        size = int(size_text, 16)
        self._chunk_index += 1
        if self.signed:
            name, eq, signature = extension.strip().partition("=")
            if name.strip() != "chunk-signature" or not eq or not signature.strip():
                raise _incomplete_body()
            self._chunk_sig = signature.strip()
            self._chunk_hash = hashlib.sha256()
            self._chunk_data = bytearray()
        if size > 0 and self._last_size is not None and self._last_size < self._min_chunk_size:
            raise AwsError(
                "InvalidChunkSizeError",
                "Only the last chunk is allowed to have a size less than "
                f"{self._min_chunk_size} bytes",
                status=400,
                fields={"Chunk": self._chunk_index, "BadChunkSize": self._last_size},
            )
        if size == 0:
            if self.signed:
                self._verify_chunk(EMPTY_SHA256)
            # Trailing headers (none in STREAMING_SIGNED mode), then an empty line.
            self._state = _TRAILER
            return
        self._last_size = size
        self._remaining = size
        self._state = _DATA

    def _sign(self, string: str) -> str:
        return hmac.new(self._key, string.encode("utf-8"), hashlib.sha256).hexdigest()

    def _verify_chunk(self, data_hash: str) -> None:
        string = (
            f"AWS4-HMAC-SHA256-PAYLOAD\n{self._amz_date}\n{self._scope}\n{self._previous}\n"
            f"{EMPTY_SHA256}\n{data_hash}"
        )
        expected = self._sign(string)
        if not _same_hex(expected, self._chunk_sig):
            raise _signature_mismatch(string, self._chunk_sig)
        self._previous = expected

    def _end_trailers(self) -> None:
        trailers: dict[str, str] = {}
        signature: str | None = None
        canonical: list[str] = []
        for line in self._trailer_lines:
            name, colon, value = line.partition(":")
            if not colon:
                raise _malformed_trailer()
            name = name.strip().lower()
            value = value.strip()
            if name == TRAILER_SIGNATURE:
                signature = value
                continue
            if signature is not None:
                raise _malformed_trailer(name)  # nothing may follow the trailer signature
            trailers[name] = value
            canonical.append(f"{name}:{value}\n")
        if self.mode == STREAMING_SIGNED:
            if trailers or signature is not None:
                raise _malformed_trailer()
        elif self.mode == STREAMING_SIGNED_TRAILER:
            if signature is None:
                raise _malformed_trailer(TRAILER_SIGNATURE)
            string = (
                f"AWS4-HMAC-SHA256-TRAILER\n{self._amz_date}\n{self._scope}\n{self._previous}\n"
                + hashlib.sha256("".join(canonical).encode("utf-8")).hexdigest()
            )
            if not _same_hex(self._sign(string), signature):
                raise _signature_mismatch(string, signature)
        elif signature is not None:
            raise _malformed_trailer(TRAILER_SIGNATURE)
        self.trailers = trailers
        self._check_trailer_checksum()

    def _check_trailer_checksum(self) -> None:
        declared = self._declared_trailer
        if declared is None:
            # Undeclared checksum trailers are refused rather than silently left unverified.
            for name in self.trailers:
                if name.startswith("x-amz-checksum-"):
                    raise _malformed_trailer(name)
            return
        value = self.trailers.get(declared)
        if value is None:
            raise _malformed_trailer(declared)
        algorithm = _algorithm_of(declared)
        try:
            claimed = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            claimed = b""
        if len(claimed) != _CHECKSUM_SIZES.get(algorithm, -1):
            raise AwsError(
                "InvalidRequest",
                f"Value for {declared} trailing header is invalid.",
                status=400,
            )
        if not hmac.compare_digest(self._checksum.digest(), claimed):
            raise AwsError(
                "BadDigest",
                f"The {algorithm.upper()} you specified did not match the calculated checksum.",
                status=400,
            )

    def _length_error(self) -> AwsError:
        return AwsError(
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
            status=400,
            fields={
                "NumberBytesExpected": self._decoded_length,
                "NumberBytesProvided": self._total,
            },
        )


# --------------------------------------------------------------------------- helpers


async def decode_stream(
    chunks: AsyncIterator[bytes], decoder: AwsChunkedDecoder
) -> AsyncIterator[bytes]:
    """The decoded payload of an aws-chunked stream; raises AwsError when it does not verify."""
    async for chunk in chunks:
        out = decoder.feed(chunk)
        if out:
            yield out
    decoder.finish()


def decode_body(body: bytes, decoder: AwsChunkedDecoder) -> bytes:
    out = decoder.feed(body)
    decoder.finish()
    return out


def decoder_for(request: HttpRequest, info: SignatureInfo, secret: str) -> AwsChunkedDecoder | None:
    """The decoder for this request's body, or None when the body is not aws-chunked."""
    mode = info.payload_hash
    if mode not in MODES:
        return None
    decoded = request.headers.get("x-amz-decoded-content-length")
    decoded_length: int | None = None
    if decoded is not None:
        decoded = decoded.strip()
        if not decoded.isdigit():
            raise AwsError(
                "InvalidArgument",
                "x-amz-decoded-content-length must be a non-negative integer.",
                status=400,
                fields={"ArgumentName": "x-amz-decoded-content-length", "ArgumentValue": decoded},
            )
        decoded_length = int(decoded)
    signed = mode != STREAMING_UNSIGNED_TRAILER
    return AwsChunkedDecoder(
        mode,
        seed_signature=info.signature if signed else None,
        signing_key=signing_key(secret, info.date, info.region, info.service) if signed else None,
        amz_date=info.timestamp,
        scope=info.scope,
        trailer_checksum_header=request.headers.get("x-amz-trailer"),
        decoded_length=decoded_length,
    )


def _same_hex(expected: str, claimed: str) -> bool:
    """Constant-time comparison of a hex digest with what the client claimed (any text: a
    non-ASCII claim is simply wrong, where ``compare_digest`` would raise)."""
    claimed = claimed.lower()
    return claimed.isascii() and hmac.compare_digest(expected, claimed)
