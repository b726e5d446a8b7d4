"""MAMORI_JOURNAL_WRITER: which writer a Runtime gets (the writer process under `mamori serve`,
the writer thread for a Runtime built directly, unless the setting says otherwise)."""

from __future__ import annotations

import os

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


def test_the_writer_cpus_are_a_cpu_list():
    assert Settings.from_env({}).writer_cpus is None
    env = {"MAMORI_JOURNAL_WRITER_CPUS": "1"}
    assert Settings.from_env(env).writer_cpus == {1}
    assert Settings.from_env({}, journal_writer_cpus="0, 2-4,7").writer_cpus == {0, 2, 3, 4, 7}
    for bad in ("", "a", "1-", "3-1", "1,,2", "-1"):
        with pytest.raises(ValueError, match="MAMORI_JOURNAL_WRITER_CPUS"):
            Settings(journal_writer_cpus=bad)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="CPU affinity is Linux's")
def test_the_writer_process_runs_on_the_cpus_it_is_given(tmp_path):
    cpu = max(os.sched_getaffinity(0))
    runtime = Runtime(
        Settings(data_dir=tmp_path / "data", journal_writer="process", journal_writer_cpus=str(cpu))
    )
    runtime.start()
    try:
        journal = runtime.journal
        rec = record()
        journal.append(rec)
        journal.flush(timeout=30)  # the writer has started (and pinned itself) by now
        assert os.sched_getaffinity(journal._child.process.pid) == {cpu}
        assert os.sched_getaffinity(0) != {cpu} or len(os.sched_getaffinity(0)) == 1
    finally:
        runtime.close()


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="CPU affinity is Linux's")
def test_cpus_the_writer_cannot_have_leave_it_where_the_server_runs(tmp_path, capfd):
    runtime = Runtime(
        Settings(data_dir=tmp_path / "data", journal_writer="process", journal_writer_cpus="4095")
    )
    runtime.start()
    try:
        journal = runtime.journal
        rec = record()
        journal.append(rec)
        journal.flush(timeout=30)
        assert [e.record["eventID"] for e in journal.read()] == [rec["eventID"]]
        assert os.sched_getaffinity(journal._child.process.pid) == os.sched_getaffinity(0)
    finally:
        runtime.close()
    assert "cannot run on CPUs 4095" in capfd.readouterr().err
