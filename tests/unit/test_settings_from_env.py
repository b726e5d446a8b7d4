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


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("MAMORI_ACCOUNT_ID", "abc"),
        ("MAMORI_ACCOUNT_ID", "12345678901"),
        (
            "MAMORI_ACCOUNT_ID",
            "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662",
        ),
        ("MAMORI_MAX_BODY_BYTES", "0"),
        ("MAMORI_MAX_BODY_BYTES", "-5"),
        ("MAMORI_LOG_LEVEL", "verbose"),
        ("MAMORI_MASTER_KEY", "bad"),
        ("MAMORI_DATABASE_URL", "foo://bar"),
        ("MAMORI_DATABASE_URL", "mysql://user@host/db"),
    ],
)
def test_values_mamori_cannot_work_with_are_refused_by_name(variable, raw):
    with pytest.raises(ValueError, match=variable):
        Settings.from_env({variable: raw})


@pytest.mark.parametrize("given", ["MAMORI_ROOT_ACCESS_KEY_ID", "MAMORI_ROOT_SECRET_ACCESS_KEY"])
def test_half_a_root_key_pair_is_refused(given):
    with pytest.raises(ValueError, match="go together"):
        Settings.from_env({given: "AKIAEXAMPLEEXAMPLE01"})


def test_the_log_level_is_read_in_any_case():
    assert Settings.from_env({"MAMORI_LOG_LEVEL": "DEBUG"}).log_level == "debug"


def test_a_database_url_is_not_repeated_in_the_message():
    with pytest.raises(ValueError) as refused:
        Settings.from_env({"MAMORI_DATABASE_URL": "foo://user:hunter2@db/x"})
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("MAMORI_LOG_LEVEL", "verbose"),
        ("MAMORI_MASTER_KEY", "bad"),
        ("MAMORI_DATABASE_URL", "foo://bar"),
        ("MAMORI_DATABASE_URL", "postgresql+psycopg://user:hunter2@127.0.0.1:1/db"),
    ],
)
def test_the_cli_stops_with_one_line_naming_the_variable(variable, raw, monkeypatch, tmp_path):
    monkeypatch.setenv(variable, raw)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["env", "--data-dir", str(tmp_path / "data")])
    message = str(stopped.value.code)
    assert message.startswith(f"mamori: {variable}")
    assert "\n" not in message and "hunter2" not in message


def test_accounts_create_takes_only_ascii_digits(tmp_path, capsys):
    arabic_indic = "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662"
    data_dir = str(tmp_path / "data")
    code = cli.main(["accounts", "create", "--account-id", arabic_indic, "--data-dir", data_dir])
    assert code == 2
    assert "12 digits" in capsys.readouterr().err
    assert cli.main(["accounts", "list", "--data-dir", data_dir]) == 0
    assert arabic_indic not in capsys.readouterr().out
