"""The AWS CLI against mamori's S3: a 200 MiB multipart `aws s3 cp` both ways, `aws s3 sync`."""

from __future__ import annotations

import filecmp
import hashlib
import os
import subprocess
import sys

from tests.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from tests.e2e.s3_helpers import new_bucket, s3_client


def _aws(server, *args: str, tmp_path) -> str:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _write_random(path, size: int) -> str:
    digest = hashlib.sha256()
    chunk = os.urandom(1024 * 1024)
    with open(path, "wb") as f:
        for i in range(size // len(chunk)):
            block = chunk[:8] + i.to_bytes(8, "big") + chunk[16:]
            f.write(block)
            digest.update(block)
    return digest.hexdigest()


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def test_cli_cp_200mib_multipart(server, tmp_path):
    s3 = s3_client(server)
    bucket = new_bucket(s3, "cli")
    source = tmp_path / "big.bin"
    expected = _write_random(source, 200 * 1024 * 1024)
    _aws(server, "s3", "cp", str(source), f"s3://{bucket}/big.bin", tmp_path=tmp_path)
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == 200 * 1024 * 1024
    assert head["ETag"].endswith('-25"')  # 8 MiB parts
    assert head["ServerSideEncryption"] == "AES256"
    back = tmp_path / "back.bin"
    _aws(server, "s3", "cp", f"s3://{bucket}/big.bin", str(back), tmp_path=tmp_path)
    assert _sha256(back) == expected


def test_cli_sync(server, tmp_path):
    s3 = s3_client(server)
    bucket = new_bucket(s3, "sync")
    local = tmp_path / "site"
    (local / "css").mkdir(parents=True)
    (local / "index.html").write_text("<h1>hello</h1>")
    (local / "css" / "a.css").write_text("body{}")
    (local / "data.bin").write_bytes(os.urandom(300_000))
    out = _aws(server, "s3", "sync", str(local), f"s3://{bucket}/site", tmp_path=tmp_path)
    assert out.count("upload:") == 3
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(o["Key"] for o in listed) == [
        "site/css/a.css",
        "site/data.bin",
        "site/index.html",
    ]
    again = _aws(server, "s3", "sync", str(local), f"s3://{bucket}/site", tmp_path=tmp_path)
    assert "upload:" not in again
    (local / "index.html").write_text("<h1>changed</h1>")
    assert (
        _aws(server, "s3", "sync", str(local), f"s3://{bucket}/site", tmp_path=tmp_path).count(
            "upload:"
        )
        == 1
    )
    copy = tmp_path / "copy"
    _aws(server, "s3", "sync", f"s3://{bucket}/site", str(copy), tmp_path=tmp_path)
    comparison = filecmp.dircmp(local, copy)
    assert not comparison.diff_files and not comparison.left_only and not comparison.right_only
    assert filecmp.cmp(local / "css" / "a.css", copy / "css" / "a.css", shallow=False)
    listing = _aws(server, "s3", "ls", f"s3://{bucket}/site/", tmp_path=tmp_path)
    assert "PRE css/" in listing and "index.html" in listing
    _aws(server, "s3", "rm", "--recursive", f"s3://{bucket}/site", tmp_path=tmp_path)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
