"""The journal: CloudTrail-format records of every call, consumers with durable cursors.
See :mod:`mamori.journal.journal` and :mod:`mamori.journal.cursors`."""

from mamori.journal.cursors import Consumer, Cursors
from mamori.journal.journal import Journal, JournalEntry, new_event_id, prepare

__all__ = ["Consumer", "Cursors", "Journal", "JournalEntry", "new_event_id", "prepare"]
