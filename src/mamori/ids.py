"""Identifiers for requests and events: unique, not secret.

Request ids and event ids only need to be unique. They come from a PRNG seeded once from the
operating system rather than from ``os.urandom`` per id: ``os.urandom`` releases the GIL, and on a
busy server each call can then wait for the journal writer thread to hand it back, which cost
more per request than building the id itself. Anything secret (keys, tokens, seeds) keeps using
``os.urandom``/``secrets``.
"""

from __future__ import annotations

import random
import time

_random = random.Random()  # seeded from os.urandom when created


def _format(value: int) -> str:
    text = "%032x" % value  # noqa: UP031 - measurably cheaper than the f-string format spec
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_V4_MASK = ((1 << 128) - 1) ^ (0xF << 76) ^ (0x3 << 62)
_V4_BITS = 0x4 << 76 | 0b10 << 62


def random_uuid() -> str:
    """A version 4 (random) UUID string."""
    return _format(_random.getrandbits(128) & _V4_MASK | _V4_BITS)


def time_ordered_uuid() -> str:
    """A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits, so ids
    sort by creation time."""
    return uuid7(time.time_ns() // 1_000_000, _random.getrandbits(80))


def uuid7(millis: int, rand: int) -> str:
    """The version 7 UUID of ``millis`` (Unix milliseconds) and 74 of the bits of ``rand``."""
    value = (
        (millis & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (rand >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | rand & 0x3FFF_FFFF_FFFF_FFFF
    )
    return _format(value)
