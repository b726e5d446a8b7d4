"""The Store: engines, transactions, settings, schema version, reset — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from mamori.store import SchemaVersionError, Store, metadata
from mamori.store.schema import journal_table, meta_table, settings_table


def test_dialect_and_ping(store, store_url):
    assert store.dialect == ("sqlite" if store_url is None else "postgresql")
    assert store.ping()
    assert store.schema_version() == 1


def test_sqlite_file_and_pragmas(data_dir, master_key):
    with Store(data_dir, master_key=master_key, busy_timeout=1.5) as store:
        assert (data_dir / "mamori.db").exists()
        with store.connect() as conn:
            pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 1  # NORMAL
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 1500


def test_master_key_defaults_to_key_file(tmp_path, monkeypatch):
    monkeypatch.delenv("MAMORI_MASTER_KEY", raising=False)
    with Store(tmp_path) as store:
        assert (tmp_path / "master.key").exists()
        blob = store.sealer.seal(b"x")
    with Store(tmp_path) as again:
        assert again.sealer.unseal(blob) == b"x"
    monkeypatch.setenv("MAMORI_MASTER_KEY", bytes(32).hex())
    with Store(tmp_path) as env_store:
        assert env_store.sealer.key_id != again.sealer.key_id


def test_create_all_is_idempotent_and_reopen_keeps_data(store, store_url, data_dir, master_key):
    with store.begin() as conn:
        store.set_setting(conn, "root", "AKIA1")
    store.create_all()
    with Store(data_dir, store_url, master_key=master_key) as again:
        with again.connect() as conn:
            assert again.get_setting(conn, "root") == "AKIA1"
            versions = conn.execute(sa.select(meta_table.c.value)).scalars().all()
        assert versions == ["1"]


def test_newer_schema_version_is_refused(store, store_url, data_dir, master_key):
    with store.begin() as conn:
        conn.execute(meta_table.update().values(value="999"))
    with pytest.raises(SchemaVersionError):
        Store(data_dir, store_url, master_key=master_key)


def test_begin_commits_and_rolls_back(store):
    with store.begin() as conn:
        store.set_setting(conn, "a", "1")
    with pytest.raises(RuntimeError), store.begin() as conn:
        store.set_setting(conn, "a", "2")
        store.set_setting(conn, "b", "2")
        raise RuntimeError("boom")
    with store.connect() as conn:
        assert store.get_setting(conn, "a") == "1"
        assert store.get_setting(conn, "b") is None


def test_connect_needs_explicit_commit(store):
    with store.connect() as conn:
        store.set_setting(conn, "k", "dropped")
    with store.connect() as conn:
        assert store.get_setting(conn, "k") is None
        store.set_setting(conn, "k", "kept")
        conn.commit()
    with store.connect() as conn:
        assert store.get_setting(conn, "k") == "kept"


def test_settings_upsert(store):
    with store.begin() as conn:
        assert store.get_setting(conn, "x") is None
        store.set_setting(conn, "x", "1")
        store.set_setting(conn, "x", "2")
        store.set_setting(conn, "y", "long " * 1000)
    with store.connect() as conn:
        assert store.get_setting(conn, "x") == "2"
        assert store.get_setting(conn, "y") == "long " * 1000


def test_reset_wipes_rows_but_keeps_meta_and_sequences(store):
    with store.begin() as conn:
        store.set_setting(conn, "root", "AKIA")
        first = conn.execute(
            journal_table.insert().returning(journal_table.c.seq),
            {"event_id": "e1", "event_time": datetime.now(UTC), "record": "{}"},
        ).scalar_one()
    store.reset()
    with store.connect() as conn:
        for table in metadata.sorted_tables:
            count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            assert count == (1 if table is meta_table else 0), table.name
    assert store.schema_version() == 1
    with store.begin() as conn:
        second = conn.execute(
            journal_table.insert().returning(journal_table.c.seq),
            {"event_id": "e1", "event_time": datetime.now(UTC), "record": "{}"},
        ).scalar_one()
    assert second > first  # journal positions are never reused


def test_concurrent_writers_from_many_threads(store):
    """The engine is shared by threads; SQLite writers queue on BEGIN IMMEDIATE, not fail."""
    errors: list[BaseException] = []

    def work(t: int):
        try:
            for i in range(25):
                with store.begin() as conn:
                    value = store.get_setting(conn, "counter") or "0"
                    store.set_setting(conn, "counter", str(int(value) + 1))
                    store.set_setting(conn, f"t{t}-{i}", "x")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(settings_table)).scalar_one()
        assert n == 1 + 8 * 25
        if store.dialect == "sqlite":  # serializable writers: no lost update
            assert store.get_setting(conn, "counter") == str(8 * 25)


def test_failure_listener_sees_store_failures(store):
    seen: list[BaseException] = []
    store.add_failure_listener(seen.append)
    with pytest.raises(sa.exc.DBAPIError), store.begin() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("SELECT * FROM no_such_table")  # OperationalError in sqlite
        else:
            conn.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")
    assert seen and isinstance(seen[0], sa.exc.OperationalError | sa.exc.InterfaceError)
    with pytest.raises(ValueError), store.begin():
        raise ValueError("application errors are not store failures")
    assert len(seen) == 1
    assert store.ping()
