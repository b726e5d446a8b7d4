"""MAMORI_JOURNAL_WRITER: which writer a Runtime gets (the writer process under `mamori serve`,
the writer thread for a Runtime built directly, unless the setting says otherwise)."""

from __future__ import annotations

import pytest

from mamori.config import Settings
from mamori.journal import Journal, ProcessJournal
from mamori.runtime import Runtime

from .records import record


def test_the_setting_is_read_from_the_environment_and_validated(tmp_path):
    assert Settings.from_env({}).journal_writer is None
    assert Settings.from_env({"MAMORI_JOURNAL_WRITER": "Process"}).journal_writer == "process"
    assert Settings.from_env({"MAMORI_JOURNAL_WRITER": "thread"}).journal_writer == "thread"
    assert (
        Settings.from_env({"MAMORI_JOURNAL_WRITER": "thread"}, journal_writer="process")
    ).journal_writer == "process"  # a flag wins
    with pytest.raises(ValueError, match="MAMORI_JOURNAL_WRITER"):
        Settings.from_env({"MAMORI_JOURNAL_WRITER": "fork"})


def test_a_runtime_built_directly_writes_in_a_thread(tmp_path):
    runtime = Runtime(Settings.from_env({}, data_dir=tmp_path / "data"))
    try:
        assert type(runtime.journal) is Journal
    finally:
        runtime.close()


def test_a_runtime_with_the_process_writer(tmp_path):
    runtime = Runtime(Settings(data_dir=tmp_path / "data", journal_writer="process"))
    runtime.start()
    try:
        journal = runtime.journal
        assert isinstance(journal, ProcessJournal)
        rec = record()
        journal.append(rec)
        journal.flush(timeout=30)
        assert [e.record["eventID"] for e in journal.read()] == [rec["eventID"]]
        runtime.reset()
        assert journal.count() == 0
    finally:
        runtime.close()
    assert journal._child.process.exitcode == 0
