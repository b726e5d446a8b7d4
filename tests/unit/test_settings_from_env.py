"""MAMORI_* variables: read strictly. A value that cannot be read stops the server with a message
naming the variable, rather than being taken for a default (a typo in MAMORI_JOURNAL must not
switch auditing off)."""

from __future__ import annotations

import pytest

from mamori import cli
from mamori.config import Settings


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        (" on ", True),
        ("0", False),
        ("false", False),
        ("NO", False),
        ("off", False),
    ],
)
def test_booleans(raw, value):
    assert Settings.from_env({"MAMORI_JOURNAL": raw}).journal is value


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("MAMORI_JOURNAL", "of"),
        ("MAMORI_JOURNAL", "disabled"),
        ("MAMORI_ALLOW_RESET", "ture"),
        ("MAMORI_PORT", "45 66"),
        ("MAMORI_MAX_BODY_BYTES", "16MiB"),
    ],
)
def test_unreadable_values_are_refused_by_name(variable, raw):
    with pytest.raises(ValueError, match=variable):
        Settings.from_env({variable: raw})


def test_an_empty_variable_counts_as_unset():
    assert Settings.from_env({"MAMORI_JOURNAL": "", "MAMORI_PORT": ""}).journal is True


def test_the_cli_says_which_variable_and_stops(monkeypatch, capsys):
    monkeypatch.setenv("MAMORI_JOURNAL", "of")
    with pytest.raises(SystemExit) as stopped:
        cli.main(["env"])
    assert "MAMORI_JOURNAL='of'" in str(stopped.value.code)
    assert capsys.readouterr().out == ""  # no export lines from a half-read configuration
