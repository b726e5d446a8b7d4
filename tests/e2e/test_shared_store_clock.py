"""Two nodes sharing one PostgreSQL store keep one domain clock: a time-travel move made on one
node is taken up by the other within a couple of seconds, without a restart, and a move on the
other starts from it."""

from __future__ import annotations

import base64
import json
import secrets
import signal
import time
import urllib.request
from datetime import datetime, timedelta

import pytest

from mamori.store.testing import postgres_or_skip, temp_postgres_database
from tests.conftest import LiveServer


def _clock(server: LiveServer, advance: float | None = None) -> datetime:
    request = urllib.request.Request(server.endpoint + "/_mamori/clock")
    if advance is not None:
        request = urllib.request.Request(
            server.endpoint + "/_mamori/clock",
            data=json.dumps({"advance_seconds": advance}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
    with urllib.request.urlopen(request, timeout=10) as response:
        now = json.loads(response.read())["now"]
    return datetime.fromisoformat(now.replace("Z", "+00:00"))


@pytest.fixture
def two_nodes(tmp_path):
    postgres_or_skip()
    with temp_postgres_database() as url:
        env = {
            "MAMORI_DATABASE_URL": url,
            "MAMORI_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        nodes = []
        for i in (1, 2):
            (tmp_path / f"node{i}").mkdir()
            nodes.append(LiveServer(tmp_path / f"node{i}" / "data", env=env))
        try:
            for node in nodes:
                node.start("--allow-time-travel")
            yield nodes
        finally:
            for node in nodes:
                node.stop(signal.SIGKILL)


def test_a_clock_move_on_one_node_reaches_the_other(two_nodes):
    first, second = two_nodes
    before = _clock(second)
    _clock(first, advance=86400)
    deadline = time.monotonic() + 10
    while _clock(second) - before < timedelta(days=1):
        assert time.monotonic() < deadline, "the second node never took up the move"
        time.sleep(0.2)
    # a move on the second node starts from the first node's
    moved = _clock(second, advance=3600)
    assert moved - before >= timedelta(days=1, hours=1)
    deadline = time.monotonic() + 10
    while _clock(first) < moved:
        assert time.monotonic() < deadline, "the first node never took up the move"
        time.sleep(0.2)
