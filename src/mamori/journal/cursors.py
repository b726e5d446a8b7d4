"""Durable consumer cursors, and a small runner that feeds journal entries to a handler.

Delivery is at least once: a :class:`Consumer` commits its cursor only after its handler
returned, so a crash between the two replays the last batch; handlers must be idempotent.
A handler whose effect lives in the store can get exactly-once effect instead: with
``transactional=True`` it is called as ``handler(entries, conn)`` inside a transaction in which
the cursor is committed too, so the effect and the checkpoint commit (or roll back) together.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mamori.store.engine import Store, upsert
from mamori.store.schema import journal_cursors_table

if TYPE_CHECKING:
    from mamori.journal.journal import JournalBase, JournalEntry

log = logging.getLogger(__name__)

_c = journal_cursors_table.c


class Cursors:
    """Named, durable positions in the journal (0 = before the first record)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, name: str, conn: Connection | None = None) -> int:
        query = sa.select(_c.seq).where(_c.name == name)
        if conn is not None:
            return conn.execute(query).scalar() or 0
        with self.store.connect() as own:
            return own.execute(query).scalar() or 0

    def commit(self, conn: Connection | None, name: str, seq: int) -> None:
        """Checkpoint ``name`` at ``seq``: in ``conn``'s transaction when given (commits with the
        consumer's own writes), else in a transaction of its own (durable on return)."""
        values = {"name": name, "seq": int(seq), "updated_at": datetime.now(UTC)}
        if conn is not None:
            upsert(conn, journal_cursors_table, values, ["name"])
            return
        with self.store.begin() as own:
            upsert(own, journal_cursors_table, values, ["name"])

    def all(self) -> dict[str, int]:
        with self.store.connect() as conn:
            return dict(conn.execute(sa.select(_c.name, _c.seq)).all())

    def delete(self, name: str) -> None:
        with self.store.begin() as conn:
            conn.execute(journal_cursors_table.delete().where(_c.name == name))


Handler = Callable[..., None]


class Consumer:
    """Reads the journal from the cursor ``name`` and hands batches to ``handler``.

    * ``handler(entries)`` — then the cursor is committed in its own transaction (at least once).
    * ``transactional=True``: ``handler(entries, conn)`` inside a store transaction that also
      commits the cursor (exactly-once effect for writes the handler makes through ``conn``).

    :meth:`run_once` processes at most one batch and returns how many entries it handled (for
    tests and schedulers); :meth:`start` runs a thread that loops until :meth:`stop`. A handler
    exception is logged, the batch is retried after a backoff (from the durable cursor).
    """

    def __init__(
        self,
        journal: JournalBase,
        name: str,
        handler: Handler,
        *,
        cursors: Cursors | None = None,
        batch_size: int = 500,
        transactional: bool = False,
        idle_wait: float = 1.0,
        max_backoff: float = 5.0,
    ) -> None:
        self.journal = journal
        self.name = name
        self.handler = handler
        self.cursors = cursors or Cursors(journal.store)
        self.batch_size = batch_size
        self.transactional = transactional
        self.idle_wait = idle_wait
        self.max_backoff = max_backoff
        self.position: int | None = None  # last committed seq, loaded lazily
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, up_to: int | None = None) -> int:
        """One batch (of entries up to seq ``up_to`` when given)."""
        if self.position is None:
            self.position = self.cursors.get(self.name)
        entries: list[JournalEntry] = self.journal.read(self.position, self.batch_size)
        if up_to is not None:
            entries = [entry for entry in entries if entry.seq <= up_to]
        if not entries:
            return 0
        last = entries[-1].seq
        if self.transactional:
            with self.journal.store.begin() as conn:
                self.handler(entries, conn)
                self.cursors.commit(conn, self.name, last)
        else:
            self.handler(entries)
            self.cursors.commit(None, self.name, last)
        self.position = last
        return len(entries)

    def run_until_idle(self, max_batches: int = 1_000_000, up_to: int | None = None) -> int:
        """Process batches until nothing is left to read now (up to seq ``up_to``: a handler
        whose work is journaled too leaves those records for its next run); returns entries
        handled."""
        total = 0
        for _ in range(max_batches):
            n = self.run_once(up_to)
            if n == 0:
                break
            total += n
        return total

    def _loop(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                n = self.run_once()
                backoff = 0.1
            except Exception:
                self.errors += 1
                log.exception("journal consumer %r failed; retrying", self.name)
                self.position = None  # reload the durable cursor: redeliver the batch
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if n == 0 and not self._stop.is_set():
                try:
                    self.journal.wait_for(self.position or 0, self.idle_wait, self._stop)
                except Exception:
                    log.exception("journal consumer %r: waiting failed", self.name)
                    self._stop.wait(backoff)

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name=f"mamori-consumer-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.journal.wake()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
