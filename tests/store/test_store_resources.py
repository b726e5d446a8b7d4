"""Versioned resources on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from mamori.store import Resources, UtcDateTime
from mamori.store.resources import prefix_upper_bound

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
A, R, T = "000000000000", "us-east-1", "AWS::KMS::Key"


@pytest.fixture
def res(store) -> Resources:
    return Resources(store)


def put(store, res, id, data, now=T0, account=A, region=R, type=T):
    with store.begin() as conn:
        return res.put(conn, account=account, region=region, type=type, id=id, data=data, now=now)


def test_put_get_versions(store, res):
    assert put(store, res, "k1", {"state": "Enabled"}) == 1
    assert put(store, res, "k1", {"state": "Disabled", "n": [1, 2]}) == 2
    with store.connect() as conn:
        assert res.get(conn, A, R, T, "k1") == {"state": "Disabled", "n": [1, 2]}
        assert res.get_version(conn, A, R, T, "k1") == 2
        assert res.get(conn, A, R, T, "absent") is None
        assert res.get_version(conn, A, R, T, "absent") is None


def test_delete_and_reuse_continue_numbering(store, res):
    put(store, res, "k1", {"v": 1})
    with store.begin() as conn:
        assert res.delete(conn, A, R, T, "k1", T0 + timedelta(seconds=1)) is True
        assert res.delete(conn, A, R, T, "k1", T0 + timedelta(seconds=2)) is False
        assert res.delete(conn, A, R, T, "never", T0) is False
    with store.connect() as conn:
        assert res.get(conn, A, R, T, "k1") is None
        assert res.list(conn, A, R, T) == []
    assert put(store, res, "k1", {"v": 3}, now=T0 + timedelta(seconds=3)) == 3
    with store.connect() as conn:
        history = res.history(conn, A, R, T, "k1")
    assert [(h.version, h.data, h.deleted) for h in history] == [
        (1, {"v": 1}, False),
        (2, None, True),
        (3, {"v": 3}, False),
    ]
    assert [h.time for h in history] == [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=3)]
    assert all(h.time.tzinfo is UTC for h in history)


def test_rollback_leaves_no_version(store, res):
    put(store, res, "k1", {"v": 1})
    with pytest.raises(RuntimeError), store.begin() as conn:
        res.put(conn, account=A, region=R, type=T, id="k1", data={"v": 2}, now=T0)
        raise RuntimeError
    with store.connect() as conn:
        assert res.get(conn, A, R, T, "k1") == {"v": 1}
        assert len(res.history(conn, A, R, T, "k1")) == 1


def test_scoping_by_account_region_type(store, res):
    put(store, res, "x", {"n": 1})
    put(store, res, "x", {"n": 2}, account="111111111111")
    put(store, res, "x", {"n": 3}, region="eu-west-1")
    put(store, res, "x", {"n": 4}, type="AWS::IAM::Role")
    with store.connect() as conn:
        assert res.get(conn, A, R, T, "x") == {"n": 1}
        assert res.get(conn, "111111111111", R, T, "x") == {"n": 2}
        assert res.get(conn, A, "eu-west-1", T, "x") == {"n": 3}
        assert res.get(conn, A, R, "AWS::IAM::Role", "x") == {"n": 4}
        assert res.get_version(conn, A, R, T, "x") == 1


def test_list_order_prefix_paging(store, res):
    ids = ["b", "a", "A", "Z", "a%", "a_x", "ab", "abc", "a/b", "aé", "a\U0001f600", "b0"]
    for i in ids:
        put(store, res, i, {"id": i})
    with store.begin() as conn:
        res.delete(conn, A, R, T, "b0", T0)
    with store.connect() as conn:
        listed = [i for i, _ in res.list(conn, A, R, T)]
        assert listed == sorted(set(ids) - {"b0"})  # bytewise = Python order, case-sensitive
        assert all(d == {"id": i} for i, d in res.list(conn, A, R, T))
        assert [i for i, _ in res.list(conn, A, R, T, id_prefix="a")] == sorted(
            i for i in ids if i.startswith("a")
        )
        # LIKE wildcards are plain characters in a prefix
        assert [i for i, _ in res.list(conn, A, R, T, id_prefix="a%")] == ["a%"]
        assert [i for i, _ in res.list(conn, A, R, T, id_prefix="a_")] == ["a_x"]
        assert [i for i, _ in res.list(conn, A, R, T, id_prefix="ab")] == ["ab", "abc"]
        assert res.list(conn, A, R, T, id_prefix="zz") == []
        page1 = res.list(conn, A, R, T, limit=4)
        page2 = res.list(conn, A, R, T, limit=4, after_id=page1[-1][0])
        rest = res.list(conn, A, R, T, after_id=page2[-1][0])
        assert [i for i, _ in page1 + page2 + rest] == listed
        assert [i for i, _ in res.list(conn, A, R, T, id_prefix="a", after_id="ab")] == [
            i for i in sorted(ids) if i.startswith("a") and i > "ab"
        ]


def test_prefix_upper_bound():
    assert prefix_upper_bound("ab") == "ac"
    assert prefix_upper_bound("a\U0010ffff") == "b"
    assert prefix_upper_bound("\U0010ffff") is None
    assert prefix_upper_bound("a\ud7ff") == "a\ue000"


def test_history_between(store, res):
    put(store, res, "k1", {"v": 1}, now=T0)
    put(store, res, "k2", {"v": 1}, now=T0 + timedelta(minutes=1), type="AWS::IAM::Role")
    put(store, res, "k1", {"v": 2}, now=T0 + timedelta(minutes=2))
    with store.connect() as conn:
        changes = res.history_between(conn, A, R, start=T0 + timedelta(seconds=1))
        assert [(t, i, v.version) for t, i, v in changes] == [
            ("AWS::IAM::Role", "k2", 1),
            (T, "k1", 2),
        ]
        only = res.history_between(conn, A, R, end=T0 + timedelta(minutes=2), type=T)
        assert [(i, v.version) for _, i, v in only] == [("k1", 1)]


def test_times_are_normalized_to_utc(store, res):
    tokyo = timezone(timedelta(hours=9))
    put(store, res, "k1", {}, now=datetime(2024, 5, 1, 21, 0, tzinfo=tokyo))
    put(store, res, "k1", {}, now=datetime(2024, 5, 1, 13, 0))  # naive = UTC
    with store.connect() as conn:
        times = [h.time for h in res.history(conn, A, R, T, "k1")]
    assert times == [
        datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 13, 0, tzinfo=UTC),
    ]
    assert UtcDateTime().process_result_value(None, None) is None


def test_concurrent_puts_get_distinct_versions(store, res):
    errors = []

    def work():
        try:
            for _ in range(20):
                put(store, res, "hot", {"t": threading.get_ident()})
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.connect() as conn:
        assert [h.version for h in res.history(conn, A, R, T, "hot")] == list(range(1, 121))
        assert res.get_version(conn, A, R, T, "hot") == 120


def test_sealed_secret_in_a_resource(store, res):
    """Secret material is stored only sealed; the row holds no plaintext."""
    secret = b"\x01" * 16 + b"PLAINTEXT-KEY-MATERIAL"
    blob = store.sealer.seal(secret, b"kms:k1")
    put(store, res, "k1", {"material": blob.hex()})
    with store.connect() as conn:
        raw = conn.execute(sa.text("SELECT data FROM resources")).scalar_one()
        assert "PLAINTEXT" not in raw and secret.hex() not in raw
        data = res.get(conn, A, R, T, "k1")
    assert store.sealer.unseal(bytes.fromhex(data["material"]), b"kms:k1") == secret
