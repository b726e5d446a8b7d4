"""The journal: CloudTrail-format records of every call, consumers with durable cursors.
See :mod:`mamori.journal.journal`, :mod:`mamori.journal.process` (the writer process) and
:mod:`mamori.journal.cursors`."""

from mamori.journal.cursors import Consumer, Cursors
from mamori.journal.journal import Journal, JournalBase, JournalEntry, new_event_id, prepare
from mamori.journal.process import ProcessJournal

__all__ = [
    "Consumer",
    "Cursors",
    "Journal",
    "JournalBase",
    "JournalEntry",
    "ProcessJournal",
    "new_event_id",
    "prepare",
]
