"""A started ``journal`` on the ``store`` fixture (tests/store_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mamori.journal import Journal


@pytest.fixture
def journal(store) -> Iterator[Journal]:
    j = Journal(store, flush_interval=0.02)
    j.start()
    yield j
    j.close()
