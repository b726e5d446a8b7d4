"""MAMORI_FORWARDED_ALLOW_IPS / --forwarded-allow-ips: parsed, normalized, refused when bad, and
passed to uvicorn (proxy headers only when proxies are named)."""

from __future__ import annotations

import pytest

from mamori.config import Settings
from mamori.server import uvicorn_config


def test_no_proxy_is_trusted_by_default():
    settings = Settings.from_env({})
    assert settings.forwarded_allow_ips is None
    config = uvicorn_config(lambda *a: None, settings)
    assert config.proxy_headers is False


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("10.0.0.5", "10.0.0.5"),
        (" 10.0.0.5 , 10.1.0.0/16,", "10.0.0.5,10.1.0.0/16"),
        ("::1,fd00::/8", "::1,fd00::/8"),
        ("10.1.2.3/16", "10.1.0.0/16"),  # host bits dropped: uvicorn would never match it
        ("*", "*"),
    ],
)
def test_named_proxies_are_trusted(given, kept):
    settings = Settings.from_env({"MAMORI_FORWARDED_ALLOW_IPS": given})
    assert settings.forwarded_allow_ips == kept
    config = uvicorn_config(lambda *a: None, settings)
    assert config.proxy_headers is True
    assert config.forwarded_allow_ips == kept
    config.load()  # uvicorn reads every entry as an address or a network, none as a name
    trusted = config.loaded_app.trusted_hosts
    assert trusted.always_trust or not trusted.trusted_literals


def test_the_flag_wins_over_the_variable():
    settings = Settings.from_env(
        {"MAMORI_FORWARDED_ALLOW_IPS": "10.0.0.5"}, forwarded_allow_ips="192.168.0.1"
    )
    assert settings.forwarded_allow_ips == "192.168.0.1"


@pytest.mark.parametrize("bad", ["proxy.example", "10.0.0.5,*", "300.0.0.1", ",", "10.0.0.0/33"])
def test_a_bad_list_is_refused(bad):
    with pytest.raises(ValueError, match="MAMORI_FORWARDED_ALLOW_IPS"):
        Settings(forwarded_allow_ips=bad)
