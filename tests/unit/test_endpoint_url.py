"""The endpoint `mamori serve` announces and `mamori env` exports, for every kind of listen
address: a client on the same machine must reach the server there."""

from __future__ import annotations

import pytest

from mamori.config import Settings


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:4566"),
        ("0.0.0.0", "http://127.0.0.1:4566"),
        ("::", "http://[::1]:4566"),  # bound IPv6-only: 127.0.0.1 would be refused
        ("::1", "http://[::1]:4566"),
        ("fd00::5", "http://[fd00::5]:4566"),
        ("localhost", "http://localhost:4566"),
        ("mamori.internal", "http://mamori.internal:4566"),
    ],
)
def test_endpoint_url(host, url):
    assert Settings(host=host).endpoint_url == url


def test_endpoint_url_with_tls():
    assert Settings(host="::", port=8443, tls=True).endpoint_url == "https://[::1]:8443"
