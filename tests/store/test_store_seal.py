"""The seal: AES-256-GCM under the master key, and loading the master key."""

from __future__ import annotations

import base64
import os
import stat
import threading

import pytest

from mamori.store import MasterKeyError, Sealer, SealError, load_master_key
from mamori.store.seal import parse_master_key

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


def test_round_trip_with_and_without_context():
    s = Sealer(KEY)
    for plaintext in (b"", b"x", b"secret key material" * 100):
        assert s.unseal(s.seal(plaintext)) == plaintext
        assert s.unseal(s.seal(plaintext, b"ctx"), b"ctx") == plaintext
    assert Sealer(KEY).unseal(s.seal(b"abc", b"k"), b"k") == b"abc"


def test_blob_layout_and_no_plaintext():
    s = Sealer(KEY)
    plaintext = b"THIS-IS-THE-PLAINTEXT-" * 4
    blob = s.seal(plaintext, b"context")
    assert blob[0] == 1
    assert len(blob) == 1 + 4 + 12 + len(plaintext) + 16
    assert plaintext not in blob
    assert b"PLAINTEXT" not in blob
    assert b"context" not in blob


def test_nonces_are_random():
    s = Sealer(KEY)
    blobs = {s.seal(b"same") for _ in range(200)}
    assert len(blobs) == 200
    assert len({b[5:17] for b in blobs}) == 200


@pytest.mark.parametrize("index", [0, 1, 4, 5, 16, 17, 20, -1])
def test_tampering_is_detected(index):
    s = Sealer(KEY)
    blob = bytearray(s.seal(b"some secret bytes", b"ctx"))
    blob[index] ^= 0x01
    with pytest.raises(SealError):
        s.unseal(bytes(blob), b"ctx")


def test_truncated_and_extended_blobs_are_rejected():
    s = Sealer(KEY)
    blob = s.seal(b"some secret bytes")
    for bad in (b"", blob[:10], blob[:-1], blob + b"\x00"):
        with pytest.raises(SealError):
            s.unseal(bad)


def test_wrong_context():
    s = Sealer(KEY)
    blob = s.seal(b"secret", b"kms:key-material:1")
    with pytest.raises(SealError):
        s.unseal(blob, b"kms:key-material:2")
    with pytest.raises(SealError):
        s.unseal(blob)


def test_wrong_key():
    blob = Sealer(KEY).seal(b"secret")
    with pytest.raises(SealError, match="different master key"):
        Sealer(OTHER).unseal(blob)
    # same key id but wrong key (forged header) still fails authentication
    forged = blob[:1] + Sealer(OTHER)._key_id + blob[5:]
    with pytest.raises(SealError):
        Sealer(OTHER).unseal(forged)


def test_key_id_is_a_fingerprint_not_the_key():
    s = Sealer(KEY)
    assert len(s.key_id) == 8
    assert s.key_id == Sealer(KEY).key_id != Sealer(OTHER).key_id
    assert s.key_id not in KEY.hex()


@pytest.mark.parametrize("bad", [b"", b"short", bytes(31), bytes(33), "not bytes"])
def test_sealer_needs_32_bytes(bad):
    with pytest.raises(MasterKeyError):
        Sealer(bad)


def test_parse_master_key_formats():
    assert parse_master_key(KEY.hex()) == KEY
    assert parse_master_key(KEY.hex().upper()) == KEY
    assert parse_master_key(base64.b64encode(KEY).decode()) == KEY
    assert parse_master_key(base64.urlsafe_b64encode(KEY).decode().rstrip("=")) == KEY
    assert parse_master_key(f"  {KEY.hex()}\n") == KEY
    for bad in ("", "abc", "zz" * 32, base64.b64encode(bytes(16)).decode(), KEY.hex()[:-2]):
        with pytest.raises(MasterKeyError):
            parse_master_key(bad)


def test_env_value_wins_and_creates_no_file(tmp_path):
    assert load_master_key(tmp_path, base64.b64encode(KEY).decode()) == KEY
    assert not (tmp_path / "master.key").exists()
    with pytest.raises(MasterKeyError):
        load_master_key(tmp_path, "definitely not a key")


def test_key_file_created_0600_and_reused(tmp_path):
    data_dir = tmp_path / "new" / "data"
    key = load_master_key(data_dir, None)
    path = data_dir / "master.key"
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(data_dir, None) == key
    assert load_master_key(data_dir, "") == key  # empty env value = unset
    # the file holds the key as base64 text, usable as MAMORI_MASTER_KEY elsewhere
    assert parse_master_key(path.read_text()) == key
    assert [p.name for p in data_dir.iterdir()] == ["master.key"]  # no temp files left


def test_key_file_created_0600_despite_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        load_master_key(tmp_path, None)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "master.key").stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path, mode):
    load_master_key(tmp_path, None)
    path = tmp_path / "master.key"
    path.chmod(mode)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        load_master_key(tmp_path, None)


def test_key_file_raw_bytes_and_garbage(tmp_path):
    path = tmp_path / "master.key"
    path.write_bytes(KEY)
    path.chmod(0o600)
    assert load_master_key(tmp_path, None) == KEY
    path.write_bytes(b"garbage")
    with pytest.raises(MasterKeyError):
        load_master_key(tmp_path, None)


def test_concurrent_creation_agrees(tmp_path):
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def load():
        barrier.wait()
        keys.append(load_master_key(tmp_path, None))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]
