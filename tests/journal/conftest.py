"""A started ``journal`` on the ``store`` fixture (tests/store_fixtures.py), and
:func:`make_journal` for tests that run with either writer: the writer thread (``Journal``) or
the writer process (``ProcessJournal``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mamori.journal import Journal, JournalBase, ProcessJournal

WRITERS = ("thread", "process")


def make_journal(writer: str, store, **options) -> JournalBase:
    if writer == "process":
        return ProcessJournal(store, **options)
    return Journal(store, **options)


@pytest.fixture
def journal(store) -> Iterator[Journal]:
    j = Journal(store, flush_interval=0.02)
    j.start()
    yield j
    j.close()
